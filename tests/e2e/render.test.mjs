// vLLM's render endpoints (POST /v1/chat/completions/render and
// /v1/completions/render): the token ids and resolved sampling parameters
// generation would use, from the same code path (prepare_generation), so
// they equal /tokenize of the same input and usage.prompt_tokens of the
// real generation; a bad body gets generation's own 4xx.
// Run: node --test tests/e2e/render.test.mjs (needs build/yun)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { postJson, prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();
const model = 'qwen3-e2e';

describe('render endpoints', { skip }, () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { assert.equal(await server?.stop(), 0); });

  test('chat render == /tokenize == what generation used', async () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Name three colours of the rainbow.' },
    ];
    const r = await postJson(`${server.baseURL}/chat/completions/render`,
      { model, messages, max_tokens: 5, temperature: 0, stop: ['\n\n'] });
    assert.equal(r.status, 200, r.text);
    const g = r.json;
    assert.ok(!Array.isArray(g), 'chat render is one GenerateRequest');
    assert.match(g.request_id, /^chatcmpl-/);
    assert.equal(g.model, model);
    assert.equal(g.features, null);
    assert.ok(Array.isArray(g.token_ids) && g.token_ids.length > 5);
    assert.equal(g.sampling_params.max_tokens, 5);
    assert.equal(g.sampling_params.temperature, 0);
    assert.deepEqual(g.sampling_params.stop, ['\n\n']);
    assert.equal(g.sampling_params.n, 1);

    const tok = await postJson(`${server.url}/tokenize`, { model, messages });
    assert.equal(tok.status, 200, tok.text);
    assert.deepEqual(g.token_ids, tok.json.tokens);

    const gen = await postJson(`${server.baseURL}/chat/completions`,
      { model, messages, max_tokens: 5, temperature: 0, stop: ['\n\n'] });
    assert.equal(gen.status, 200, gen.text);
    assert.equal(gen.json.usage.prompt_tokens, g.token_ids.length);
  });

  test('defaults resolved as generation resolves them', async () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const g = (await postJson(`${server.baseURL}/chat/completions/render`, { messages })).json;
    // No max_tokens: the rest of the context, as generation resolves it.
    const models = await (await fetch(`${server.baseURL}/models`)).json();
    assert.equal(g.sampling_params.max_tokens + g.token_ids.length, models.data[0].max_model_len);
    assert.equal(typeof g.sampling_params.temperature, 'number');
  });

  test('completions render: one GenerateRequest per prompt', async () => {
    const prompts = ['The capital of France is', 'One, two, three,'];
    const r = await postJson(`${server.baseURL}/completions/render`,
      { model, prompt: prompts, max_tokens: 3 });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json));
    assert.equal(r.json.length, 2);
    for (let i = 0; i < 2; i++) {
      const tok = await postJson(`${server.url}/tokenize`, { model, prompt: prompts[i] });
      assert.deepEqual(r.json[i].token_ids, tok.json.tokens);
      assert.match(r.json[i].request_id, /^cmpl-/);
      assert.equal(r.json[i].sampling_params.max_tokens, 3);
    }
    const gen = await postJson(`${server.baseURL}/completions`,
      { model, prompt: prompts[0], max_tokens: 3 });
    assert.equal(gen.json.usage.prompt_tokens, r.json[0].token_ids.length);
    // Token-id prompts come back as given.
    const ids = await postJson(`${server.baseURL}/completions/render`,
      { model, prompt: [1, 2, 3], max_tokens: 1 });
    assert.deepEqual(ids.json[0].token_ids, [1, 2, 3]);
  });

  test('a bad body gets the same error as generation', async () => {
    const bodies = [
      '{not json',
      { model, messages: 'not a list' },
      { model, messages: [{ role: 'user', content: 'x' }], max_tokens: -1 },
      { model, messages: [{ role: 'user', content: 'x' }], temperature: 'hot' },
      { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] },
      { model, messages: [{ role: 'user', content: 'x' }], max_tokens: 100000000 },
    ];
    for (const body of bodies) {
      const a = await postJson(`${server.baseURL}/chat/completions/render`, body);
      const b = await postJson(`${server.baseURL}/chat/completions`, body);
      assert.ok(a.status >= 400 && a.status < 500, `${a.status} ${a.text}`);
      assert.equal(a.status, b.status, JSON.stringify(body));
      assert.deepEqual(a.json, b.json, JSON.stringify(body));
    }
    const a = await postJson(`${server.baseURL}/completions/render`, { model, prompt: 7 });
    const b = await postJson(`${server.baseURL}/completions`, { model, prompt: 7 });
    assert.equal(a.status, 400);
    assert.deepEqual(a.json, b.json);
    // GET on a render route: 405 from the one route table.
    assert.equal((await fetch(`${server.baseURL}/chat/completions/render`)).status, 405);
  });
});
