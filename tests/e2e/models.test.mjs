// End-to-end tests of several models in one `yun serve` (issue 16, part 1):
// two copies of the golden qwen3-e2e model (the real tokenizer) and the tiny
// qwen2 checkpoint (no tokenizer: token-id prompts) in one server.
//   - /v1/models lists every model with its yun "status"; the default (first)
//     model is loaded at start, the others on first use;
//   - a stream on one model goes on while another loads, and requests to all
//     three run at once;
//   - keep_alive 0 in the body unloads a model after the request, and it
//     reloads on the next one with the same greedy tokens; a bad keep_alive
//     is a 400; an unknown model a 404 model_not_found;
//   - `yun ps` prints the table; with no server it fails with one line;
//   - under --max-loaded-models 2 a third model unloads the least recently used;
//   - --models-dir finds sub-directories with a config.json and hub-layout repos.
//   - --models-config: names, aliases, keep_alive and engine options per model,
//     Ollama load and unload requests; a bad file is one line and exit 2.
// Run: YUN_BIN=build/yun node --test --test-force-exit tests/e2e/models.test.mjs
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, goldenDir, makeModelDir, postJson, prerequisites, startServer, yunBin } from './helpers.mjs';

const skip = prerequisites();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A model directory without a tokenizer (the tiny checkpoints have their own small vocabulary).
function tinyDir(name = 'qwen2-tiny') {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'yun-e2e-')), name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) {
    fs.symlinkSync(path.join(goldenDir(name), f), path.join(dir, f));
  }
  return dir;
}

async function models(url) {
  const r = await fetch(`${url}/v1/models`);
  assert.equal(r.status, 200);
  return Object.fromEntries((await r.json()).data.map((m) => [m.id, m]));
}

async function waitStatus(url, id, status, ms = 10000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = (await models(url))[id]?.status;
    if (last === status) return;
    await sleep(50);
  }
  assert.fail(`model ${id} is ${last}, not ${status}, after ${ms} ms`);
}

function greedy(url, model, extra = {}) {
  return postJson(`${url}/v1/chat/completions`, {
    model,
    messages: [{ role: 'user', content: 'Name three colors.' }],
    max_tokens: 12,
    temperature: 0,
    ...extra,
  });
}

