// Bad input, auth and overload answers of `yun serve`: status codes and
// OpenAI error objects.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import { postJson, prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();
const msgs = [{ role: 'user', content: 'hi' }];

describe('bad input', { skip }, () => {
  let server;
  before(async () => {
    server = await startServer(['--max-body-bytes', '100000', '--max-model-len', '512']);
  });
  after(async () => { assert.equal(await server?.stop(), 0); });

  const table = [
    ['invalid JSON', '/v1/chat/completions', '{"messages": [', 400],
    ['not an object', '/v1/chat/completions', '[]', 400],
    ['missing messages', '/v1/chat/completions', {}, 400],
    ['messages wrong type', '/v1/chat/completions', { messages: 'hi' }, 400],
    ['temperature wrong type', '/v1/chat/completions', { messages: msgs, temperature: 'x' }, 400],
    ['temperature out of range', '/v1/chat/completions', { messages: msgs, temperature: 5 }, 400],
    ['top_p out of range', '/v1/chat/completions', { messages: msgs, top_p: 1.5 }, 400],
    ['n zero', '/v1/chat/completions', { messages: msgs, n: 0 }, 400],
    ['max_tokens negative', '/v1/chat/completions', { messages: msgs, max_tokens: -1 }, 400],
    ['max_tokens beyond context', '/v1/chat/completions', { messages: msgs, max_tokens: 10000000 }, 400],
    ['unknown model', '/v1/chat/completions', { model: 'gpt-4', messages: msgs }, 404],
    ['prompt missing', '/v1/completions', {}, 400],
    ['prompt wrong type', '/v1/completions', { prompt: 5 }, 400],
    ['token id out of vocab', '/v1/completions', { prompt: [1, 99999999] }, 400],
    ['prompt longer than context', '/v1/completions', { prompt: 'hello '.repeat(1000) }, 400],
    ['logprobs too many', '/v1/completions', { prompt: 'a', logprobs: 100 }, 400],
    ['oversized body', '/v1/completions', { prompt: 'x'.repeat(200000) }, 413],
    ['invalid UTF-8', '/v1/completions', Buffer.from([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70,
      0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400],
  ];
  for (const [name, route, body, status] of table) {
    test(name, async () => {
      const r = await fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
      assert.equal(r.status, status);
      const j = await r.json();
      assert.equal(typeof j.error.message, 'string');
      assert.equal(typeof j.error.type, 'string');
      assert.ok('param' in j.error && 'code' in j.error);
    });
  }

  test('the openai client raises typed errors', async () => {
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x' });
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: msgs }),
      (e) => e.status === 404 && e instanceof OpenAI.NotFoundError);
    await assert.rejects(client.chat.completions.create({ messages: msgs, temperature: -1 }),
      (e) => e.status === 400 && e instanceof OpenAI.BadRequestError);
  });
});

describe('api keys', { skip }, () => {
  let server;
  before(async () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'yun-keys-')), 'keys');
    fs.writeFileSync(f, '# keys\nfile-key\n');
    server = await startServer(['--api-key', 'secret', '--api-key-file', f,
      '--served-model-name', 'alias-a', '--served-model-name', 'alias-b']);
  });
  after(async () => { assert.equal(await server?.stop(), 0); });

  test('missing or wrong key is 401; health and metrics stay open', async () => {
    const body = { model: 'alias-b', prompt: 'x', max_tokens: 1 };
    assert.equal((await postJson(`${server.baseURL}/completions`, body)).status, 401);
    const wrong = await postJson(`${server.baseURL}/completions`, body,
      { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal(typeof wrong.json.error.message, 'string');
    for (const key of ['secret', 'file-key']) {
      const ok = await postJson(`${server.baseURL}/completions`, body,
        { authorization: `Bearer ${key}` });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.model, 'alias-b');
    }
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'secret' });
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['alias-a', 'alias-b']);
    await assert.rejects(new OpenAI({ baseURL: server.baseURL, apiKey: 'bad' }).models.list(),
      (e) => e.status === 401);
  });
});
