// Time from process start to /health/ready 200 for `yun serve`, measured from
// outside (spawn to the first 200, polling every 5 ms) and as yun logs it
// (its /proc start time to the moment it turned ready). The median of N runs.
// Usage: node deploy/measure-ready.mjs MODEL_DIR [N=5] [yun serve flags...]
//   (YUN_BIN: the binary, default build/yun). Read the weights once first
//   (cat MODEL_DIR/*.safetensors > /dev/null) to measure with them in the page cache.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [model, nArg, ...flags] = process.argv.slice(2);
if (!model) { console.error('usage: node deploy/measure-ready.mjs MODEL_DIR [N] [flags...]'); process.exit(2); }
const n = Number(nArg || 5);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.YUN_BIN || path.join(root, 'build', 'yun');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const outside = [];
const live = [];  // first /health 200: the model loaded, the HTTP server up
const inside = [];
for (let i = 0; i < n; ++i) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const p = spawn(bin, ['serve', model, '--port', String(port), ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => p.on('exit', r));
  let up = false;
  for (;;) {
    if (p.exitCode !== null) throw new Error(`yun exited:\n${log}`);
    const r = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null);
    if (!up && r) { up = true; live.push(Number(process.hrtime.bigint() - t0) / 1e6); }
    if (r?.status === 200) break;
    await sleep(5);
  }
  outside.push(Number(process.hrtime.bigint() - t0) / 1e6);
  p.kill('SIGTERM');
  await exited;  // its log is complete
  const m = log.match(/ready \(\/health\/ready 200\) ([\d.]+) s after process start/);
  if (m) inside.push(Number(m[1]) * 1000);
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log(`runs: ${outside.map((x) => x.toFixed(0)).join(', ')} ms (outside)`);
console.log(`median start -> /health/ready: ${median(outside).toFixed(0)} ms (outside), ` +
  `${inside.length ? median(inside).toFixed(0) : '?'} ms (as yun logs it); ` +
  `HTTP up (model loaded): ${median(live).toFixed(0)} ms`);
