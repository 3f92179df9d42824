// KV-cache events in vLLM's wire format, checked by an independent
// subscriber (kv_events_subscriber.py: Debian's python3-zmq and
// python3-msgpack, written from the format description): under random chat
// traffic with shared prefixes and a KV cache small enough to force
// evictions, the replayed events stay consistent (consecutive sequence
// numbers, parents before children, no duplicates, only stored blocks
// removed), and the subscriber's model of the cache predicts exactly the
// prefix-cache hits the engine then reports (usage cached_tokens and
// /metrics vllm:prefix_cache_hits_total); a late subscriber rebuilds the
// same cache from the replay buffer; the map encoding; a tenant's salt in
// extra_keys. Also vLLM's metric series.
// Run: node --test tests/e2e/kv_events.test.mjs (needs build/yun, python3-zmq, python3-msgpack)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { describe, test } from 'node:test';

import { freePort, metric, parseMetrics, postJson, prerequisites, repoRoot, startServer }
  from './helpers.mjs';

const model = 'qwen3-e2e';
// Debian's python3 (python3-zmq, python3-msgpack); PATH may put another first.
const python = [process.env.YUN_PYTHON, 'python3', '/usr/bin/python3'].find((p) => p &&
  spawnSync(p, ['-c', 'import zmq, msgpack']).status === 0);
const skip = prerequisites() || (python ? false : 'python3-zmq / python3-msgpack missing');

function subscriber(args) {
  const proc = spawn(python, [path.join(repoRoot, 'tests', 'e2e', 'kv_events_subscriber.py'),
    ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const lines = readline.createInterface({ input: proc.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l); else queue.push(l);
  });
  const next = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(JSON.parse(queue.shift()));
    const t = setTimeout(() => reject(new Error(`subscriber silent; stderr: ${err}`)), 20000);
    waiters.push((l) => { clearTimeout(t); resolve(JSON.parse(l)); });
  });
  return {
    proc,
    next,
    async ask(cmd) { proc.stdin.write(`${cmd}\n`); return next(); },
  };
}

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

async function hits(server) {
  const m = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
  return metric(m, 'vllm:prefix_cache_hits_total');
}

