// Three `yun serve` replicas on one machine, for real: loopback ports behind
// Debian's HAProxy (least connections, health checks on /health/ready), one
// shared PostgreSQL for tenancy (YUN_TEST_PG_URL, from scripts/test.sh) and a
// real Prometheus scraping the three /metrics. The test writes haproxy.cfg
// and prometheus.yml and runs both itself. In order:
//   1. load from two tenants through HAProxy: a budget holds across the
//      replicas, and the usage in the database equals what the clients saw;
//   2. kill -9 of one replica under streaming load: its in-flight streams end
//      with an error the client sees (never a hang), HAProxy marks it down
//      within its check interval, the others serve everything after; the
//      failover gap (time with failed requests) is printed;
//   3. a rolling restart (SIGTERM one at a time, each ready again before the
//      next): zero failed requests;
//   4. Prometheus sees the three targets up and the vllm:-named series.
// Without YUN_TEST_PG_URL it is skipped, unless YUN_REQUIRE_PG=1 (CI), where
// that is a failure; so is a missing haproxy or prometheus (scripts/install-deps.sh --test).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { freePort, makeModelDir, prerequisites, sleep, yunBin, freshPgDatabase } from './helpers.mjs';

const pgUrl = process.env.YUN_TEST_PG_URL;
if (!pgUrl && process.env.YUN_REQUIRE_PG === '1') {
  throw new Error('YUN_REQUIRE_PG=1 but YUN_TEST_PG_URL is not set');
}
const haproxyBin = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => fs.existsSync(p));
const prometheusBin = ['/usr/bin/prometheus'].find((p) => fs.existsSync(p));
if ((!haproxyBin || !prometheusBin) && process.env.YUN_REQUIRE_PG === '1') {
  // CI (scripts/test.sh) installs both with scripts/install-deps.sh --test.
  throw new Error('YUN_REQUIRE_PG=1 but haproxy or prometheus is not installed');
}
const skip = prerequisites() || (!pgUrl && 'YUN_TEST_PG_URL is not set') ||
  (!haproxyBin && 'haproxy is not installed') || (!prometheusBin && 'prometheus is not installed');

const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
const auth = (k) => ({ authorization: `Bearer ${k}` });
const CHECK_INTER_MS = 200;  // HAProxy's health-check interval (fall 1, rise 1)


// A child process with its output kept (for failure messages).
function run(bin, args) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  return { proc, exited, log: () => log };
}