function yunPs(...args) {
  const r = spawnSync(yunBin, ['ps', ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('several models in one server', { skip }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--model', `second=${makeModelDir('qwen3-e2e')}`,
      '--model', `tiny=${tinyDir()}`, '--kv-cache-memory', '96M']);
    // Ready once the default model has answered its warm-up.
    for (let i = 0; i < 600; ++i) {
      if ((await fetch(`${srv.url}/health/ready`)).status === 200) break;
      await sleep(100);
    }
  });
  after(async () => { if (srv) assert.equal(await srv.stop(), 0); });

  test('/v1/models lists every model with its state; the default is loaded at start', async () => {
    const m = await models(srv.url);
    assert.deepEqual(Object.keys(m), ['qwen3-e2e', 'second', 'tiny']);
    assert.equal(m['qwen3-e2e'].status, 'loaded');
    assert.equal(m['qwen3-e2e'].object, 'model');
    assert.ok(m['qwen3-e2e'].max_model_len > 0);
    assert.equal(m.second.status, 'unloaded');
    assert.equal(m.tiny.status, 'unloaded');
  });

  test('unknown model: 404 model_not_found; a bad keep_alive: 400', async () => {
    const r = await greedy(srv.url, 'no-such-model');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'model_not_found');
    const bad = await greedy(srv.url, 'second', { keep_alive: 'soon' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'keep_alive');
    assert.equal((await models(srv.url)).second.status, 'unloaded');  // nothing loaded for it
  });

  test('a stream on one model goes on while another loads; all three serve at once', async () => {
    const stream = fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Count.' }], max_tokens: 40,
        temperature: 0, ignore_eos: true, stream: true }),
    }).then((r) => r.text());
    const [text, second, tiny] = await Promise.all([
      stream,
      greedy(srv.url, 'second'),
      postJson(`${srv.url}/v1/completions`, { model: 'tiny', prompt: [1, 2, 3], max_tokens: 5,
        temperature: 0, ignore_eos: true }),
    ]);
    const chunks = text.split('\n').filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
      .map((l) => JSON.parse(l.slice(6)));
    assert.ok(text.includes('data: [DONE]'));
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
    assert.equal(chunks[0].model, 'qwen3-e2e');
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.model, 'second');
    assert.equal(second.json.usage.completion_tokens, 12);
    assert.equal(tiny.status, 200, tiny.text);
    assert.equal(tiny.json.usage.completion_tokens, 5);
    const m = await models(srv.url);
    for (const id of ['qwen3-e2e', 'second', 'tiny']) assert.equal(m[id].status, 'loaded', id);
  });

  test('keep_alive 0 unloads after the request; the reload gives the same greedy tokens', async () => {
    const first = await greedy(srv.url, 'second', { keep_alive: 0 });
    assert.equal(first.status, 200, first.text);
    await waitStatus(srv.url, 'second', 'unloaded');
    const again = await greedy(srv.url, 'second', { keep_alive: '5m' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.choices[0].message.content, first.json.choices[0].message.content);
    assert.equal((await models(srv.url)).second.status, 'loaded');
    // The default model's tokens are the same model's: the same text.
    const dflt = await greedy(srv.url, 'qwen3-e2e');
    assert.equal(dflt.json.choices[0].message.content, first.json.choices[0].message.content);
  });

  test('the ollama and openai clients on the same server, interleaved across models', async () => {
    const { Ollama } = await import('ollama');
    const { default: OpenAI } = await import('openai');
    const ollama = new Ollama({ host: srv.url });
    const openai = new OpenAI({ baseURL: srv.baseURL, apiKey: 'none' });
    const messages = [{ role: 'user', content: 'Hello' }];
    // /api/chat streaming on one model while the openai client asks another.
    const [pieces, viaOpenAi] = await Promise.all([
      (async () => {
        const out = [];
        const stream = await ollama.chat({ model: 'second', messages, stream: true,
          options: { temperature: 0, num_predict: 8 } });
        for await (const part of stream) out.push(part);
        return out;
      })(),
      openai.chat.completions.create({ model: 'qwen3-e2e', messages, temperature: 0, max_tokens: 8 }),
    ]);
    const last = pieces.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.eval_count, viaOpenAi.usage.completion_tokens);
    // Same weights under two names: the same greedy text through both APIs.
    assert.equal(pieces.map((p) => p.message.content).join(''),
      viaOpenAi.choices[0].message.content);
    const tags = await ollama.list();
    assert.deepEqual(tags.models.map((m) => m.name).sort(), ['qwen3-e2e', 'second', 'tiny']);
    const ps = await ollama.ps();
    assert.ok(ps.models.some((m) => m.name === 'second'), JSON.stringify(ps));
  });

  test('tokenize names its model and loads it', async () => {
    await postJson(`${srv.url}/v1/completions`, { model: 'tiny', prompt: [1], max_tokens: 1, keep_alive: 0 });
    await waitStatus(srv.url, 'tiny', 'unloaded');
    const r = await postJson(`${srv.url}/tokenize`, { model: 'second', prompt: 'hello world' });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.count > 0);
    const none = await postJson(`${srv.url}/tokenize`, { model: 'tiny', prompt: 'hello' });
    assert.equal(none.status, 400);  // tiny has no tokenizer (and was loaded to find out)
    assert.match(none.json.error.message, /no tokenizer/);
  });

  test('yun ps prints every model with its state, memory and keep-alive', async () => {
    await postJson(`${srv.url}/v1/completions`, { model: 'tiny', prompt: [1], max_tokens: 1, keep_alive: -1 });
    const r = yunPs('--port', String(srv.port));
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+MEMORY\s+KV CACHE\s+IDLE\s+UNTIL$/);
    const row = (name) => lines.find((l) => l.startsWith(name + ' '));
    assert.match(row('qwen3-e2e'), /\(default\)\s+loaded\s+\d+(\.\d)? MB/);
    assert.match(row('tiny'), /loaded .*forever$/);
    const second = row('second');
    assert.match(second, /loaded .* in \d+m$/);
    const json = yunPs('--port', String(srv.port), '--json');
    assert.equal(json.code, 0, json.err);
    const ps = JSON.parse(json.out);
    const tiny = ps.models.find((m) => m.name === 'tiny');
    assert.equal(tiny.status, 'loaded');
    assert.ok(tiny.weights_bytes > 0 && tiny.kv_cache_bytes > 0);
    assert.equal(tiny.memory_bytes, tiny.weights_bytes + tiny.kv_cache_bytes);
    assert.equal(tiny.keep_alive_seconds, -1);
    assert.equal(tiny.expires_at, null);
    const s = ps.models.find((m) => m.name === 'second');
    assert.ok(s.expires_at > Date.now() / 1000);
    assert.ok(s.expires_in_seconds > 200 && s.expires_in_seconds <= 300);
  });

  test('metrics carry every loaded model, each family once', async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const help = text.split('\n').filter((l) => l.startsWith('# HELP vllm:num_requests_running '));
    assert.equal(help.length, 1);
    assert.match(text, /vllm:num_requests_running\{model_name="qwen3-e2e"\}/);
    assert.match(text, /vllm:num_requests_running\{model_name="tiny"\}/);
  });
});

