// End-to-end tests of `yun pull` against a local imitation of the Hugging
// Face hub (no network reaches CI): a node HTTP server answering
//   GET  /api/models/REPO/revision/REV   {sha, siblings: [{rfilename}]}
//   HEAD|GET /REPO/resolve/COMMIT/FILE   ETag = git blob sha1 for small files;
//        for git-lfs files a 302 to a second server (the "CDN", another port)
//        with X-Linked-Etag = sha256 and X-Linked-Size
// with Range support, for repos made of the golden qwen3-e2e model and the
// real Qwen3 tokenizer:
//   - yun-test/qwen3-e2e: the CDN cuts model.safetensors mid-file once; the
//     retry must resume with Range; the cache layout must be huggingface_hub's
//     (blobs by etag, snapshots/COMMIT/F -> ../../blobs/ETAG, refs/main);
//     `yun list` shows it; `yun run --model REPO` generates the golden ids; a
//     second pull downloads nothing; HF_TOKEN never reaches the CDN;
//   - yun-test/gated: 401 without HF_TOKEN (exit 2, one line), fine with it;
//   - yun-test/corrupt: the CDN serves a flipped byte: checksum mismatch,
//     exit 2, and neither the blob nor a partial file is left;
//   - yun-test/resume: a partial blob from an earlier run is resumed;
//   - yun-test/twice: two pulls at once (blob locks); yun-test/sharded: only
//     the shards model.safetensors.index.json names;
//   - bad repo ids, unknown repos, HF_HUB_OFFLINE (exit 2), an unwritable
//     cache and an unreachable hub (exit 1).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHub, TOKEN, sha256, gitOid } from './fake_hub.mjs';
import { freePort, goldenDir, prerequisites, tokenizerDir, yunBin } from './helpers.mjs';

const skip = prerequisites();