async function waitFor(what, fn, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { if (await fn()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

// One replica on a fixed port (restarts reuse it), ready when /health/ready is 200.
async function startReplica(r) {
  const p = run(yunBin, ['serve', r.modelDir, '--port', String(r.port), '--threads', '1',
    '--served-model-name', 'yun-test', '--db', r.db, '--admin-key', adminKey]);
  r.p = p;
  await waitFor(`replica ${r.name} ready`, async () => {
    if (p.proc.exitCode !== null) throw new Error(`replica ${r.name} exited:\n${p.log()}`);
    return (await fetch(`http://127.0.0.1:${r.port}/health/ready`)).status === 200;
  }, 60000).catch((e) => { throw new Error(`${e.message}\n${p.log()}`); });
}

function haproxyConfig(port, statsPort, replicas) {
  return `global
  maxconn 512
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A refused connection, or one closed before any response byte (a replica
  # that stopped accepting, or died before answering), is retried on another.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response
frontend api
  bind 127.0.0.1:${port}
  default_backend yun
frontend stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
backend yun
  balance leastconn
  option http-server-close
  option httpchk GET /health/ready
  http-check expect status 200
  default-server inter ${CHECK_INTER_MS}ms fall 1 rise 1
  http-response set-header X-Served-By %s
${replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check`).join('\n')}
`;
}

// HAProxy's view of each server: { r0: 'UP', r1: 'DOWN', ... }.
async function backendStatus(statsPort) {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
  const out = {};
  for (const line of csv.split('\n')) {
    const f = line.split(',');
    if (f[0] === 'yun' && f[1] !== 'BACKEND' && f[1] !== 'FRONTEND') out[f[1]] = f[17];
  }
  return out;
}

// One chat request through the balancer; never hangs (a 15 s abort).
// Returns { ok, status, usage, server, t0, t1, error }.
async function chat(url, key, { stream = false, maxTokens = 8 } = {}) {
  const t0 = Date.now();
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error('hang: no end after 15 s')), 15000);
  const res = { ok: false, status: 0, usage: null, server: '', t0, t1: 0, error: '' };
  try {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      signal: ctrl.signal,
      headers: { 'content-type': 'application/json', ...auth(key) },
      body: JSON.stringify({
        messages: [{ role: 'user', content: `hello ${crypto.randomBytes(3).toString('hex')}` }],
        max_tokens: maxTokens, ignore_eos: true, temperature: 0, stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
      }),
    });
    res.status = r.status;
    res.server = r.headers.get('x-served-by') || '';
    const text = await r.text();  // a cut stream rejects here
    if (r.status === 200 && !stream) {
      res.usage = JSON.parse(text).usage;
    } else if (r.status === 200) {
      if (!text.includes('data: [DONE]')) throw new Error('stream ended without [DONE]');
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const j = JSON.parse(line.slice(6));
        if (j.usage) res.usage = j.usage;
      }
    } else {
      res.error = text.slice(0, 200);
    }
    res.ok = r.status === 200 && res.usage !== null;
  } catch (e) {
    res.error = String(e?.cause?.message || e?.message || e);
  } finally {
    clearTimeout(timer);
    res.t1 = Date.now();
  }
  return res;
}

// `workers` loops of chat() until stop() is true; returns every result.
async function load(url, key, workers, stop, opts) {
  const results = [];
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!stop()) results.push(await chat(url, key, opts));
  }));
  return results;
}

const tokens = (rs) => rs.filter((r) => r.ok).reduce((s, r) => s + r.usage.total_tokens, 0);

async function adminJson(url, method, pathname, body) {
  const r = await fetch(`${url}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...auth(adminKey) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${pathname}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function billed(url, tenantId) {
  const u = await adminJson(url, 'GET', `/admin/v1/usage?tenant=${tenantId}`);
  return u.data.reduce((s, row) => s + row.prompt_tokens + row.completion_tokens, 0);
}

describe('three replicas behind HAProxy, one PostgreSQL, one Prometheus', { skip, concurrency: false }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-replicas-'));
  const replicas = [];
  let haproxy;
  let prometheus;
  let lb;  // http://127.0.0.1:<haproxy port>
  let statsPort;
  let promPort;
  let tenantA;  // a 300-token budget
  let tenantB;  // unlimited
  let keyA;
  let keyB;
  const seenB = [];  // every successful tenant-B result, for the final usage check

  before(async () => {
    const db = freshPgDatabase();
    const modelDir = makeModelDir();
    for (let i = 0; i < 3; ++i) {
      replicas.push({ name: `r${i}`, port: await freePort(), db, modelDir, p: null });
    }
    // The first creates the schema; the others start together after it.
    await startReplica(replicas[0]);
    await Promise.all(replicas.slice(1).map(startReplica));

    const port = await freePort();
    statsPort = await freePort();
    const cfg = path.join(tmp, 'haproxy.cfg');
    fs.writeFileSync(cfg, haproxyConfig(port, statsPort, replicas));
    haproxy = run(haproxyBin, ['-db', '-f', cfg]);
    lb = `http://127.0.0.1:${port}`;
    await waitFor('haproxy: three servers up', async () => {
      const s = await backendStatus(statsPort);
      return replicas.every((r) => s[r.name] === 'UP');
    }, 10000).catch((e) => { throw new Error(`${e.message}\n${haproxy.log()}`); });

    promPort = await freePort();
    const promCfg = path.join(tmp, 'prometheus.yml');
    fs.writeFileSync(promCfg, `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: yun
    static_configs:
      - targets: [${replicas.map((r) => `'127.0.0.1:${r.port}'`).join(', ')}]
`);
    prometheus = run(prometheusBin, [`--config.file=${promCfg}`,
      `--storage.tsdb.path=${path.join(tmp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`]);

    const a = await adminJson(lb, 'POST', '/admin/v1/tenants',
      { name: 'budgeted', limits: { token_budget: 300, budget_period: 'total' } });
    const b = await adminJson(lb, 'POST', '/admin/v1/tenants', { name: 'steady' });
    tenantA = a.id;
    tenantB = b.id;
    keyA = (await adminJson(lb, 'POST', `/admin/v1/tenants/${a.id}/keys`, {})).key;
    keyB = (await adminJson(lb, 'POST', `/admin/v1/tenants/${b.id}/keys`, {})).key;
    // Every replica knows both keys within a sync (500 ms).
    await waitFor('keys on every replica', async () => {
      for (const r of replicas) {
        for (const k of [keyA, keyB]) {
          const x = await fetch(`http://127.0.0.1:${r.port}/v1/models`, { headers: auth(k) });
          if (x.status !== 200) return false;
        }
      }
      return true;
    }, 5000);
  });

  after(async () => {
    for (const r of replicas) if (r.p && r.p.proc.exitCode === null) r.p.proc.kill('SIGKILL');
    haproxy?.proc.kill('SIGKILL');
    prometheus?.proc.kill('SIGKILL');
    await Promise.all([...replicas.map((r) => r.p?.exited), haproxy?.exited, prometheus?.exited]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('two tenants through HAProxy: a budget holds across replicas, usage billed = usage seen', async () => {
    let stopB = false;
    const bLoad = load(lb, keyB, 3, () => stopB, { maxTokens: 8 });
    // Tenant A one request at a time, a commit + a sync apart (tenancy.h: each
    // replica sees the others' spend as of its last sync).
    const seenA = [];
    let refused = null;
    for (let i = 0; i < 60 && !refused; ++i) {
      const x = await chat(lb, keyA, { maxTokens: 16 });
      if (x.ok) seenA.push(x);
      else refused = x;
      await sleep(650);
    }
    stopB = true;
    const bResults = await bLoad;
    seenB.push(...bResults.filter((r) => r.ok));
    assert.ok(refused, 'tenant A ran out of its budget');
    assert.equal(refused.status, 429, refused.error);
    assert.match(refused.error, /insufficient_quota/);
    const spentA = tokens(seenA);
    assert.ok(spentA <= 300, `tenant A spent ${spentA} of a 300-token budget`);
    const servers = new Set([...seenA, ...bResults].map((r) => r.server));
    assert.equal(servers.size, 3, `requests reached every replica (${[...servers]})`);
    const serversA = new Set(seenA.map((r) => r.server));
    assert.ok(serversA.size >= 2, `tenant A's budget was spent on several replicas (${[...serversA]})`);
    assert.deepEqual(bResults.filter((r) => !r.ok), [], 'tenant B: no failed request');
    await waitFor('tenant A billed', async () => (await billed(lb, tenantA)) === spentA, 3000)
      .catch(() => {});
    assert.equal(await billed(lb, tenantA), spentA);
    await waitFor('tenant B billed', async () => (await billed(lb, tenantB)) === tokens(seenB), 3000)
      .catch(() => {});
    assert.equal(await billed(lb, tenantB), tokens(seenB));
  });

  test('kill -9 of one replica under load: errors not hangs, failover, nothing completed lost', async () => {
    const victim = replicas[1];
    const billedBefore = await billed(lb, tenantB);
    let stop = false;
    const run1 = load(lb, keyB, 6, () => stop, { stream: true, maxTokens: 48 });
    let tKill = 0;
    let tDown = 0;
    try {
      await sleep(1500);
      tKill = Date.now();
      victim.p.proc.kill('SIGKILL');
      await victim.p.exited;
      // HAProxy marks it down within its check interval (+ the check's own time).
      await waitFor('haproxy marks the victim down', async () =>
        (await backendStatus(statsPort))[victim.name] !== 'UP', 2000, 10);
      tDown = Date.now();
      await sleep(2000);
    } finally {
      stop = true;
    }
    const results = await run1;

    const failed = results.filter((r) => !r.ok);
    const hangs = failed.filter((r) => /hang/.test(r.error));
    assert.deepEqual(hangs, [], 'no request hung');
    // Only requests in flight on the victim at the kill failed, and each with an error.
    for (const f of failed) {
      assert.ok(f.t0 <= tKill + 5, `a request started after the kill failed: ${JSON.stringify(f)}`);
      assert.ok(f.error, 'a failed request carries an error');
    }
    const after = results.filter((r) => r.t0 > tDown);
    assert.ok(after.length > 10, `load went on after the failover (${after.length} requests)`);
    assert.ok(after.every((r) => r.ok && r.server !== victim.name), 'the others served everything after');
    const gap = failed.length ? Math.max(...failed.map((r) => r.t1)) - tKill : 0;
    console.log(`# kill -9: ${failed.length} in-flight streams failed of ${results.length}; ` +
      `HAProxy marked it down ${tDown - tKill} ms after the kill (check every ${CHECK_INTER_MS} ms); ` +
      `failover gap (kill to last failed request) ${gap} ms`);
    assert.ok(tDown - tKill <= CHECK_INTER_MS * 2 + 500,
      `down within its check interval (${tDown - tKill} ms; a refused check fails at once)`);

    // Usage: a response's last bytes wait for its record's commit, so every
    // request a client saw complete is billed, on the victim too. Requests
    // cut off by the kill may be billed without their answer (committed, then
    // killed before the last bytes went out), each at most once.
    const seen = tokens(results);
    const cut = results.filter((r) => !r.ok && r.server === victim.name);
    let got = 0;
    await waitFor('usage committed', async () => (got = await billed(lb, tenantB) - billedBefore) >= seen, 3000)
      .catch(() => {});
    console.log(`kill -9: billed ${got} tokens; the clients saw ${seen} (${cut.length} requests cut off)`);
    assert.ok(got >= seen, `lost ${seen - got} tokens of requests the clients saw complete`);
    assert.ok(got - seen <= cut.length * 200,
      `billed ${got - seen} tokens beyond what was seen, more than the ${cut.length} cut-off requests can hold`);

    await startReplica(victim);  // back for the rolling restart
    await waitFor('victim up again in haproxy', async () =>
      (await backendStatus(statsPort))[victim.name] === 'UP', 5000);
  });

  test('rolling restart (SIGTERM one at a time): zero failed requests', async () => {
    const billedBefore = await billed(lb, tenantB);
    let stop = false;
    const ld = Promise.all([
      load(lb, keyB, 2, () => stop, { stream: true, maxTokens: 24 }),
      load(lb, keyB, 2, () => stop, { maxTokens: 8 }),
    ]).then((x) => x.flat());
    try {
      for (const r of replicas) {
        await sleep(300);
        r.p.proc.kill('SIGTERM');
        const code = await r.p.exited;
        assert.equal(code, 0, `replica ${r.name} drained and exited 0:\n${r.p.log()}`);
        assert.match(r.p.log(), /ready \(\/health\/ready 200\)/);
        await startReplica(r);
        await waitFor(`${r.name} up in haproxy`, async () =>
          (await backendStatus(statsPort))[r.name] === 'UP', 5000);
      }
      await sleep(300);
    } finally {
      stop = true;  // the load ends whatever happened above
    }
    const results = await ld;
    const failed = results.filter((r) => !r.ok);
    console.log(`# rolling restart: ${results.length} requests, ${failed.length} failed`);
    assert.deepEqual(failed, [], 'no failed request during the rolling restart');
    assert.ok(results.length > 20);
    // Drained replicas committed every record before exiting (server.cc).
    const seen = tokens(results);
    let got = 0;
    await waitFor('usage committed', async () => (got = await billed(lb, tenantB) - billedBefore) === seen, 3000)
      .catch(() => {});
    assert.equal(got, seen);
  });

  test('Prometheus sees three targets up and the vllm: series', async () => {
    const q = async (expr) => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const j = await r.json();
      assert.equal(j.status, 'success');
      return j.data.result;
    };
    await waitFor('prometheus: three targets up', async () => {
      const up = await q('up{job="yun"}');
      return up.length === 3 && up.every((s) => s.value[1] === '1');
    }, 15000, 250).catch((e) => { throw new Error(`${e.message}\n${prometheus.log().slice(-2000)}`); });
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting',
                        'vllm:kv_cache_usage_perc', 'vllm:generation_tokens_total']) {
      const s = await q(name);
      assert.equal(s.length, 3, `${name}: one series per replica`);
      assert.deepEqual(new Set(s.map((x) => x.metric.instance)),
        new Set(replicas.map((r) => `127.0.0.1:${r.port}`)));
    }
    const names = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/label/__name__/values`)).json();
    const vllm = names.data.filter((n) => n.startsWith('vllm:'));
    assert.ok(vllm.length >= 5, `vllm: series scraped: ${vllm}`);
  });
});