describe('kv events', { skip }, () => {
  test('an independent subscriber replays the events into the engine\'s cache', async () => {
    const pub = await freePort();
    const replay = await freePort();
    const blocks = 24;
    const server = await startServer(['--num-kv-blocks', String(blocks), '--max-num-seqs', '4',
      '--kv-events-endpoint', `tcp://*:${pub}`,
      '--kv-events-replay-endpoint', `tcp://*:${replay}`]);
    const sub = subscriber(['--endpoint', `tcp://127.0.0.1:${pub}`,
      '--replay', `tcp://127.0.0.1:${replay}`, '--block-size', '16']);
    try {
      const ready = await sub.next();
      assert.equal(ready.ready, true);
      assert.ok(ready.replayed >= 1, 'the opening AllBlocksCleared came by replay');

      // Random chat traffic: three long shared system prompts, varied
      // questions, four at a time; 24 blocks of 16 tokens cannot hold it all.
      const systems = [0, 1, 2].map((k) => `You are assistant number ${k}. ` +
        'Answer briefly, politely and precisely; cite no sources; never use lists; '.repeat(3 + k));
      const words = ['why', 'sky', 'blue', 'sea', 'salt', 'rain', 'cloud', 'wind', 'sun', 'moon'];
      const rand = rng(19);
      const one = async () => {
        const sys = systems[Math.floor(rand() * systems.length)];
        const q = Array.from({ length: 3 + Math.floor(rand() * 8) },
          () => words[Math.floor(rand() * words.length)]).join(' ');
        const r = await postJson(`${server.baseURL}/chat/completions`, {
          model, max_tokens: 1 + Math.floor(rand() * 6), temperature: 0,
          messages: [{ role: 'system', content: sys }, { role: 'user', content: q }],
        });
        assert.equal(r.status, 200, r.text);
      };
      for (let round = 0; round < 10; round++) await Promise.all([one(), one(), one(), one()]);

      const snap = await sub.ask('snapshot');
      assert.deepEqual(snap.errors, []);
      assert.ok(snap.ok);
      assert.ok(snap.stored_blocks > blocks, `stored ${snap.stored_blocks}`);
      assert.ok(snap.removed_blocks > 0, 'evictions were forced');
      assert.ok(snap.cached_blocks <= blocks);
      assert.equal(snap.stored_blocks - snap.removed_blocks, snap.cached_blocks);
      assert.deepEqual(snap.topics, [`kv@127.0.0.1:${server.port}@${model}`]);

      // The model predicts the engine's prefix-cache hits exactly.
      for (const [k, q] of [[0, 'why blue'], [1, 'sea salt rain'], [0, 'why blue']]) {
        const messages = [{ role: 'system', content: systems[k] }, { role: 'user', content: q }];
        const ids = (await postJson(`${server.baseURL}/chat/completions/render`,
          { model, messages })).json.token_ids;
        const predicted = (await sub.ask(`predict ${JSON.stringify({ ids })}`)).cached_tokens;
        const before = await hits(server);
        const r = await postJson(`${server.baseURL}/chat/completions`,
          { model, messages, max_tokens: 1 });
        assert.equal(r.json.usage.prompt_tokens_details.cached_tokens, predicted, q);
        // The engine publishes its counters after the step that answered.
        let delta = await hits(server) - before;
        for (let i = 0; i < 40 && delta < predicted; i++) {
          await new Promise((res) => setTimeout(res, 50));
          delta = await hits(server) - before;
        }
        assert.equal(delta, predicted);
      }
      const again = await sub.ask('snapshot');
      assert.ok(again.ok, JSON.stringify(again.errors));

      // A subscriber that (re)starts now rebuilds the same cache from the
      // replay buffer alone.
      const late = subscriber(['--endpoint', `tcp://127.0.0.1:${pub}`,
        '--replay', `tcp://127.0.0.1:${replay}`, '--block-size', '16']);
      try {
        assert.equal((await late.next()).replayed, again.next_seq);
        const view = await late.ask('snapshot');
        assert.ok(view.ok, JSON.stringify(view.errors));
        assert.equal(view.cached_blocks, again.cached_blocks);
        assert.equal(view.stored_blocks, again.stored_blocks);
      } finally {
        late.proc.kill();
      }

      // vLLM's metric series beside the events.
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(text, new RegExp(`vllm:cache_config_info\\{block_size="16",.*num_gpu_blocks="${blocks}"\\} 1`));
      const m = parseMetrics(text);
      let n = 0;
      for (const [k, v] of Object.entries(m)) if (k.startsWith('vllm:request_success_total{')) n += v;
      assert.ok(n >= 43, `request_success_total ${n}`);
      for (const h of ['vllm:request_queue_time_seconds', 'vllm:request_prompt_tokens',
        'vllm:request_generation_tokens', 'vllm:request_prefill_time_seconds',
        'vllm:request_decode_time_seconds', 'vllm:request_inference_time_seconds']) {
        assert.equal(m[`${h}_count{model_name="${model}"}`], n, h);
      }
      assert.ok(m[`vllm:request_time_per_output_token_seconds_count{model_name="${model}"}`] > 0);
      assert.ok(m[`vllm:request_prompt_tokens_sum{model_name="${model}"}`] > 0);
    } finally {
      assert.equal(await server.stop(), 0);
      const fin = await sub.ask('stop');
      assert.ok(fin.ok, JSON.stringify(fin.errors));
      assert.equal(fin.ended_cleared, true, 'the stream ends with AllBlocksCleared');
      sub.proc.kill();
    }
  });

  test('map encoding (newer vLLM) decodes the same way', async () => {
    const pub = await freePort();
    const replay = await freePort();
    const server = await startServer(['--kv-events-endpoint', `tcp://*:${pub}`,
      '--kv-events-replay-endpoint', `tcp://*:${replay}`, '--kv-events-encoding', 'map',
      '--kv-events-topic', 'kv@pod-a@m']);
    const sub = subscriber(['--endpoint', `tcp://127.0.0.1:${pub}`,
      '--replay', `tcp://127.0.0.1:${replay}`, '--encoding', 'map']);
    try {
      await sub.next();
      const messages = [{ role: 'user', content: 'Tell me about the sea and the salt in it.' }];
      for (let i = 0; i < 2; i++) {
        const r = await postJson(`${server.baseURL}/chat/completions`, { model, messages, max_tokens: 2 });
        assert.equal(r.status, 200);
      }
      const snap = await sub.ask('snapshot');
      assert.ok(snap.ok, JSON.stringify(snap.errors));
      assert.ok(snap.stored_blocks >= 1);
      assert.deepEqual(snap.topics, ['kv@pod-a@m']);
    } finally {
      assert.equal(await server.stop(), 0);
      const fin = await sub.ask('stop');
      assert.ok(fin.ok && fin.ended_cleared, JSON.stringify(fin));
      sub.proc.kill();
    }
  });

  test('a tenant\'s cache salt rides in extra_keys and in render', async () => {
    const pub = await freePort();
    const replay = await freePort();
    const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-kv-'));
    const server = await startServer(['--state-dir', dir, '--admin-key', adminKey,
      '--kv-events-endpoint', `tcp://*:${pub}`, '--kv-events-replay-endpoint', `tcp://*:${replay}`]);
    const sub = subscriber(['--endpoint', `tcp://127.0.0.1:${pub}`,
      '--replay', `tcp://127.0.0.1:${replay}`]);
    const admin = { authorization: `Bearer ${adminKey}` };
    try {
      await sub.next();
      const t = await postJson(`${server.url}/admin/v1/tenants`, { name: 'salted' }, admin);
      assert.equal(t.status, 201, t.text);
      const k = await postJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`,
        { scope: 'inference' }, admin);
      assert.equal(k.status, 201, k.text);
      const key = { authorization: `Bearer ${k.json.key}` };
      const messages = [{ role: 'user', content: 'A long question about salt, '.repeat(6) }];
      const g = (await postJson(`${server.baseURL}/chat/completions/render`,
        { model, messages }, key)).json;
      assert.match(g.cache_salt, /^[0-9a-f]{16}$/);
      const first = await postJson(`${server.baseURL}/chat/completions`,
        { model, messages, max_tokens: 2 }, key);
      assert.equal(first.status, 200, first.text);
      const snap = await sub.ask('snapshot');
      assert.ok(snap.ok, JSON.stringify(snap.errors));
      assert.ok(snap.salted_first_blocks >= 1);
      const salted = (await sub.ask(`predict ${JSON.stringify({ ids: g.token_ids, salt: g.cache_salt })}`)).cached_tokens;
      const unsalted = (await sub.ask(`predict ${JSON.stringify({ ids: g.token_ids })}`)).cached_tokens;
      assert.ok(salted > 0);
      assert.equal(unsalted, 0, 'the salted chain is not the shared one');
      const again = await postJson(`${server.baseURL}/chat/completions`,
        { model, messages, max_tokens: 2 }, key);
      assert.equal(again.json.usage.prompt_tokens_details.cached_tokens, salted);
    } finally {
      assert.equal(await server.stop(), 0);
      const fin = await sub.ask('stop');
      assert.ok(fin.ok, JSON.stringify(fin.errors));
      sub.proc.kill();
    }
  });

  test('bad flags are refused', () => {
    const r = spawnSync(path.join(repoRoot, 'build', 'yun'),
      ['serve', '/nonexistent', '--kv-events-replay-endpoint', 'tcp://*:1']);
    assert.equal(r.status, 2);
    const e = spawnSync(path.join(repoRoot, 'build', 'yun'),
      ['serve', '/nonexistent', '--kv-events-endpoint', 'tcp://*:1', '--kv-events-encoding', 'x']);
    assert.equal(e.status, 2);
  });
});