describe('yun pull', { skip }, () => {
  let srv, home, endpoint;
  const yun = (args, env = {}) => new Promise((resolve) => {
    const p = spawn(yunBin, args, { env: { ...process.env, HF_HOME: home, HF_HUB_CACHE: '',
      HF_TOKEN: '', HF_HUB_OFFLINE: '', HF_ENDPOINT: endpoint, ...env } });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve({ code, out, err }));
  });
  const cache = () => path.join(home, 'hub');
  const repoDir = (id) => path.join(cache(), `models--${id.replace('/', '--')}`);

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-pull-'));
    const hubPort = await freePort();
    const cdnPort = await freePort();
    srv = await startHub(hubPort, cdnPort);
    endpoint = `http://127.0.0.1:${hubPort}`;
  });
  after(() => {
    srv.hub.close();
    srv.cdn.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('pulls into the huggingface_hub layout, resuming a cut download with Range', async () => {
    const r = await yun(['pull', 'yun-test/qwen3-e2e'], { HF_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.err);
    const { commit } = srv.repos['yun-test/qwen3-e2e'];
    assert.match(r.out, new RegExp(`pulled yun-test/qwen3-e2e@${commit}`));
    const dir = repoDir('yun-test/qwen3-e2e');
    assert.equal(fs.readFileSync(path.join(dir, 'refs', 'main'), 'utf8'), commit);
    const snap = path.join(dir, 'snapshots', commit);
    const want = ['README.md', 'config.json', 'generation_config.json', 'model.safetensors',
      'tokenizer.json', 'tokenizer_config.json'];
    assert.deepEqual(fs.readdirSync(snap).sort(), want.sort());
    for (const f of want) {
      const body = srv.files[f];
      const etag = srv.lfs.has(f) ? sha256(body) : gitOid(body);
      assert.equal(fs.readlinkSync(path.join(snap, f)), `../../blobs/${etag}`, f);
      assert.ok(fs.readFileSync(path.join(snap, f)).equals(body), f);
    }
    assert.equal(fs.readdirSync(path.join(dir, 'blobs')).length, want.length);  // no .incomplete left
    const cdnModel = srv.log.filter((e) => e.server === 'cdn' &&
      e.path.endsWith(sha256(srv.files['model.safetensors'])) && e.method === 'GET');
    assert.ok(cdnModel.length >= 2, 'the cut download was retried');
    assert.match(cdnModel.at(-1).range ?? '', /^bytes=\d+-$/, 'the retry resumed with Range');
    assert.ok(Number(/\d+/.exec(cdnModel.at(-1).range)[0]) > 0);
    assert.ok(srv.log.filter((e) => e.server === 'hub').every((e) => e.auth === `Bearer ${TOKEN}`));
    assert.ok(srv.log.filter((e) => e.server === 'cdn').every((e) => !e.auth), 'no token reaches the CDN');
  });

  test('yun list shows it and yun run generates the golden ids from it', async () => {
    const l = await yun(['list']);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /yun-test\/qwen3-e2e/);
    const expected = readI32Tensors(path.join(goldenDir('qwen3-e2e'), 'expected.safetensors'));
    const args = ['--prompt-ids', expected['p0.ids'].join(','), '-n', '20', '--temperature', '0',
      '--ignore-eos', '--json', '--threads', '2'];
    const fromRepo = await yun(['run', '--model', 'yun-test/qwen3-e2e', ...args]);
    assert.equal(fromRepo.code, 0, fromRepo.err);
    const fromDir = await yun(['run', '--model', goldenDirWithTokenizer(), ...args]);
    assert.equal(fromDir.code, 0, fromDir.err);
    const a = JSON.parse(fromRepo.out.trim()), b = JSON.parse(fromDir.out.trim());
    assert.deepEqual(a.output_ids, expected['p0.greedy_ids']);
    assert.deepEqual(a.output_ids, b.output_ids);
  });

  test('yun run and yun serve pull a missing repo first; --offline forbids it', async () => {
    const expected = readI32Tensors(path.join(goldenDir('qwen3-e2e'), 'expected.safetensors'));
    const args = ['--prompt-ids', expected['p0.ids'].join(','), '-n', '20', '--temperature', '0',
      '--ignore-eos', '--json', '--threads', '2'];
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-pull-run-'));
    try {
      const offline = await yun(['run', '--model', 'yun-test/qwen3-e2e', '--offline', ...args], { HF_HOME: other });
      assert.equal(offline.code, 2, offline.err);
      assert.match(offline.err, /yun pull/);
      const envOffline = await yun(['run', '--model', 'yun-test/qwen3-e2e', ...args], { HF_HOME: other, HF_HUB_OFFLINE: '1' });
      assert.equal(envOffline.code, 2, envOffline.err);
      const r = await yun(['run', '--model', 'yun-test/qwen3-e2e', ...args], { HF_HOME: other });
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /not in the Hugging Face cache; pulling it/);
      assert.deepEqual(JSON.parse(r.out.trim()).output_ids, expected['p0.greedy_ids']);
      assert.ok(fs.existsSync(path.join(other, 'hub', 'models--yun-test--qwen3-e2e', 'refs', 'main')));
      // Cached now: no second download, no pull message.
      const again = await yun(['run', '--model', 'yun-test/qwen3-e2e', ...args], { HF_HOME: other });
      assert.equal(again.code, 0, again.err);
      assert.doesNotMatch(again.err, /pulling/);
      // A repo the hub does not have: run fails with pull's error, exit 2.
      const missing = await yun(['run', '--model', 'yun-test/nope', ...args], { HF_HOME: other });
      assert.equal(missing.code, 2, missing.err);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('a second pull downloads nothing', async () => {
    const before = srv.log.filter((e) => e.server === 'cdn').length;
    const r = await yun(['pull', 'yun-test/qwen3-e2e']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /0 B downloaded/);
    assert.equal(srv.log.filter((e) => e.server === 'cdn').length, before);
    const { commit } = srv.repos['yun-test/qwen3-e2e'];
    const pinned = await yun(['pull', `yun-test/qwen3-e2e@${commit}`]);
    assert.equal(pinned.code, 0, pinned.err);
    assert.deepEqual(fs.readdirSync(path.join(repoDir('yun-test/qwen3-e2e'), 'refs')), ['main']);
    const show = await yun(['show', `yun-test/qwen3-e2e@${commit}`]);
    assert.equal(show.code, 0, show.err);
  });

  test('a partial download left by an earlier run is resumed with Range', async () => {
    const body = srv.files['model.safetensors'];
    const blobs = path.join(repoDir('yun-test/resume'), 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    const half = body.length >> 1;
    fs.writeFileSync(path.join(blobs, `${sha256(body)}.incomplete`), body.subarray(0, half));
    const r = await yun(['pull', 'yun-test/resume']);
    assert.equal(r.code, 0, r.err);
    const gets = srv.log.filter((e) => e.server === 'cdn' && e.path === `/yun-test/resume/${sha256(body)}`);
    assert.deepEqual(gets.map((e) => e.range), [`bytes=${half}-`]);
    const { commit } = srv.repos['yun-test/resume'];
    assert.ok(fs.readFileSync(path.join(repoDir('yun-test/resume'), 'snapshots', commit,
      'model.safetensors')).equals(body));
  });

  test('two pulls of one repo at once both succeed (blob locks)', async () => {
    const [a, b] = await Promise.all([yun(['pull', 'yun-test/twice']), yun(['pull', 'yun-test/twice'])]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    const { commit } = srv.repos['yun-test/twice'];
    const snap = path.join(repoDir('yun-test/twice'), 'snapshots', commit);
    for (const f of ['model.safetensors', 'tokenizer.json', 'config.json'])
      assert.ok(fs.readFileSync(path.join(snap, f)).equals(srv.files[f]), f);
    assert.ok(!fs.readdirSync(path.join(repoDir('yun-test/twice'), 'blobs')).some((n) => n.endsWith('.incomplete')));
    assert.ok(fs.existsSync(path.join(cache(), '.locks', 'models--yun-test--twice')));
  });

  test('a sharded repo gets only the shards its index names', async () => {
    const r = await yun(['pull', 'yun-test/sharded']);
    assert.equal(r.code, 0, r.err);
    const { commit } = srv.repos['yun-test/sharded'];
    const files = fs.readdirSync(path.join(repoDir('yun-test/sharded'), 'snapshots', commit)).sort();
    assert.ok(files.includes('model.safetensors.index.json'), files.join(','));
    assert.ok(files.includes('model.safetensors'));
    assert.ok(!files.includes('consolidated.safetensors'));
  });

  test('yun rm removes a pulled repo; the lock files are not models', async () => {
    const l = await yun(['list', '--json']);
    assert.equal(l.code, 0, l.err);
    assert.ok(!l.out.includes('.locks'));
    const r = await yun(['rm', 'yun-test/twice']);
    assert.equal(r.code, 0, r.err);
    assert.ok(!fs.existsSync(repoDir('yun-test/twice')));
  });

  test('a gated repo needs HF_TOKEN', async () => {
    const r = await yun(['pull', 'yun-test/gated']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^yun: pull: .*access denied \(HTTP 401\).*HF_TOKEN/);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.ok(!fs.existsSync(path.join(repoDir('yun-test/gated'), 'refs', 'main')));
    const ok = await yun(['pull', 'yun-test/gated'], { HF_TOKEN: TOKEN });
    assert.equal(ok.code, 0, ok.err);
    assert.ok(fs.existsSync(path.join(repoDir('yun-test/gated'), 'refs', 'main')));
  });

  test('a checksum mismatch fails and keeps no blob', async () => {
    const r = await yun(['pull', 'yun-test/corrupt']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^yun: pull: yun-test\/corrupt model\.safetensors: checksum mismatch/m);
    assert.equal(r.err.trim().split('\n').filter((l) => l.startsWith('yun:')).length, 1);
    const blobs = path.join(repoDir('yun-test/corrupt'), 'blobs');
    const left = fs.existsSync(blobs) ? fs.readdirSync(blobs) : [];
    assert.ok(!left.some((b) => b.startsWith(sha256(srv.files['model.safetensors']))), left.join(','));
    assert.ok(!fs.existsSync(path.join(repoDir('yun-test/corrupt'), 'refs', 'main')));
    const run = await yun(['run', '--model', 'yun-test/corrupt', '--prompt-ids', '1', '-n', '1']);
    assert.equal(run.code, 2);
  });

  test('bad input exits 2, an unreachable hub exits 1', async () => {
    for (const [args, re] of [
      [['pull', '../etc'], /not a Hugging Face repo id/],
      [['pull', 'yun-test/missing'], /was not found/],
      [['pull', 'yun-test/qwen3-e2e@nope'], /RevisionNotFound/],
      [['pull'], /give one REPO/],
    ]) {
      const r = await yun(args);
      assert.equal(r.code, 2, `${args}: ${r.err}`);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
    const off = await yun(['pull', 'yun-test/qwen3-e2e'], { HF_HUB_OFFLINE: '1' });
    assert.equal(off.code, 2);
    const notDir = path.join(home, 'a-file');
    fs.writeFileSync(notDir, 'x');
    const disk = await yun(['pull', 'yun-test/qwen3-e2e'], { HF_HUB_CACHE: path.join(notDir, 'hub') });
    assert.equal(disk.code, 1, disk.err);
    assert.match(disk.err, /^yun: pull: cannot create /);
    assert.equal(disk.err.trim().split('\n').length, 1, disk.err);
    const port = await freePort();
    const down = await yun(['pull', 'yun-test/qwen3-e2e'], { HF_ENDPOINT: `http://127.0.0.1:${port}` });
    assert.equal(down.code, 1, down.err);
    assert.match(down.err, /^yun: pull: /);
  });
});

// The I32 tensors of a safetensors file, by name (the golden expected ids).
function readI32Tensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'I32') continue;
    const [b, e] = t.data_offsets;
    const data = buf.subarray(8 + n + b, 8 + n + e);
    out[name] = Array.from({ length: (e - b) / 4 }, (_, i) => data.readInt32LE(4 * i));
  }
  return out;
}

// The golden model beside the tokenizer, as a plain directory.
function goldenDirWithTokenizer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-pull-dir-'));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors'])
    fs.symlinkSync(path.join(goldenDir('qwen3-e2e'), f), path.join(dir, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    fs.symlinkSync(path.join(tokenizerDir, f), path.join(dir, f));
  return dir;
}
