#!/usr/bin/env node
// The model catalogue's two numbers (issue 16), against one running `yun
// serve` with models A (loaded) and B (bench/model_swap.sh starts it):
//
//  cold: time from a request for B, not loaded (weights in the page cache),
//    to its first streamed token. Each trial first unloads B (Ollama's
//    keep_alive 0 request), then sends a streaming completion for B.
//  swap: A's streaming decode rate while B loads, against A alone, in one
//    run: rounds alternate the order (alone, load, alone / load, alone,
//    alone). In a "load" stream, after A's 4th token, B is loaded (Ollama's
//    load request) and unloaded --cycles times back to back, ending loaded;
//    the rate is A's tokens (interpolated between arrivals) over that span.
//    An "alone" stream is measured over a span as long after its 4th token,
//    with B unloaded. Ratios: load / alone of the same round, and alone /
//    alone (A/A: the noise floor).
//
// Usage: node bench/model_swap.mjs --url URL --a A --b B [--trials 7] [--rounds 7]
//          [--tokens 32] [--cycles 40] [--json]
import http from 'node:http';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8000' },
    a: { type: 'string', default: 'a' },
    b: { type: 'string', default: 'b' },
    trials: { type: 'string', default: '7' },
    rounds: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '32' },
    cycles: { type: 'string', default: '40' },
    json: { type: 'boolean', default: false },
  },
});
const target = new URL(opt.url);
const agent = new http.Agent({ keepAlive: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(path, body, onChunk) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: target.hostname, port: target.port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; if (onChunk) onChunk(d); });
      res.on('end', () => (res.statusCode === 200 ? resolve(text)
        : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function status(model) {
  const r = await fetch(`${opt.url}/v1/models`);
  return (await r.json()).data.find((m) => m.id === model)?.status;
}

async function unload(model) {
  await post('/api/generate', { model, keep_alive: 0 });
  while ((await status(model)) !== 'unloaded') await sleep(20);
}

const load = (model) => post('/api/generate', { model, keep_alive: -1 });

// A streaming completion; `times` gets each token's arrival (ms).
function stream(model, maxTokens, onToken) {
  const times = [];
  let buf = '';
  const done = post('/v1/completions', {
    model, prompt: [9707, 11, 1879, 0], max_tokens: maxTokens, temperature: 0, ignore_eos: true,
    stream: true,
  }, (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.choices?.[0]?.text === undefined) continue;
      times.push(performance.now());
      if (onToken) onToken(times.length, times);
    }
  });
  return { times, done };
}

// Tokens per second over [s, s + w]: the token count, linear between arrivals.
function rate(times, s, w) {
  const count = (t) => {
    if (t <= times[0]) return 0;
    for (let k = 1; k < times.length; ++k) {
      if (t <= times[k]) return k - 1 + (t - times[k - 1]) / (times[k] - times[k - 1]);
    }
    return times.length - 1;
  };
  if (s + w > times.at(-1)) throw new Error('the stream ended before the window: raise --tokens');
  return ((count(s + w) - count(s)) / w) * 1000;
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const range = (xs) => [Math.min(...xs), Math.max(...xs)];

async function cold() {
  const out = [];
  // Trial 0 warms the page cache (and is not counted).
  for (let t = 0; t <= Number(opt.trials); ++t) {
    await unload(opt.b);
    const t0 = performance.now();
    const s = stream(opt.b, 1);
    await s.done;
    if (t > 0) out.push(s.times[0] - t0);
  }
  return out;
}

// B loaded and unloaded `cycles` times, ending loaded; resolves at the end.
async function swapCycles(cycles) {
  for (let i = 0; i < cycles; ++i) {
    if (i > 0) await unload(opt.b);
    await load(opt.b);
  }
  return performance.now();
}

// One stream of A, measured over `window` ms after its 4th token; with
// `withLoad` B's load cycles start then and the window is their span.
async function measure(withLoad, window) {
  await unload(opt.b);
  let loadDone = null;
  let start = 0;
  const s = stream(opt.a, Number(opt.tokens), (n, times) => {
    if (n !== 4) return;
    start = times[3];
    if (withLoad) loadDone = swapCycles(Number(opt.cycles));
  });
  await s.done;
  let w = window;
  if (withLoad) w = (await loadDone) - start;
  return { rate: rate(s.times, start, w), window: w };
}

async function swap() {
  const rounds = [];
  await load(opt.b);  // page cache warm
  let window = (await measure(true, 0)).window;  // a first span for the alone streams
  for (let r = 0; r < Number(opt.rounds); ++r) {
    let alone1, withLoad, alone2;
    if (r % 2 === 0) {
      alone1 = await measure(false, window);
      withLoad = await measure(true, 0);
      alone2 = await measure(false, withLoad.window);
    } else {
      withLoad = await measure(true, 0);
      alone1 = await measure(false, withLoad.window);
      alone2 = await measure(false, withLoad.window);
    }
    window = withLoad.window;
    rounds.push({ alone: alone1.rate, load: withLoad.rate, alone2: alone2.rate, window_ms: window,
      ratio: withLoad.rate / alone1.rate, aa: alone2.rate / alone1.rate });
  }
  return rounds;
}

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const la0 = loadavg();
const c = await cold();
const rounds = await swap();
const result = {
  cold_first_token_ms: { median: median(c), range: range(c), trials: c },
  swap_ratio: { median: median(rounds.map((r) => r.ratio)), range: range(rounds.map((r) => r.ratio)) },
  aa_ratio: { median: median(rounds.map((r) => r.aa)), range: range(rounds.map((r) => r.aa)) },
  alone_tok_s: median(rounds.map((r) => r.alone)),
  load_window_ms: median(rounds.map((r) => r.window_ms)),
  rounds,
  loadavg: { start: la0, end: loadavg() },
};
if (opt.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (x) => x.toFixed(3);
  console.log(`cold first token (B not loaded, page cache warm): median ${c.length ? median(c).toFixed(0) : '-'} ms, ` +
    `range ${range(c).map((x) => x.toFixed(0)).join('-')} ms (${c.length} trials)`);
  for (const r of rounds) {
    console.log(`  round: alone ${r.alone.toFixed(1)} tok/s, while B loads ${r.load.toFixed(1)} tok/s ` +
      `(${opt.cycles} loads in ${r.window_ms.toFixed(0)} ms), ratio ${f(r.ratio)}, A/A ${f(r.aa)}`);
  }
  console.log(`A's throughput while B loads / alone: median ${f(result.swap_ratio.median)}, ` +
    `range ${result.swap_ratio.range.map(f).join('-')}; A/A ${f(result.aa_ratio.median)} ` +
    `(${result.aa_ratio.range.map(f).join('-')}); load average ${la0} -> ${result.loadavg.end}`);
}
agent.destroy();
