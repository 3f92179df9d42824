// Ollama's API under /api/ (src/yun/serve/ollama_api.h) through the official
// `ollama` npm client and raw fetch, on the qwen3-e2e golden model (real
// Qwen3 template and tokenizer, random weights: structure, counts and
// determinism are asserted, never content):
//   - /api/chat and /api/generate streamed (NDJSON framing: one JSON object
//     per line, application/x-ndjson, a last line with done: true and the
//     counts) and not, the same tokens as /v1 for the same request, seeded
//     sampling deterministic, num_predict, think, tools;
//   - /api/tags, /api/ps, /api/show, /api/version;
//   - format "json": the reply is JSON when /v1 enforces response_format
//     (probed), and always the same as /v1's reply for the same request;
//   - bad inputs -> Ollama error objects {"error": "..."} with 400 / 404;
//   - auth as on /v1 (--api-key; tenancy: usage recorded per tenant);
//   - /api/pull from the local fake hub (fake_hub.mjs) into HF_HOME.
// Run: YUN_BIN=build/yun node --test --test-concurrency=1 --test-force-exit tests/e2e/ollama.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';

import { startHub } from './fake_hub.mjs';
import { callJson, freePort, postJson, prerequisites, sleep, startServer } from './helpers.mjs';

const skip = prerequisites();
const model = 'qwen3-e2e';
const msgs = [{ role: 'user', content: 'Why is the sky blue?' }];

// POST returning the raw body split into NDJSON lines.
async function ndjson(url, body, headers = {}) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body) });
  const text = await r.text();
  assert.ok(text.endsWith('\n'), `every NDJSON line ends in \\n: ${JSON.stringify(text.slice(-50))}`);
  const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
  return { status: r.status, type: r.headers.get('content-type'), lines, text };
}

function assertDone(d, { promptTokens, maxTokens } = {}) {
  assert.equal(d.done, true);
  assert.ok(['stop', 'length'].includes(d.done_reason), d.done_reason);
  for (const f of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration',
    'eval_count', 'eval_duration']) {
    assert.ok(Number.isInteger(d[f]) && d[f] >= 0, `${f}: ${d[f]}`);
  }
  assert.ok(d.total_duration >= d.prompt_eval_duration);
  assert.ok(d.total_duration > 0);
  if (promptTokens !== undefined) assert.equal(d.prompt_eval_count, promptTokens);
  if (maxTokens !== undefined) {
    assert.ok(d.eval_count >= 1 && d.eval_count <= maxTokens, String(d.eval_count));
    assert.equal(d.done_reason === 'length', d.eval_count === maxTokens);
  }
  assert.match(d.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
}

