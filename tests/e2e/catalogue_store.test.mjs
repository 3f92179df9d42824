// The model store end to end (issue 16, part 1): a Hugging Face cache built
// in a temp dir the way huggingface_hub writes it (HF_HOME/hub/
// models--yun-test--qwen3-e2e/{blobs/<sha256>, snapshots/<commit>/<file> ->
// ../../blobs/<sha256>, refs/main}), holding the golden qwen3-e2e model and
// the Qwen3 tokenizer. Checks, through the yun binary:
//   - yun list shows it (revision, size of its blobs, format);
//   - yun show REPO describes it (architecture, parameters, context, template);
//   - yun run REPO gives the same greedy ids as yun run DIR;
//   - yun serve REPO serves it under the repo id;
//   - yun rm removes only it and refuses anything that is not a repo id;
//   - bad input (uncached repo, extra arguments) is one line, exit 2.
// Run: node --test tests/e2e/catalogue_store.test.mjs (needs build/yun, npm ci)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, goldenDir, prerequisites, sleep, tokenizerDir, yunBin } from './helpers.mjs';

const skip = prerequisites();
const repo = 'yun-test/qwen3-e2e';
const commit = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';

let home;
function yun(...args) {
  const r = spawnSync(yunBin, args, {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, HF_HOME: home, HF_HUB_CACHE: '', HF_HUB_OFFLINE: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Writes a snapshot file as huggingface_hub does: the blob by its sha256, a
// relative symlink from the snapshot. Returns the blob's size.
function addFile(repoDir, src, name) {
  const data = fs.readFileSync(src);
  const sha = crypto.createHash('sha256').update(data).digest('hex');
  fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
  fs.writeFileSync(path.join(repoDir, 'blobs', sha), data);
  const snap = path.join(repoDir, 'snapshots', commit);
  fs.mkdirSync(snap, { recursive: true });
  fs.symlinkSync(path.join('..', '..', 'blobs', sha), path.join(snap, name));
  return data.length;
}

describe('the Hugging Face cache: list, show, run, serve, rm', { skip }, () => {
  let repoDir;
  let totalSize = 0;
  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-hf-'));
    repoDir = path.join(home, 'hub', 'models--yun-test--qwen3-e2e');
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) {
      totalSize += addFile(repoDir, path.join(goldenDir('qwen3-e2e'), f), f);
    }
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      totalSize += addFile(repoDir, path.join(tokenizerDir, f), f);
    }
    fs.mkdirSync(path.join(repoDir, 'refs'));
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
  });
  after(() => { fs.rmSync(home, { recursive: true, force: true }); });

  test('yun list shows the cached model', () => {
    const r = yun('list');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^REPO\s+REVISION\s+SIZE\s+FORMAT\s+MODIFIED/);
    assert.match(r.out, /yun-test\/qwen3-e2e\s+main\s+[\d.]+ MB\s+bfloat16/);
    const j = yun('list', '--json');
    assert.equal(j.code, 0, j.err);
    const rows = j.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].repo, repo);
    assert.equal(rows[0].commit, commit);
    assert.equal(rows[0].size_bytes, totalSize);
    assert.equal(fs.realpathSync(rows[0].path), fs.realpathSync(path.join(repoDir, 'snapshots', commit)));
  });

  test('yun show REPO describes it', () => {
    const r = yun('show', repo, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.architecture, 'Qwen3ForCausalLM');
    assert.ok(j.parameters > 1_000_000, String(j.parameters));
    assert.equal(j.context_length, 40960);
    assert.equal(j.vocab_size, 151936);
    assert.equal(j.format, 'bfloat16');
    assert.match(j.chat_template, /tokenizer_config\.json$/);
    assert.deepEqual(j.sampling_defaults,
      { temperature: 0.7, top_p: 0.8, top_k: 20, min_p: 0, repetition_penalty: 1.05 });
    const text = yun('show', repo);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /architecture\s+Qwen3ForCausalLM/);
  });

  test('yun run REPO is the cached snapshot', () => {
    const args = ['--prompt-ids', '9707,11,1879', '-n', '8', '--temperature', '0', '--ignore-eos',
      '--json', '--threads', '2'];
    const viaRepo = yun('run', '--model', repo, ...args);
    assert.equal(viaRepo.code, 0, viaRepo.err);
    const viaDir = yun('run', '--model', goldenDir('qwen3-e2e'), ...args);
    assert.equal(viaDir.code, 0, viaDir.err);
    assert.deepEqual(JSON.parse(viaRepo.out).output_ids, JSON.parse(viaDir.out).output_ids);
    assert.equal(JSON.parse(viaRepo.out).output_ids.length, 8);
    // With the tokenizer from the cache, text prompts work too.
    const t = yun('run', '--model', `${repo}@main`, 'Hello', '-n', '2', '--json', '--threads', '2');
    assert.equal(t.code, 0, t.err);
  });

  test('yun serve REPO serves it under the repo id', async () => {
    const port = await freePort();
    const proc = spawn(yunBin, ['serve', repo, '--port', String(port), '--threads', '2'], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HF_HOME: home, HF_HUB_CACHE: '' },
    });
    let log = '';
    proc.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      let models = null;
      for (let i = 0; i < 600 && proc.exitCode === null && !models; ++i) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/v1/models`);
          if (r.status === 200) models = await r.json();
        } catch { /* not up yet */ }
        if (!models) await sleep(100);
      }
      assert.ok(models, log);
      assert.deepEqual(models.data.map((m) => m.id), [repo]);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });

  test('bad input: one line, exit 2', () => {
    for (const args of [
      ['run', '--model', 'yun-test/not-cached', 'hi'],
      ['run', '--model', `${repo}@v9`, 'hi'],
      ['show', 'yun-test/not-cached'],
      ['show', '/nonexistent/dir'],
      ['show'],
      ['list', 'extra'],
      ['rm'],
      ['rm', '../outside'],
      ['rm', '/etc'],
      ['rm', `${repo}@main`],
      ['rm', 'yun-test/not-cached'],
    ]) {
      const r = yun(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.err}`);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(lines[0], /^yun: /);
    }
    assert.match(yun('run', '--model', 'yun-test/not-cached', 'hi').err, /yun pull yun-test\/not-cached/);
    assert.ok(fs.existsSync(repoDir));
  });

  test('yun rm REPO removes its cache entry, and only that', () => {
    const keep = path.join(home, 'hub', 'keep.txt');
    fs.writeFileSync(keep, 'x');
    const r = yun('rm', repo);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /removed yun-test\/qwen3-e2e/);
    assert.ok(!fs.existsSync(repoDir));
    assert.ok(fs.existsSync(keep));
    assert.match(yun('list').out, /^no models in /);
    assert.equal(yun('rm', repo).code, 2);
  });
});
