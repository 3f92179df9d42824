#!/usr/bin/env bash
# Builds the yun image offline, from scratch, with buildah: the locally built
# binary, the shared libraries ldd says it loads (copied from this Debian
# system), the playground, a passwd entry for user 10001, and the same
# config as deploy/Containerfile (user, port, volume, entrypoint). No base
# image and no network: for machines that cannot pull debian:12.
# Usage: deploy/build-image-offline.sh [BUILD_DIR=build] [IMAGE=localhost/yun:dev]
#   env KEEP_MOUNTED=1: leave the working container mounted and print
#   "mount: DIR" and "container: NAME" (tests run the binary inside with chroot).
#   env BUILDAH_FLAGS: extra global flags (default --storage-driver vfs).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
IMAGE=${2:-localhost/yun:dev}
B="buildah ${BUILDAH_FLAGS:---storage-driver vfs}"
[ -x "$BUILD/yun" ] || { echo "no $BUILD/yun: build it first (cmake --build $BUILD --target yun)" >&2; exit 2; }
ctr=$($B from scratch)
trap '[ "${KEEP_MOUNTED:-0}" = 1 ] || $B rm "$ctr" >/dev/null' EXIT
mnt=$($B mount "$ctr")
install -D -m 0755 "$BUILD/yun" "$mnt/opt/yun/bin/yun"
strip "$mnt/opt/yun/bin/yun" 2>/dev/null || true
mkdir -p "$mnt/opt/yun/web" && cp -r web/. "$mnt/opt/yun/web/"
# The loader and every library it resolves, at the same paths.
for lib in $(ldd "$BUILD/yun" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  cp --parents -L "$lib" "$mnt/"
done
# /lib64 and /lib are symlinks into /usr on Debian 12 (merged /usr): keep them so.
for d in lib lib64; do
  if [ -d "$mnt/$d" ] && [ ! -L "$mnt/$d" ] && [ -L "/$d" ]; then
    mkdir -p "$mnt/usr/$d" && cp -a "$mnt/$d/." "$mnt/usr/$d/" && rm -rf "${mnt:?}/$d" && ln -s "usr/$d" "$mnt/$d"
  fi
done
mkdir -p "$mnt/etc" "$mnt/tmp" "$mnt/models" "$mnt/var/lib/yun" "$mnt/usr/local/bin"
chmod 1777 "$mnt/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nyun:x:10001:10001:yun:/var/lib/yun:/usr/sbin/nologin\n' > "$mnt/etc/passwd"
printf 'root:x:0:\nyun:x:10001:\n' > "$mnt/etc/group"
chown 10001:10001 "$mnt/models" "$mnt/var/lib/yun"
ln -sf /opt/yun/bin/yun "$mnt/usr/local/bin/yun"
$B config --user 10001:10001 --workingdir /var/lib/yun --port 8000/tcp --volume /models \
  --entrypoint '["/opt/yun/bin/yun"]' --cmd 'serve /models/model --host 0.0.0.0 --port 8000' \
  --label org.opencontainers.image.title=yun "$ctr"
$B commit --quiet "$ctr" "$IMAGE" >/dev/null
echo "image: $IMAGE"
if [ "${KEEP_MOUNTED:-0}" = 1 ]; then
  echo "mount: $mnt"
  echo "container: $ctr"
fi