describe('Ollama API', { skip }, () => {
  let server, ollama;
  before(async () => {
    server = await startServer(['--reasoning-parser', 'qwen3']);
    ollama = new Ollama({ host: server.url });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('version, tags, ps, show', async () => {
    const v = await ollama.version();
    assert.equal(typeof v.version, 'string');
    const tags = await ollama.list();
    assert.equal(tags.models.length, 1);
    const m = tags.models[0];
    assert.equal(m.name, model);
    assert.equal(m.model, model);
    assert.ok(m.size > 0);
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(Date.parse(m.modified_at)));
    assert.equal(m.details.format, 'safetensors');
    assert.equal(m.details.family, 'qwen3');
    assert.match(m.details.parameter_size, /^\d+(\.\d+)?[KMB]$/);
    assert.equal(m.details.quantization_level, 'BF16');
    const ps = await ollama.ps();
    assert.equal(ps.models.length, 1);
    assert.equal(ps.models[0].name, model);
    assert.equal(ps.models[0].size, m.size);
    assert.ok(Date.parse(ps.models[0].expires_at) > Date.now());
    assert.ok(Number.isInteger(ps.models[0].size_vram));
    const show = await ollama.show({ model });
    assert.equal(show.details.family, 'qwen3');
    assert.equal(show.model_info['general.architecture'], 'qwen3');
    assert.ok(show.model_info['general.parameter_count'] > 0);
    assert.ok(show.model_info['qwen3.context_length'] > 0);
    assert.ok(show.model_info['qwen3.block_count'] > 0);
    assert.match(show.template, /im_start/);
    assert.deepEqual(show.capabilities, ['completion', 'tools', 'thinking']);
    assert.equal((await ollama.show({ model: `${model}:latest` })).details.family, 'qwen3');
  });

  test('chat, not streamed: the same tokens and counts as /v1 for the same request', async () => {
    const opts = { temperature: 0, num_predict: 6 };
    const r = await ollama.chat({ model, messages: msgs, stream: false, options: opts, think: false });
    assert.equal(r.model, model);
    assert.equal(r.message.role, 'assistant');
    assert.equal(typeof r.message.content, 'string');
    const v1 = await postJson(`${server.baseURL}/chat/completions`, { model, messages: msgs, temperature: 0,
      max_tokens: 6, chat_template_kwargs: { enable_thinking: false } });
    assert.equal(v1.status, 200, v1.text);
    assertDone(r, { promptTokens: v1.json.usage.prompt_tokens, maxTokens: 6 });
    assert.equal(r.eval_count, v1.json.usage.completion_tokens);
    assert.equal(r.message.content, v1.json.choices[0].message.content ?? '');
    assert.equal(r.message.thinking, v1.json.choices[0].message.reasoning_content ?? undefined);
  });

  test('chat streamed: NDJSON lines that add up to the non-streamed reply', async () => {
    const body = { model, messages: msgs, options: { temperature: 0, num_predict: 8 } };
    const raw = await ndjson(`${server.url}/api/chat`, body);  // no "stream": Ollama streams
    assert.equal(raw.status, 200);
    assert.match(raw.type, /^application\/x-ndjson/);
    assert.ok(raw.lines.length >= 2, raw.text);
    const last = raw.lines.at(-1);
    assertDone(last, { maxTokens: 8 });
    for (const l of raw.lines.slice(0, -1)) {
      assert.equal(l.done, false);
      assert.equal(l.model, model);
      assert.equal(l.message.role, 'assistant');
    }
    const whole = await ollama.chat({ ...body, stream: false });
    const content = raw.lines.map((l) => l.message.content).join('');
    const thinking = raw.lines.map((l) => l.message.thinking ?? '').join('');
    assert.equal(content, whole.message.content);
    assert.equal(thinking, whole.message.thinking ?? '');
    assert.equal(last.eval_count, whole.eval_count);
    assert.equal(last.prompt_eval_count, whole.prompt_eval_count);
    // The client's stream gives the same parts.
    const parts = [];
    for await (const p of await ollama.chat({ ...body, stream: true })) parts.push(p);
    assert.equal(parts.map((p) => p.message.content).join(''), content);
    assert.equal(parts.at(-1).done, true);
  });

  test('generate: streamed and not, seeded sampling is deterministic, raw', async () => {
    const opts = { temperature: 0.9, top_k: 50, seed: 1234, num_predict: 7 };
    const a = await ollama.generate({ model, prompt: 'Once upon a time', options: opts, stream: false });
    const b = await ollama.generate({ model, prompt: 'Once upon a time', options: opts, stream: false });
    assert.equal(typeof a.response, 'string');
    assert.equal(a.response, b.response);
    assert.equal(a.eval_count, b.eval_count);
    assertDone(a, { maxTokens: 7 });
    const parts = [];
    for await (const p of await ollama.generate({ model, prompt: 'Once upon a time', options: opts, stream: true })) {
      parts.push(p);
    }
    assert.equal(parts.map((p) => p.thinking ?? '').join(''), a.thinking ?? '');
    assert.equal(parts.map((p) => p.response).join(''), a.response);
    assert.equal(parts.at(-1).eval_count, a.eval_count);
    // The same sampling through /v1 (generate renders the chat template).
    const v1 = await postJson(`${server.baseURL}/chat/completions`, { model,
      messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0.9, top_k: 50, seed: 1234, max_tokens: 7 });
    assert.equal(v1.json.usage.completion_tokens, a.eval_count);
    assert.equal(a.response, v1.json.choices[0].message.content ?? '');
    assert.equal(a.prompt_eval_count, v1.json.usage.prompt_tokens);
    // raw: the prompt as it is, no template.
    const raw = await ollama.generate({ model, prompt: 'Once upon a time', raw: true, stream: false,
      options: { temperature: 0, num_predict: 4 } });
    const cmpl = await postJson(`${server.baseURL}/completions`, { model, prompt: 'Once upon a time',
      temperature: 0, max_tokens: 4 });
    assert.equal(raw.response, cmpl.json.choices[0].text);
    assert.equal(raw.prompt_eval_count, cmpl.json.usage.prompt_tokens);
    assert.ok(raw.prompt_eval_count < a.prompt_eval_count);
    // An empty prompt only loads the model.
    const load = await ollama.generate({ model, prompt: '', stream: false });
    assert.equal(load.done, true);
    assert.equal(load.done_reason, 'load');
  });

  test('think: thinking in message.thinking, never in content', async () => {
    const on = await ollama.chat({ model, messages: msgs, think: true, stream: false,
      options: { temperature: 0, num_predict: 12 } });
    const off = await ollama.chat({ model, messages: msgs, think: false, stream: false,
      options: { temperature: 0, num_predict: 12 } });
    assert.ok(!on.message.content.includes('<think>'));
    assert.ok(!off.message.content.includes('<think>'));
    // think: false renders the empty think block: a longer prompt.
    assert.ok(off.prompt_eval_count > on.prompt_eval_count);
  });

  test('format json: enforced exactly as /v1 enforces response_format', async () => {
    const ask = { model, messages: [{ role: 'user', content: 'Give me a JSON object.' }], temperature: 0, max_tokens: 16 };
    const v1 = await postJson(`${server.baseURL}/chat/completions`, { ...ask, response_format: { type: 'json_object' } });
    assert.equal(v1.status, 200, v1.text);
    const r = await ollama.chat({ model, messages: ask.messages, format: 'json', stream: false,
      options: { temperature: 0, num_predict: 16 } });
    assert.equal(r.message.content, v1.json.choices[0].message.content ?? '');
    let enforced = true;
    try { JSON.parse(v1.json.choices[0].message.content); } catch { enforced = false; }
    if (enforced) assert.doesNotThrow(() => JSON.parse(r.message.content));
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    const s = await ollama.chat({ model, messages: ask.messages, format: schema, stream: false,
      options: { temperature: 0, num_predict: 16 } });
    const v1s = await postJson(`${server.baseURL}/chat/completions`, { ...ask,
      response_format: { type: 'json_schema', json_schema: { name: 'ollama_format', schema } } });
    assert.equal(s.message.content, v1s.json.choices[0].message.content ?? '');
    if (enforced) assert.equal(typeof JSON.parse(s.message.content).a, 'number');
  });

  test('tools: accepted in Ollama shape; calls come back as objects', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const history = [...msgs,
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: 'sunny', tool_name: 'get_weather' }];
    const r = await ollama.chat({ model, messages: history, tools, stream: false, options: { temperature: 0, num_predict: 5 } });
    assertDone(r, { maxTokens: 5 });
    for (const c of r.message.tool_calls ?? []) {
      assert.equal(typeof c.function.name, 'string');
      assert.equal(typeof c.function.arguments, 'object');
    }
    const noTools = await ollama.chat({ model, messages: history, stream: false, options: { temperature: 0, num_predict: 5 } });
    assert.ok(r.prompt_eval_count > noTools.prompt_eval_count, 'the tools are in the prompt');
  });

  test('bad inputs get Ollama error objects', async () => {
    const cases = [
      ['/api/chat', '{nope', 400],
      ['/api/chat', { model, messages: [{ role: 'user', content: 'x', images: ['aGk='] }] }, 400],
      ['/api/chat', { model, messages: msgs, options: { temperature: 'hot' } }, 400],
      ['/api/chat', { model, messages: msgs, options: { temperature: 5 } }, 400],
      ['/api/chat', { model, messages: msgs, format: 'yaml' }, 400],
      ['/api/chat', { model: 'nope', messages: msgs }, 404],
      ['/api/generate', { model, prompt: 'x', images: ['aGk='] }, 400],
      ['/api/generate', { model, prompt: 'x', keep_alive: 'soon' }, 400],
      ['/api/generate', { model, prompt: 'x', context: [1, 2, 3] }, 400],
      ['/api/show', { model: 'nope' }, 404],
      ['/api/pull', { model: 'llama3.2:1b' }, 400],
    ];
    for (const [route, body, status] of cases) {
      const r = await postJson(`${server.url}${route}`, body);
      assert.equal(r.status, status, `${route} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(typeof r.json?.error, 'string', r.text);
      assert.ok(r.json.error.length > 0);
    }
    const unknown = await callJson(`${server.url}/api/nothing`, 'GET');
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.json.error, 'string');
    const wrongMethod = await callJson(`${server.url}/api/chat`, 'GET');
    assert.equal(wrongMethod.status, 405);
    assert.equal(typeof wrongMethod.json.error, 'string');
    // The client surfaces the message.
    await assert.rejects(ollama.chat({ model: 'nope', messages: msgs }), (e) => {
      assert.equal(e.status_code, 404);
      assert.match(e.error, /nope/);
      return true;
    });
  });
});

describe('Ollama API: auth and tenancy as on /v1', { skip }, () => {
  const adminKey = 'yun-admin-ollama-test-key-0123456789';
  let server, dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-ollama-tn-'));
    server = await startServer(['--state-dir', dir, '--admin-key', adminKey]);
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('keys required, usage recorded for the tenant, pull needs an admin key', async () => {
    const none = await postJson(`${server.url}/api/chat`, { model, messages: msgs });
    assert.equal(none.status, 401);
    assert.equal(typeof none.json.error, 'string');
    assert.equal((await callJson(`${server.url}/api/tags`, 'GET')).status, 401);
    assert.equal((await callJson(`${server.url}/api/version`, 'GET')).status, 200);  // public
    const t = await callJson(`${server.url}/admin/v1/tenants`, 'POST', { name: 'webui' }, adminKey);
    assert.equal(t.status, 201, t.text);
    const k = await callJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST', { scope: 'inference' }, adminKey);
    assert.equal(k.status, 201, k.text);
    const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${k.json.key}` } });
    assert.equal((await client.list()).models.length, 1);
    const r = await client.chat({ model, messages: msgs, stream: false, options: { temperature: 0, num_predict: 4 } });
    const parts = [];
    for await (const p of await client.chat({ model, messages: msgs, stream: true, options: { temperature: 0, num_predict: 4 } })) {
      parts.push(p);
    }
    let rows = [];
    for (let i = 0; i < 100; ++i) {
      const u = await callJson(`${server.url}/admin/v1/usage?tenant=${t.json.id}`, 'GET', undefined, adminKey);
      rows = u.json.data;
      if (rows.reduce((a, x) => a + x.requests, 0) >= 2) break;
      await sleep(50);
    }
    assert.equal(rows.reduce((a, x) => a + x.requests, 0), 2);
    assert.equal(rows.reduce((a, x) => a + x.prompt_tokens, 0), r.prompt_eval_count + parts.at(-1).prompt_eval_count);
    assert.equal(rows.reduce((a, x) => a + x.completion_tokens, 0), r.eval_count + parts.at(-1).eval_count);
    const pull = await postJson(`${server.url}/api/pull`, { model: 'yun-test/qwen3-e2e' },
      { authorization: `Bearer ${k.json.key}` });
    assert.equal(pull.status, 403);
    assert.equal(typeof pull.json.error, 'string');
  });
});

