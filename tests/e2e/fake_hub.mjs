// A local imitation of the Hugging Face hub and its CDN for the tests (no
// network reaches CI), serving repos made of the golden qwen3-e2e model and
// the real Qwen3 tokenizer. Used by pull.test.mjs (`yun pull`) and
// ollama.test.mjs (/api/pull); see pull.test.mjs's header for what each repo
// exercises.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { goldenDir, tokenizerDir } from './helpers.mjs';

export const TOKEN = 'hf_test_secret_token';
export const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
export const gitOid = (b) => crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export function repoFiles() {
  const g = goldenDir('qwen3-e2e');
  const files = {
    'config.json': fs.readFileSync(path.join(g, 'config.json')),
    'generation_config.json': fs.readFileSync(path.join(g, 'generation_config.json')),
    'model.safetensors': fs.readFileSync(path.join(g, 'model.safetensors')),
    'tokenizer.json': fs.readFileSync(path.join(tokenizerDir, 'tokenizer.json')),
    'tokenizer_config.json': fs.readFileSync(path.join(tokenizerDir, 'tokenizer_config.json')),
    'README.md': Buffer.from('# qwen3-e2e\nA tiny test model.\n'),
    'expected.json': fs.readFileSync(path.join(g, 'expected.json')),  // not needed to serve
    'original/consolidated.pth': Buffer.from('not downloaded'),
  };
  const lfs = new Set(['model.safetensors', 'tokenizer.json', 'original/consolidated.pth']);
  return { files, lfs };
}

// The imitation hub and its CDN. `log` records every request.
export function startHub(hubPort, cdnPort) {
  const { files, lfs } = repoFiles();
  const repos = {
    'yun-test/qwen3-e2e': { commit: sha256('commit-1').slice(0, 40), cutOnce: 'model.safetensors' },
    'yun-test/gated': { commit: sha256('commit-2').slice(0, 40), gated: true },
    'yun-test/corrupt': { commit: sha256('commit-3').slice(0, 40), corrupt: 'model.safetensors' },
    'yun-test/resume': { commit: sha256('commit-4').slice(0, 40) },
    'yun-test/twice': { commit: sha256('commit-5').slice(0, 40) },
    'yun-test/sharded': { commit: sha256('commit-6').slice(0, 40), extra: {
      'model.safetensors.index.json': Buffer.from(JSON.stringify({ metadata: {},
        weight_map: { 'model.embed_tokens.weight': 'model.safetensors' } })),
      'consolidated.safetensors': Buffer.from('the same weights, another layout') } },
  };
  const filesOf = (repo) => ({ ...files, ...(repo.extra ?? {}) });
  lfs.add('consolidated.safetensors');
  const bySha = new Map();  // REPO|sha256 -> file
  for (const [id, repo] of Object.entries(repos))
    for (const [f, body] of Object.entries(filesOf(repo))) if (lfs.has(f)) bySha.set(`${id}|${sha256(body)}`, f);
  const log = [];
  const cutDone = new Set();

  function sendBody(req, res, body, headers) {
    const range = req.headers.range && /^bytes=(\d+)-$/.exec(req.headers.range);
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { ...headers, 'Content-Length': body.length - start,
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  }

  const hub = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    log.push({ server: 'hub', method: req.method, path: url.pathname, auth: req.headers.authorization,
      range: req.headers.range });
    const err = (status, code) => { res.writeHead(status, { 'X-Error-Code': code }); res.end(code); };
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]];
      if (!repo) return err(404, 'RepositoryNotFound');
      if (decodeURIComponent(m[2]) !== 'main' && decodeURIComponent(m[2]) !== repo.commit) {
        return err(404, 'RevisionNotFound');
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ id: m[1], sha: repo.commit, gated: repo.gated ? 'manual' : false,
        siblings: Object.keys(filesOf(repo)).map((rfilename) => ({ rfilename })) }));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m || !repos[m[1]]) return err(404, 'RepositoryNotFound');
    const repo = repos[m[1]];
    const file = decodeURIComponent(m[3]);
    if (repo.gated && req.headers.authorization !== `Bearer ${TOKEN}`) return err(401, 'GatedRepo');
    if (m[2] !== repo.commit && m[2] !== 'main') return err(404, 'RevisionNotFound');
    if (!(file in filesOf(repo))) return err(404, 'EntryNotFound');
    const body = filesOf(repo)[file];
    const common = { 'X-Repo-Commit': repo.commit };
    if (lfs.has(file)) {
      res.writeHead(302, { ...common, Location: `http://127.0.0.1:${cdnPort}/${m[1]}/${sha256(body)}`,
        'X-Linked-Etag': `"${sha256(body)}"`, 'X-Linked-Size': String(body.length),
        ETag: `"${gitOid(Buffer.from('lfs pointer ' + file))}"` });
      return res.end();
    }
    sendBody(req, res, body, { ...common, ETag: `"${gitOid(body)}"` });
  });

  const cdn = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    log.push({ server: 'cdn', method: req.method, path: url.pathname, auth: req.headers.authorization,
      range: req.headers.range });
    const m = /^\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m && bySha.get(`${m[1]}|${m[2]}`);
    if (!file) { res.writeHead(404); return res.end(); }
    const repo = repos[m[1]];
    let body = filesOf(repo)[file];
    if (repo.corrupt === file) { body = Buffer.from(body); body[body.length >> 1] ^= 0xff; }
    if (repo.cutOnce === file && !req.headers.range && !cutDone.has(m[1])) {
      cutDone.add(m[1]);  // half the file, then the connection drops
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    sendBody(req, res, body, {});
  });
  return new Promise((resolve) => hub.listen(hubPort, '127.0.0.1', () => cdn.listen(cdnPort, '127.0.0.1',
    () => resolve({ hub, cdn, log, repos, files, lfs }))));
}

