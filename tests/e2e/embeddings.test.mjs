// POST /v1/embeddings with the official openai client (embeddings.create)
// on the golden qwen3-e2e model: a string, a list, token ids and token-id
// lists; the client's default base64 (which it decodes) equals
// encoding_format "float"; every vector has L2 norm 1 and hidden_size values;
// explicit "base64" is the little-endian float32 bytes of the same vector;
// the same text gives the same vector, a batch gives the singles' vectors,
// `dimensions` truncates and renormalizes; usage counts the input tokens
// (= /tokenize); bad inputs get 400 naming the field; with tenancy the
// usage lands in the ledger.
// Run: node --test --test-concurrency=1 tests/e2e/embeddings.test.mjs (needs build/yun)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import { callJson, goldenDir, postJson, prerequisites, sleep, startServer } from './helpers.mjs';

const skip = prerequisites();
const model = 'qwen3-e2e';
const hidden = () => JSON.parse(fs.readFileSync(path.join(goldenDir(model), 'config.json'), 'utf8')).hidden_size;

const norm = (v) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
function assertClose(a, b, tol = 1e-5, what = '') {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; ++i) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what} [${i}]: ${a[i]} vs ${b[i]}`);
  }
}
function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; ++i) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

// Little-endian float32 bytes, base64 (OpenAI's encoding_format "base64").
function decodeBase64(b64) {
  assert.equal(typeof b64, 'string');
  const buf = Buffer.from(b64, 'base64');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Array.from({ length: buf.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

describe('embeddings', { skip }, () => {
  let server;
  let client;
  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => { assert.equal(await server?.stop(), 0); });

  test('a string: unit norm, hidden_size values, usage = its tokens', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const r = await client.embeddings.create({ model, input: text });  // base64 on the wire
    assert.equal(r.object, 'list');
    assert.equal(r.model, model);
    assert.equal(r.data.length, 1);
    assert.equal(r.data[0].object, 'embedding');
    assert.equal(r.data[0].index, 0);
    const v = r.data[0].embedding;
    assert.equal(v.length, hidden());
    assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    const tok = await postJson(`${server.url}/tokenize`, { model, prompt: text });
    assert.equal(r.usage.prompt_tokens, tok.json.count);
    assert.equal(r.usage.total_tokens, tok.json.count);

    // The client decoded base64; asking for floats gives the same numbers.
    const f = await client.embeddings.create({ model, input: text, encoding_format: 'float' });
    assertClose(f.data[0].embedding, v, 1e-6, 'float vs base64');
    // Same text, same vector.
    const again = await client.embeddings.create({ model, input: text });
    assertClose(again.data[0].embedding, v, 1e-6, 'again');
  });

  test('a list: one vector each, in order, equal to the singles', async () => {
    const inputs = ['hello', 'Embeddings for retrieval.', 'hello', '你好，世界'];
    const [batch, ...singles] = await Promise.all([
      client.embeddings.create({ model, input: inputs }),
      ...inputs.map((input) => client.embeddings.create({ model, input })),
    ]);
    assert.equal(batch.data.length, inputs.length);
    let tokens = 0;
    for (let i = 0; i < inputs.length; ++i) {
      assert.equal(batch.data[i].index, i);
      assertClose(batch.data[i].embedding, singles[i].data[0].embedding, 1e-5, `input ${i}`);
      tokens += singles[i].usage.prompt_tokens;
    }
    assert.equal(batch.usage.prompt_tokens, tokens);
    assertClose(batch.data[0].embedding, batch.data[2].embedding, 1e-6, 'duplicate');
    assert.ok(maxDiff(batch.data[0].embedding, batch.data[1].embedding) > 1e-3, 'different texts differ');
  });

  test('token ids and token-id lists equal the text', async () => {
    const text = 'Token ids in, vectors out';
    const ids = (await postJson(`${server.url}/tokenize`, { model, prompt: text })).json.tokens;
    const byText = await client.embeddings.create({ model, input: text });
    const byIds = await client.embeddings.create({ model, input: ids });
    assertClose(byIds.data[0].embedding, byText.data[0].embedding, 1e-5, 'ids');
    assert.equal(byIds.usage.prompt_tokens, ids.length);
    const lists = await client.embeddings.create({ model, input: [ids, ids.slice(0, 3)] });
    assert.equal(lists.data.length, 2);
    assertClose(lists.data[0].embedding, byText.data[0].embedding, 1e-5, 'ids list');
    assert.equal(lists.usage.prompt_tokens, ids.length + 3);
  });

  test('dimensions: truncated, then renormalized (Matryoshka)', async () => {
    const input = 'Matryoshka representation learning';
    const full = (await client.embeddings.create({ model, input, encoding_format: 'float' })).data[0].embedding;
    for (const d of [8, 16, hidden()]) {
      for (const encoding_format of ['float', 'base64']) {
        const r = await client.embeddings.create({ model, input, dimensions: d, encoding_format });
        // Asked for explicitly, base64 comes back as the string (the client
        // decodes only the base64 it chose itself).
        const v = encoding_format === 'base64' ? decodeBase64(r.data[0].embedding) : r.data[0].embedding;
        assert.equal(v.length, d);
        assert.ok(Math.abs(norm(v) - 1) < 1e-5);
        const head = full.slice(0, d);
        const n = norm(head);
        assertClose(v, head.map((x) => x / n), 1e-5, `dimensions ${d}`);
      }
    }
  });

  test('bad inputs are 400s naming the field', async () => {
    const url = `${server.baseURL}/embeddings`;
    const cases = [
      [{ model }, 'input'],
      [{ model, input: '' }, 'input'],
      [{ model, input: [] }, 'input'],
      [{ model, input: [[]] }, 'input'],
      [{ model, input: ['a', 1] }, 'input'],
      [{ model, input: [151936] }, 'input'],  // outside the vocabulary
      [{ model, input: [-1] }, 'input'],
      [{ model, input: 'x'.repeat(10), dimensions: 0 }, 'dimensions'],
      [{ model, input: 'x', dimensions: hidden() + 1 }, 'dimensions'],
      [{ model, input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ];
    for (const [body, param] of cases) {
      const r = await postJson(url, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.param, param, r.text);
      assert.equal(r.json.error.type, 'invalid_request_error');
    }
    // Longer than the context: 400 naming "input".
    const long = await postJson(url, { model, input: [Array(41000).fill(9707)] });
    assert.equal(long.status, 400, long.text);
    assert.equal(long.json.error.param, 'input');
    assert.match(long.json.error.message, /maximum context length/);
    // The client surfaces them as BadRequestError.
    await assert.rejects(client.embeddings.create({ model, input: '' }), (e) => e.status === 400);
    // An unknown model is a 404.
    const unknown = await postJson(url, { model: 'nope', input: 'x' });
    assert.equal(unknown.status, 404, unknown.text);
  });
});

describe('embeddings with tenancy', { skip }, () => {
  const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
  let server;
  let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-embed-tenancy-'));
    server = await startServer(['--state-dir', dir, '--admin-key', adminKey]);
  });
  after(async () => {
    assert.equal(await server?.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('usage is recorded in the ledger', async () => {
    const t = await callJson(`${server.url}/admin/v1/tenants`, 'POST', { name: 'embedder' }, adminKey);
    assert.equal(t.status, 201, t.text);
    const k = await callJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST',
      { scope: 'inference' }, adminKey);
    assert.equal(k.status, 201, k.text);
    const tenantClient = new OpenAI({ baseURL: server.baseURL, apiKey: k.json.key, maxRetries: 0 });
    const r = await tenantClient.embeddings.create({ model, input: ['one text', 'and another one'] });
    assert.equal(r.data.length, 2);
    await assert.rejects(new OpenAI({ baseURL: server.baseURL, apiKey: 'wrong', maxRetries: 0 })
      .embeddings.create({ model, input: 'x' }), (e) => e.status === 401);
    let rows = [];
    for (let i = 0; i < 100; ++i) {
      const u = await callJson(`${server.url}/admin/v1/usage?tenant=${t.json.id}`, 'GET', undefined, adminKey);
      assert.equal(u.status, 200, u.text);
      rows = u.json.data;
      if (rows.reduce((a, x) => a + x.requests, 0) >= 1) break;
      await sleep(50);
    }
    assert.equal(rows.reduce((a, x) => a + x.requests, 0), 1, JSON.stringify(rows));
    assert.equal(rows.reduce((a, x) => a + x.prompt_tokens, 0), r.usage.prompt_tokens);
    assert.equal(rows.reduce((a, x) => a + x.completion_tokens, 0), 0);
  });
});