describe('yun ps without a server', { skip }, () => {
  test('one line and a non-zero exit', async () => {
    const r = yunPs('--port', String(await freePort()));
    assert.notEqual(r.code, 0);
    assert.equal(r.out, '');
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, /no yun server answers/);
  });
});

describe('--max-loaded-models', { skip }, () => {
  test('a third model unloads the least recently used', async () => {
    const srv = await startServer(['--model', `second=${tinyDir('qwen3-tiny')}`,
      '--model', `third=${tinyDir('llama-tiny')}`, '--max-loaded-models', '2',
      '--kv-cache-memory', '64M']);
    try {
      const ids = (model) => postJson(`${srv.url}/v1/completions`,
        { model, prompt: [1, 2], max_tokens: 2, temperature: 0 });
      assert.equal((await ids('second')).status, 200);
      await sleep(20);
      assert.equal((await ids('qwen3-e2e')).status, 200, 'the default, now the most recent');
      await sleep(20);
      assert.equal((await ids('third')).status, 200);
      const m = await models(srv.url);
      assert.equal(m['qwen3-e2e'].status, 'loaded');
      assert.equal(m.second.status, 'unloaded');
      assert.equal(m.third.status, 'loaded');
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  });
});

describe('--models-dir', { skip }, () => {
  test('sub-directories with a config.json and repos in the hub layout are models', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-e2e-models-'));
    fs.renameSync(makeModelDir('qwen3-e2e'), path.join(root, 'chat'));
    fs.renameSync(tinyDir('qwen2-tiny'), path.join(root, 'tiny'));
    fs.mkdirSync(path.join(root, 'not-a-model'));  // no config.json: left out
    fs.mkdirSync(path.join(root, 'zz-broken'));  // a model that cannot load
    fs.writeFileSync(path.join(root, 'zz-broken', 'config.json'), '{"architectures": [');
    // ORG/NAME cached as huggingface_hub lays it out (refs/main -> a snapshot).
    const commit = 'a'.repeat(40);
    const repo = path.join(root, 'models--acme--tiny-llama');
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
    fs.mkdirSync(path.join(repo, 'snapshots'));
    fs.renameSync(tinyDir('llama-tiny'), path.join(repo, 'snapshots', commit));
    const port = await freePort();
    const proc = spawn(yunBin, ['serve', '--models-dir', root, '--port', String(port), '--threads', '2',
      '--kv-cache-memory', '64M'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; i < 600; ++i) {
        try { if ((await fetch(`${url}/health/ready`)).status === 200) break; } catch { /* not yet */ }
        await sleep(100);
      }
      const m = await models(url);
      assert.deepEqual(Object.keys(m), ['chat', 'tiny', 'zz-broken', 'acme/tiny-llama'], log);
      assert.equal(m.chat.status, 'loaded');  // the first is the default
      const r = await postJson(`${url}/v1/completions`, { model: 'acme/tiny-llama', prompt: [1, 2], max_tokens: 2 });
      assert.equal(r.status, 200, r.text);
      assert.equal((await models(url))['acme/tiny-llama'].status, 'loaded');
      // A failed load: a 500 model_load_failed, the state and its error, the others serving.
      const bad = await postJson(`${url}/v1/completions`, { model: 'zz-broken', prompt: [1], max_tokens: 1 });
      assert.equal(bad.status, 500, bad.text);
      assert.equal(bad.json.error.code, 'model_load_failed');
      assert.match(bad.json.error.message, /model `zz-broken` failed to load: /);
      const after = await models(url);
      assert.equal(after['zz-broken'].status, 'failed');
      assert.ok(after['zz-broken'].error.length > 0);
      const ok = await postJson(`${url}/v1/completions`, { model: 'chat', prompt: 'hi', max_tokens: 2 });
      assert.equal(ok.status, 200, ok.text);
      const ps = yunPs('--port', String(port));
      assert.equal(ps.code, 0, ps.err);
      assert.match(ps.out, /zz-broken\s+failed/);
      assert.match(ps.out, /zz-broken failed to load: /);
    } finally {
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    }
  });
});

