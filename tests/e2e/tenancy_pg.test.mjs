// Two `yun serve` replicas on one real PostgreSQL server (YUN_TEST_PG_URL,
// started by scripts/test.sh with scripts/pg-test-server.sh): a tenant and
// key made on one work on the other, a budget is shared (spent across both,
// never exceeded when requests are a sync apart), usage made on one is read
// on the other, and a key revoked on one is refused by the other within a
// sync. Without YUN_TEST_PG_URL the suite is skipped, unless
// YUN_REQUIRE_PG=1 (CI), where that is a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { callJson, postJson, prerequisites, repoRoot, sleep, startServer, pgCtl, freshPgDatabase } from './helpers.mjs';

const pgUrl = process.env.YUN_TEST_PG_URL;
if (!pgUrl && process.env.YUN_REQUIRE_PG === '1') {
  throw new Error('YUN_REQUIRE_PG=1 but YUN_TEST_PG_URL is not set');
}
const skip = prerequisites() || (!pgUrl && 'YUN_TEST_PG_URL is not set');
const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
const auth = (k) => ({ authorization: `Bearer ${k}` });
const msgs = [{ role: 'user', content: 'hi' }];


const call = callJson;

const chat = (srv, key, body = {}) => postJson(`${srv.baseURL}/chat/completions`,
  { messages: msgs, max_tokens: 4, temperature: 0, ...body }, auth(key));

describe('tenancy on PostgreSQL: two replicas', { skip, concurrency: false }, () => {
  let a;
  let b;
  before(async () => {
    const db = freshPgDatabase();
    // Both start at once: the schema migration is serialised by an advisory lock.
    const started = await Promise.allSettled([
      startServer(['--db', db, '--admin-key', adminKey]),
      startServer(['--db', db, '--admin-key', adminKey]),
    ]);
    [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      // Stop the one that came up, or this file never exits.
      await a?.stop();
      await b?.stop();
      throw failed.reason;
    }
  });
  after(async () => { await a?.stop(); await b?.stop(); });

  test('a tenant, a key and a budget shared by both replicas', async () => {
    const t = await call(`${a.url}/admin/v1/tenants`, 'POST',
      { name: 'shared', limits: { token_budget: 150, budget_period: 'total' } }, adminKey);
    assert.equal(t.status, 201, t.text);
    const k = await call(`${a.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST', {}, adminKey);
    assert.equal(k.status, 201, k.text);
    const key = k.json.key;
    // Replica b learns of the key within one sync (500 ms).
    let r;
    for (let i = 0; i < 30; ++i) {
      r = await chat(b, key);
      if (r.status !== 401) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, r.text);
    let spent = r.json.usage.total_tokens;
    let refused = null;
    for (let i = 0; i < 40 && !refused; ++i) {
      await sleep(800);  // a commit + a sync apart: each replica sees the other's spend
      const srv = i % 2 ? b : a;
      const x = await chat(srv, key);
      if (x.status === 200) spent += x.json.usage.total_tokens;
      else refused = x;
    }
    assert.ok(refused, 'the budget ran out');
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'insufficient_quota');
    assert.ok(spent <= 150, `spent ${spent} of a shared 150-token budget`);
    // Usage made on both, read on either.
    await sleep(800);
    for (const srv of [a, b]) {
      const u = await (await fetch(`${srv.url}/admin/v1/usage?tenant=${t.json.id}`, { headers: auth(adminKey) })).json();
      const total = u.data.reduce((s, row) => s + row.prompt_tokens + row.completion_tokens, 0);
      assert.equal(total, spent);
    }
  });

  test('a key revoked on one replica is refused by the other within a sync', async () => {
    const t = await call(`${a.url}/admin/v1/tenants`, 'POST', { name: 'revoked' }, adminKey);
    const k = await call(`${a.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST', {}, adminKey);
    await sleep(700);
    assert.equal((await chat(b, k.json.key)).status, 200);
    assert.equal((await call(`${a.url}/admin/v1/keys/${k.json.id}`, 'DELETE', undefined, adminKey)).status, 200);
    assert.equal((await chat(a, k.json.key)).status, 401);
    await sleep(1000);
    assert.equal((await chat(b, k.json.key)).status, 401);
  });
});


describe('tenancy on PostgreSQL: the database goes away and comes back', { skip, concurrency: false }, () => {
  test('503 while it is gone (health says why), recovery after, nothing lost', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-pg-gone-'));
    const start = spawnSync(path.join(repoRoot, 'scripts', 'pg-test-server.sh'), ['start', dir], { encoding: 'utf8' });
    assert.equal(start.status, 0, start.stderr);
    const url = start.stdout.trim().split('\n').pop();
    const srv = await startServer(['--db', url, '--admin-key', adminKey]);
    try {
      const t = await call(`${srv.url}/admin/v1/tenants`, 'POST', { name: 'flaky' }, adminKey);
      const k = await call(`${srv.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST', {}, adminKey);
      assert.equal((await chat(srv, k.json.key)).status, 200);
      pgCtl(dir, 'stop');
      let health;
      for (let i = 0; i < 100; ++i) {
        health = await fetch(`${srv.url}/health`);
        if (health.status === 503) break;
        await sleep(100);
      }
      assert.equal(health.status, 503);
      assert.match((await health.json()).error.message, /database/);
      const refused = await chat(srv, k.json.key);
      assert.equal(refused.status, 503, refused.text);
      pgCtl(dir, 'start');
      for (let i = 0; i < 100; ++i) {
        health = await fetch(`${srv.url}/health`);
        if (health.status === 200) break;
        await sleep(100);
      }
      assert.equal(health.status, 200);
      assert.equal((await chat(srv, k.json.key)).status, 200);
      let n = 0;
      for (let i = 0; i < 50 && n < 2; ++i) {
        await sleep(100);
        const u = await (await fetch(`${srv.url}/admin/v1/usage?tenant=${t.json.id}`, { headers: auth(adminKey) })).json();
        n = u.data.reduce((s2, row) => s2 + row.requests, 0);
      }
      assert.equal(n, 2, 'both answered requests are billed once');
    } finally {
      await srv.stop();
      spawnSync(path.join(repoRoot, 'scripts', 'pg-test-server.sh'), ['stop', dir]);
    }
  });
});