describe('Ollama API: /api/pull from a local hub', { skip }, () => {
  let server, hub, home;
  const saved = {};
  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-ollama-pull-'));
    const hubPort = await freePort();
    hub = await startHub(hubPort, await freePort());
    // The server inherits these (startServer spawns with this environment).
    for (const [k, v] of Object.entries({ HF_HOME: home, HF_HUB_CACHE: '', HF_TOKEN: '', HF_HUB_OFFLINE: '',
      HF_ENDPOINT: `http://127.0.0.1:${hubPort}` })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    hub?.hub.close();
    hub?.cdn.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('streams progress NDJSON and lands in the HF cache', async () => {
    const ollama = new Ollama({ host: server.url });
    const events = [];
    for await (const p of await ollama.pull({ model: 'yun-test/qwen3-e2e', stream: true })) events.push(p);
    assert.equal(events[0].status, 'pulling manifest');
    assert.equal(events.at(-1).status, 'success');
    const dl = events.filter((e) => e.status === 'downloading');
    assert.ok(dl.length >= 1, JSON.stringify(events));
    for (const e of dl) {
      assert.equal(e.digest, 'yun-test/qwen3-e2e@main');
      assert.ok(Number.isInteger(e.total) && Number.isInteger(e.completed) && e.completed <= e.total);
    }
    assert.equal(dl.at(-1).completed, dl.at(-1).total);
    const { commit } = hub.repos['yun-test/qwen3-e2e'];
    const repo = path.join(home, 'hub', 'models--yun-test--qwen3-e2e');
    assert.equal(fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8'), commit);
    assert.ok(fs.existsSync(path.join(repo, 'snapshots', commit, 'model.safetensors')));
    // Not streamed: one object; the second pull downloads nothing new.
    const again = await ollama.pull({ model: 'yun-test/qwen3-e2e', stream: false });
    assert.equal(again.status, 'success');
    // Errors: an unknown repo mid-stream is an error line; not streamed, a 404.
    const raw = await ndjson(`${server.url}/api/pull`, { model: 'yun-test/missing' });
    assert.equal(raw.status, 200);
    assert.equal(raw.lines[0].status, 'pulling manifest');
    assert.equal(typeof raw.lines.at(-1).error, 'string');
    const flat = await postJson(`${server.url}/api/pull`, { model: 'yun-test/missing', stream: false });
    assert.ok(flat.status === 404 || flat.status === 400, flat.text);
    assert.equal(typeof flat.json.error, 'string');
    await assert.rejects(async () => {
      for await (const p of await ollama.pull({ model: 'yun-test/missing', stream: true })) void p;
    }, /missing|not/i);
  });
});
