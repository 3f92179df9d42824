#!/usr/bin/env bash
# Installs what yun needs to build (and, with --test, to test) on Debian 12.
# Every dependency is a Debian package; test tools come from npm (package.json).
set -euo pipefail
need_test=0
[ "${1:-}" = "--test" ] && need_test=1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
pkgs="build-essential cmake pkg-config nlohmann-json3-dev libpcre2-dev libutf8proc-dev libboost-dev"
pkgs="$pkgs libsqlite3-dev libpq-dev libssl-dev"  # tenancy: SQLite, PostgreSQL client, SHA-256
pkgs="$pkgs libcurl4-openssl-dev"  # hub: yun pull over HTTPS
pkgs="$pkgs libzmq3-dev"  # serve: KV-cache events on a ZMQ PUB socket (--kv-events-endpoint)
if [ $need_test = 1 ]; then
  pkgs="$pkgs googletest libgtest-dev libgmock-dev python3 python3-jinja2 chromium"
  pkgs="$pkgs postgresql"  # a real PostgreSQL server the tenancy tests start themselves
  pkgs="$pkgs python3-zmq python3-msgpack"  # tests/e2e/kv_events_subscriber.py
  pkgs="$pkgs haproxy prometheus"  # tests/e2e/replicas.test.mjs: a load balancer and a scraper in front of 3 replicas
  pkgs="$pkgs buildah"  # tests/e2e/deploy.test.mjs: the image built offline (deploy/build-image-offline.sh)
  pkgs="$pkgs clang-14 libclang-rt-14-dev ccache"  # scripts/fuzz.sh (libFuzzer runtime in -rt-)
  # node and npm may come from elsewhere (e.g. nodesource, which bundles npm):
  # only ask Debian for them when the commands are missing.
  command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
  command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ $need_test = 1 ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