describe('--models-config', { skip }, () => {
  const write = (obj) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'yun-e2e-cfg-')), 'models.json');
    fs.writeFileSync(file, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return file;
  };
  const ps = async (url) => Object.fromEntries(
    (await (await fetch(`${url}/v1/yun/ps`)).json()).models.map((m) => [m.name, m]));

  test('names, aliases, keep_alive and engine options per model; Ollama load and unload', async () => {
    const file = write({ models: [
      { name: 'cfg-second', path: makeModelDir('qwen3-e2e'), aliases: ['chat'], keep_alive: -1,
        engine: { 'max-num-seqs': 2, 'kv-cache-memory': '24M', 'max-model-len': 256 } },
      { name: 'cfg-tiny', path: tinyDir(), keep_alive: '1s', engine: { threads: 1 } },
    ] });
    const srv = await startServer(['--models-config', file, '--kv-cache-memory', '64M']);
    try {
      let m = await models(srv.url);
      // An alias is listed as a model of its own (as --served-model-name's).
      assert.deepEqual(Object.keys(m), ['qwen3-e2e', 'cfg-second', 'chat', 'cfg-tiny']);
      assert.equal(m['cfg-second'].status, 'unloaded');
      // Ollama's load request: no messages; it answers once the model is loaded.
      const load = await postJson(`${srv.url}/api/chat`, { model: 'chat', messages: [] });
      assert.equal(load.status, 200, load.text);
      assert.equal(load.json.done_reason, 'load');
      assert.equal(load.json.model, 'chat');
      m = await models(srv.url);
      assert.equal(m['cfg-second'].status, 'loaded');
      assert.equal(m['cfg-second'].max_model_len, 256);  // its engine option
      let p = await ps(srv.url);
      assert.equal(p['cfg-second'].keep_alive_seconds, -1);
      // Its own kv-cache-memory (24M), not a share of the server's 64M (32M each
      // for the two models without their own).
      assert.ok(p['cfg-second'].kv_cache_bytes <= 24 * 2 ** 20, JSON.stringify(p['cfg-second']));
      assert.ok(p['cfg-second'].kv_cache_bytes > 20 * 2 ** 20, JSON.stringify(p['cfg-second']));
      assert.ok(p['qwen3-e2e'].kv_cache_bytes > 30 * 2 ** 20, JSON.stringify(p['qwen3-e2e']));
      assert.ok(p['qwen3-e2e'].kv_cache_bytes <= 32 * 2 ** 20, JSON.stringify(p['qwen3-e2e']));
      // The alias serves it, with the same greedy tokens as the default model.
      const [viaAlias, dflt] = [await greedy(srv.url, 'chat'), await greedy(srv.url, 'qwen3-e2e')];
      assert.equal(viaAlias.status, 200, viaAlias.text);
      assert.equal(viaAlias.json.choices[0].message.content, dflt.json.choices[0].message.content);
      // keep_alive "1s" from the file: loaded by a request, unloaded a second after it.
      const tiny = await postJson(`${srv.url}/v1/completions`,
        { model: 'cfg-tiny', prompt: [1, 2], max_tokens: 2, temperature: 0 });
      assert.equal(tiny.status, 200, tiny.text);
      assert.equal((await ps(srv.url))['cfg-tiny'].keep_alive_seconds, 1);
      await waitStatus(srv.url, 'cfg-tiny', 'unloaded');
      // Ollama's unload request: keep_alive 0 and nothing to generate.
      const unload = await postJson(`${srv.url}/api/generate`, { model: 'chat', keep_alive: 0 });
      assert.equal(unload.status, 200, unload.text);
      assert.equal(unload.json.done_reason, 'unload');
      assert.equal((await models(srv.url))['cfg-second'].status, 'unloaded');
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  });

  test('a bad file: one line and exit 2', async () => {
    const model = tinyDir();
    const cases = [
      [{ models: [{ name: 'a', path: model, engine: { 'max-num-seq': 2 } }] },
        /models\[0\] \("a"\)\.engine\.max-num-seq: unknown engine option/],
      [{ models: [{ name: 'a', path: model, engine: { threads: '2' } }] },
        /models\[0\] \("a"\)\.engine\.threads: must be an integer/],
      [{ models: [{ name: 'a', path: model }, { name: 'b', path: model, aliases: ['a'] }] },
        /models\[1\] \("b"\): the name "a" is used twice/],
      [{ models: [{ name: 'a', path: model, keep_alive: 'soon' }] }, /models\[0\] \("a"\)\.keep_alive/],
      ['{"models": [', /malformed JSON/],
    ];
    for (const [obj, re] of cases) {
      const file = write(obj);
      const r = spawnSync(yunBin, ['serve', '--models-config', file, '--port', '0'],
        { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.ok(r.stderr.includes(file), r.stderr);
    }
  });
});
