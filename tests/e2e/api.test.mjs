// `yun serve` through the official openai client on the qwen3-e2e golden
// model (real Qwen3 vocabulary and tokenizer, random weights).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import { expectedJson, postJson, prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();

describe('openai api', { skip }, () => {
  let server;
  let client;
  const model = 'qwen3-e2e';

  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('models lists the served name', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [model]);
  });

  test('greedy completion equals the golden reference', async () => {
    const p = expectedJson().prompts[0];
    const r = await client.completions.create({
      model, prompt: p.prompt_text, temperature: 0, max_tokens: 20, ignore_eos: true,
      repetition_penalty: 1.0,
    });
    assert.equal(r.choices[0].text, p.greedy_text);
    assert.equal(r.usage.completion_tokens, 20);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.object, 'text_completion');
  });

  test('chat completion, non-streaming', async () => {
    const r = await client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 8, ignore_eos: true,
    });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.equal(r.usage.completion_tokens, 8);
    assert.ok(r.usage.prompt_tokens > 5);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 8);
    assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
  });

  test('chat completion, streaming with usage', async () => {
    const stream = await client.chat.completions.create({
      model, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_tokens: 6, ignore_eos: true, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    let role = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) role = c.delta.role;
        if (c.delta.content) text += c.delta.content;
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(role, 'assistant');
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 6);
    assert.ok(text.length > 0);
  });

  test('streamed text equals non-streamed text (greedy)', async () => {
    const req = { model, prompt: 'The capital of France is', temperature: 0, max_tokens: 12,
      ignore_eos: true };
    const a = await client.completions.create(req);
    const s = await client.completions.create({ ...req, stream: true });
    let text = '';
    for await (const chunk of s) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, a.choices[0].text);
  });

  test('completions: list of prompts, token ids, n', async () => {
    const r = await client.completions.create({
      model, prompt: ['a', 'b c'], n: 2, max_tokens: 3, ignore_eos: true,
    });
    assert.equal(r.choices.length, 4);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
    assert.equal(r.usage.completion_tokens, 12);
    const ids = await client.completions.create({
      model, prompt: [[9707, 11], [9707]], max_tokens: 2, ignore_eos: true,
    });
    assert.equal(ids.choices.length, 2);
    assert.equal(ids.usage.prompt_tokens, 3);
  });

  test('seed makes sampling reproducible', async () => {
    const req = { model, prompt: 'Once upon a time', max_tokens: 10, temperature: 1.0,
      seed: 1234, ignore_eos: true };
    const a = await client.completions.create(req);
    const b = await client.completions.create(req);
    assert.equal(a.choices[0].text, b.choices[0].text);
  });

  test('stop strings end the text', async () => {
    const p = expectedJson().prompts[0];
    // The greedy continuation contains "ilen"; stopping there cuts it off.
    const r = await client.completions.create({
      model, prompt: p.prompt_text, temperature: 0, max_tokens: 20, repetition_penalty: 1.0,
      stop: ['ilen'],
    });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].text, p.greedy_text.slice(0, p.greedy_text.indexOf('ilen')));
  });

  test('logprobs in chat and completions format', async () => {
    const c = await client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, ignore_eos: true,
      logprobs: true, top_logprobs: 2,
    });
    const content = c.choices[0].logprobs.content;
    assert.equal(content.length, 3);
    assert.equal(typeof content[0].token, 'string');
    assert.ok(content[0].logprob <= 0);
    assert.equal(content[0].top_logprobs.length, 2);
    assert.ok(Array.isArray(content[0].bytes));
    const t = await client.completions.create({
      model, prompt: 'Hi', max_tokens: 3, ignore_eos: true, logprobs: 1,
    });
    const lp = t.choices[0].logprobs;
    assert.equal(lp.tokens.length, 3);
    assert.equal(lp.token_logprobs.length, 3);
    assert.equal(lp.text_offset.length, 3);
  });

  test('tokenize / detokenize round trip', async () => {
    const t = await postJson(`${server.url}/tokenize`, { model, prompt: 'Hello world' });
    assert.equal(t.status, 200);
    assert.deepEqual(t.json.tokens, [9707, 1879]);
    const d = await postJson(`${server.url}/detokenize`, { model, tokens: t.json.tokens });
    assert.equal(d.json.prompt, 'Hello world');
  });

  test('version, health and metrics', async () => {
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const v = await (await fetch(`${server.url}/version`)).json();
    assert.equal(typeof v.version, 'string');
    const m = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total',
      'vllm:time_to_first_token_seconds_bucket', 'vllm:inter_token_latency_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket', 'vllm:request_success_total',
      'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total']) {
      assert.ok(m.includes(`${name}{model_name="${model}"`), name);
    }
  });
});

describe('reasoning parser and chat template kwargs', { skip }, () => {
  let server;
  before(async () => { server = await startServer(['--reasoning-parser', 'qwen3']); });
  after(async () => { assert.equal(await server?.stop(), 0); });

  test('enable_thinking reaches the template; replies keep the OpenAI shape', async () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    const on = await postJson(`${server.url}/tokenize`, { messages });
    const off = await postJson(`${server.url}/tokenize`,
      { messages, chat_template_kwargs: { enable_thinking: false } });
    assert.equal(on.status, 200, on.text);
    // enable_thinking=false adds an empty <think></think> block to the prompt.
    assert.ok(off.json.count > on.json.count);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x' });
    const r = await client.chat.completions.create({
      model: 'qwen3-e2e', messages, max_tokens: 5, ignore_eos: true,
      chat_template_kwargs: { enable_thinking: false },
    });
    const msg = r.choices[0].message;
    assert.ok('reasoning_content' in msg);
    assert.equal(typeof (msg.content ?? ''), 'string');
    assert.equal(r.usage.prompt_tokens, off.json.count);
  });

  test('tools are accepted and rendered', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const plain = await postJson(`${server.url}/tokenize`, { messages: [{ role: 'user', content: 'x' }] });
    const withTools = await postJson(`${server.url}/tokenize`,
      { messages: [{ role: 'user', content: 'x' }], tools });
    assert.ok(withTools.json.count > plain.json.count + 10);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x' });
    const r = await client.chat.completions.create({
      model: 'qwen3-e2e', max_tokens: 4, ignore_eos: true, tools, tool_choice: 'auto',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
          function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 20}' },
      ],
    });
    assert.equal(r.choices.length, 1);
    assert.ok(['length', 'tool_calls', 'stop'].includes(r.choices[0].finish_reason));
  });
});
