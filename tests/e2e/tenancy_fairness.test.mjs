// Fair share between tenants through HTTP: tenant A floods the server
// (64 long streams on a batch of 8), tenant B sends one request. B's time
// to first token stays near its time on an idle server (the engine admits
// it within kResumeGraceSteps + 1 steps, src/yun/engine/scheduler.h), while
// the same request sent with A's key waits behind A's queue. Also: tenants
// are salted apart in the prefix cache unless they opt in to sharing it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { callJson, prerequisites, sleep, startServer } from './helpers.mjs';

const skip = prerequisites();
const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
const auth = (k) => ({ authorization: `Bearer ${k}` });
const msgs = [{ role: 'user', content: 'hi' }];

const call = callJson;

async function tenantKey(srv, spec) {
  const t = await call(`${srv.url}/admin/v1/tenants`, 'POST', spec, adminKey);
  assert.equal(t.status, 201);
  const k = await call(`${srv.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST', {}, adminKey);
  return k.json.key;
}

// Milliseconds to the first content token of a streamed request, then drains it.
async function ttft(srv, key, body) {
  const t0 = performance.now();
  const r = await fetch(`${srv.baseURL}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth(key) },
    body: JSON.stringify({ messages: msgs, stream: true, temperature: 0, ...body }),
  });
  assert.equal(r.status, 200);
  let first = null;
  let buf = '';
  for await (const chunk of r.body) {
    buf += Buffer.from(chunk).toString();
    if (first === null && /"(content|reasoning_content)":"[^"]/.test(buf)) first = performance.now() - t0;
  }
  return first ?? performance.now() - t0;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('tenancy: fair share between tenants', { skip, concurrency: false }, () => {
  let srv;
  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-fair-'));
    srv = await startServer(['--state-dir', dir, '--admin-key', adminKey, '--max-num-seqs', '8']);
  });
  after(async () => { await srv?.stop(); });

  test('a flooding tenant does not delay another tenant\'s request', async () => {
    const a = await tenantKey(srv, { name: 'flood' });
    const b = await tenantKey(srv, { name: 'single' });
    const idle = [];
    for (let i = 0; i < 5; ++i) idle.push(await ttft(srv, b, { max_tokens: 4 }));
    const flood = async (probeKey) => {
      const streams = Array.from({ length: 64 }, () =>
        ttft(srv, a, { max_tokens: 64, ignore_eos: true }).catch(() => 0));
      await sleep(300);  // A's 64 requests are queued and 8 run
      const t = await ttft(srv, probeKey, { max_tokens: 4 });
      await Promise.all(streams);
      return t;
    };
    const other = await flood(b);
    const same = await flood(a);
    const base = median(idle);
    console.log(`TTFT idle ${base.toFixed(1)} ms; during A's flood: tenant B ${other.toFixed(1)} ms, ` +
      `the same request in tenant A ${same.toFixed(1)} ms`);
    assert.ok(same > 4 * other, `B's request (${other} ms) should not wait as A's own does (${same} ms)`);
    assert.ok(other < base + 250, `B's TTFT ${other} ms vs ${base} ms idle`);
  });

  test('tenants do not share prefix-cache entries unless they opt in', async () => {
    const long = [{ role: 'system', content: 'You are a helpful assistant. '.repeat(40) }, ...msgs];
    const send = (key) => call(`${srv.baseURL}/chat/completions`, 'POST',
      { messages: long, max_tokens: 1, temperature: 0 }, key);
    const x = await tenantKey(srv, { name: 'salted-x' });
    const y = await tenantKey(srv, { name: 'salted-y' });
    const r1 = await send(x);
    assert.equal(r1.status, 200);
    const r2 = await send(y);  // another tenant: no hit on x's blocks
    assert.equal(r2.json.usage.prompt_tokens_details?.cached_tokens ?? 0, 0);
    const r3 = await send(x);  // the same tenant: hits
    assert.ok(r3.json.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(r3.json.usage));
    const p = await tenantKey(srv, { name: 'shared-p', share_prefix_cache: true });
    const q = await tenantKey(srv, { name: 'shared-q', share_prefix_cache: true });
    assert.equal((await send(p)).status, 200);
    const rq = await send(q);  // both opted in: shared
    assert.ok(rq.json.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(rq.json.usage));
  });
});
