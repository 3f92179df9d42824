// Concurrency, client disconnects and graceful drain of `yun serve`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';

import { metric, parseMetrics, prerequisites, sleep, startServer } from './helpers.mjs';

const skip = prerequisites();
const model = 'qwen3-e2e';

async function metrics(server) {
  return parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
}

describe('load', { skip }, () => {
  test('200 concurrent streaming clients all finish with consistent usage', async () => {
    // Several io threads (the default is one per 8 cores): strands under load.
    const server = await startServer(['--http-threads', '4']);
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0,
        timeout: 600000 });
      const one = async (i) => {
        const stream = await client.chat.completions.create({
          model, messages: [{ role: 'user', content: `Say ${i}` }], max_tokens: 8,
          ignore_eos: true, stream: true, stream_options: { include_usage: true },
        });
        let pieces = 0;
        let usage = null;
        let finish = null;
        for await (const chunk of stream) {
          if (chunk.usage) usage = chunk.usage;
          for (const c of chunk.choices) {
            if (c.delta.content) pieces += 1;
            if (c.finish_reason) finish = c.finish_reason;
          }
        }
        return { usage, finish, pieces };
      };
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
      for (const r of results) {
        assert.equal(r.finish, 'length');
        assert.equal(r.usage.completion_tokens, 8);
        assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 8);
        assert.ok(r.pieces >= 1 && r.pieces <= 8);
      }
      const m = await metrics(server);
      assert.equal(metric(m, 'vllm:num_requests_running'), 0);
      assert.ok(metric(m, 'vllm:generation_tokens_total') >= 1600);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('a dropped stream is aborted and frees its blocks', async () => {
    const server = await startServer();
    try {
      const ctrl = new AbortController();
      const r = await fetch(`${server.baseURL}/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt: 'Hello', max_tokens: 20000, ignore_eos: true,
          stream: true }),
        signal: ctrl.signal,
      });
      const reader = r.body.getReader();
      await reader.read();
      let m = await metrics(server);
      // Engine stats are published once per step; give them a moment.
      for (let i = 0; i < 40 && metric(m, 'vllm:num_requests_running') !== 1; i++) {
        await sleep(25);
        m = await metrics(server);
      }
      assert.equal(metric(m, 'vllm:num_requests_running'), 1);
      assert.ok(metric(m, 'vllm:kv_cache_usage_perc') > 0);
      ctrl.abort();
      let running = 1;
      let usage = 1;
      for (let i = 0; i < 100 && (running !== 0 || usage !== 0); i++) {
        await sleep(50);
        m = await metrics(server);
        running = metric(m, 'vllm:num_requests_running');
        usage = metric(m, 'vllm:kv_cache_usage_perc');
      }
      assert.equal(running, 0);
      assert.equal(usage, 0);
      assert.equal(m['vllm:request_success_total{model_name="qwen3-e2e",finished_reason="abort"}'], 1);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('SIGTERM drains: the running stream completes, then exit 0', async () => {
    const server = await startServer(['--drain-timeout', '60']);
    const r = await fetch(`${server.baseURL}/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: 'Hello', max_tokens: 64, ignore_eos: true,
        stream: true, stream_options: { include_usage: true } }),
    });
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let text = dec.decode((await reader.read()).value);
    server.proc.kill('SIGTERM');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text.slice(-200));
    assert.match(text, /"completion_tokens":64/);
    assert.match(text, /"finish_reason":"length"/);
    assert.equal(await server.exited, 0);
    await assert.rejects(fetch(`${server.url}/health`));
  });
});
