// /health/ready, the readiness probe: 200 only once the model has answered a
// warm-up generation (the server logs the time from process start), while
// /health (liveness) answers as soon as the HTTP server is up; 503 from the
// moment SIGTERM starts the drain, on connections already open, while the
// in-flight request still finishes; 503 while tenancy is unavailable (its
// PostgreSQL stopped), 200 again when it is back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';

import { prerequisites, repoRoot, sleep, startServer, pgCtl } from './helpers.mjs';

const skip = prerequisites();
// The tenancy case starts its own PostgreSQL (scripts/pg-test-server.sh),
// where the other PostgreSQL tests run (YUN_TEST_PG_URL set, or required).
const pgSkip = !process.env.YUN_TEST_PG_URL && process.env.YUN_REQUIRE_PG !== '1' &&
  'YUN_TEST_PG_URL is not set';


// GET over a given agent (keep-alive: the same connection each time).
function get(agent, port, p) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, socket: req.socket }));
    });
    req.on('error', reject);
  });
}

async function waitReady(url, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/health/ready`).catch(() => null);
    if (r?.status === 200) return;
    await sleep(20);
  }
  throw new Error('never ready');
}

describe('/health/ready', { skip, concurrency: false }, () => {
  test('ready after the warm-up (logged with the time since process start); 503 while draining', async () => {
    const srv = await startServer();
    try {
      await waitReady(srv.url);
      const m = srv.stderr().match(/ready \(\/health\/ready 200\) ([\d.]+) s after process start/);
      assert.ok(m, srv.stderr());
      assert.ok(Number(m[1]) > 0 && Number(m[1]) < 60, m[0]);
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);

      // A keep-alive connection, opened while ready.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const first = await get(agent, srv.port, '/health/ready');
      assert.equal(first.status, 200);
      // A long stream in flight when SIGTERM comes.
      const ctrl = new AbortController();
      const stream = await fetch(`${srv.baseURL}/completions`, {
        method: 'POST',
        signal: ctrl.signal,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'once upon a time', max_tokens: 1500, ignore_eos: true, stream: true }),
      });
      assert.equal(stream.status, 200);
      const reader = stream.body.getReader();
      await reader.read();  // generating
      srv.proc.kill('SIGTERM');
      // From the drain on, the probe says 503 on the connection already open.
      let during = null;
      for (let i = 0; i < 50; ++i) {
        during = await get(agent, srv.port, '/health/ready');
        if (during.status === 503) break;
        await sleep(10);
      }
      assert.equal(during.status, 503, during.body);
      assert.match(JSON.parse(during.body).error.message, /not ready/);
      assert.equal(during.socket, first.socket, 'the same keep-alive connection');
      // ... while the in-flight stream runs to its end.
      let text = '';
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value);
      }
      assert.match(text, /data: \[DONE\]/);
      assert.match(text, /"finish_reason":"length"/);
      agent.destroy();
      assert.equal(await srv.exited, 0);
      assert.match(srv.stderr(), /SIGTERM received, draining/);
    } finally {
      await srv.stop('SIGKILL');
    }
  });

  test('503 while tenancy is unavailable (its PostgreSQL stopped), 200 when it is back', { skip: pgSkip }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-ready-pg-'));
    const start = spawnSync(path.join(repoRoot, 'scripts', 'pg-test-server.sh'), ['start', dir], { encoding: 'utf8' });
    assert.equal(start.status, 0, start.stderr);
    const url = start.stdout.trim().split('\n').pop();
    const srv = await startServer(['--db', url, '--admin-key', 'adm-ready-test-0123456789abcdef']);
    const poll = async (want) => {
      let r;
      for (let i = 0; i < 100; ++i) {
        r = await fetch(`${srv.url}/health/ready`);
        if (r.status === want) break;
        await sleep(100);
      }
      return r;
    };
    try {
      await waitReady(srv.url);
      pgCtl(dir, 'stop');
      const down = await poll(503);
      assert.equal(down.status, 503);
      assert.match((await down.json()).error.message, /database/);
      pgCtl(dir, 'start');
      assert.equal((await poll(200)).status, 200);
    } finally {
      await srv.stop();
      spawnSync(path.join(repoRoot, 'scripts', 'pg-test-server.sh'), ['stop', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
