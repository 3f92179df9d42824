#!/usr/bin/env node
// Load generator for `yun serve` (or any OpenAI-compatible server): C
// concurrent streaming clients send N chat requests in all and report
// throughput, TTFT and inter-token latency percentiles.
//
// Usage: node bench/serve_load.mjs --url http://127.0.0.1:8000 [--model NAME]
//          [--requests 200] [--concurrency 32] [--max-tokens 128] [--prompt TEXT]
//          [--api-key KEY] [--temperature T] [--sampling JSON] [--json]
// --sampling merges more request fields, e.g. '{"repetition_penalty":1}' to
// override the model's generation_config.json defaults.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8000' },
    model: { type: 'string' },
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    'max-tokens': { type: 'string', default: '128' },
    prompt: { type: 'string', default: 'Write a short story about a robot learning to paint.' },
    'api-key': { type: 'string' },
    temperature: { type: 'string' },
    sampling: { type: 'string', default: '{}' },
    json: { type: 'boolean', default: false },
  },
});

const headers = { 'content-type': 'application/json' };
if (opt['api-key']) headers.authorization = `Bearer ${opt['api-key']}`;
const total = Number(opt.requests);
const concurrency = Number(opt.concurrency);
const maxTokens = Number(opt['max-tokens']);

async function model() {
  if (opt.model) return opt.model;
  const r = await fetch(`${opt.url}/v1/models`, { headers });
  return (await r.json()).data[0].id;
}

// node:http with a keep-alive agent rather than fetch: the load generator
// shares the machine with the server, and undici's web streams cost several
// times more CPU per SSE chunk.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const target = new URL(opt.url);

function post(path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname, port: target.port || 80, path, method: 'POST', agent,
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function one(name, i) {
  const t0 = performance.now();
  const body = JSON.stringify({
    model: name, messages: [{ role: 'user', content: `${opt.prompt} (#${i})` }],
    max_tokens: maxTokens, ignore_eos: true, stream: true,
    ...(opt.temperature !== undefined ? { temperature: Number(opt.temperature) } : {}),
    stream_options: { include_usage: true },
    ...JSON.parse(opt.sampling),
  });
  const res = await post('/v1/chat/completions', body);
  if (res.statusCode !== 200) {
    res.resume();
    return { ok: false, status: res.statusCode };
  }
  res.setEncoding('utf8');
  let buf = '';
  let first = 0;
  let last = 0;
  const gaps = [];
  let usage = null;
  for await (const piece of res) {
    buf += piece;
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const ev = JSON.parse(line.slice(6));
      if (ev.usage) usage = ev.usage;
      if (ev.choices?.[0]?.delta?.content) {
        const now = performance.now();
        if (!first) first = now; else gaps.push(now - last);
        last = now;
      }
    }
  }
  return { ok: true, ttft: (first || performance.now()) - t0, e2e: performance.now() - t0, gaps,
    tokens: usage?.completion_tokens ?? 0, prompt: usage?.prompt_tokens ?? 0 };
}

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const name = await model();
const results = [];
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < total) results.push(await one(name, next++));
}));
const secs = (performance.now() - t0) / 1000;
const ok = results.filter((r) => r.ok);
const tokens = ok.reduce((a, r) => a + r.tokens, 0);
const ttft = ok.map((r) => r.ttft);
const itl = ok.flatMap((r) => r.gaps);
const report = {
  model: name, requests: total, ok: ok.length, failed: results.length - ok.length,
  concurrency, seconds: +secs.toFixed(3), output_tokens: tokens,
  output_tok_per_s: +(tokens / secs).toFixed(1), req_per_s: +(ok.length / secs).toFixed(2),
  ttft_ms: { p50: pct(ttft, 50), p90: pct(ttft, 90), p99: pct(ttft, 99) },
  itl_ms: { p50: pct(itl, 50), p90: pct(itl, 90), p99: pct(itl, 99) },
  // CPU time this client used (user + system), to tell its share of a
  // machine it shares with the server.
  client_cpu_s: (() => { const u = process.cpuUsage(); return +((u.user + u.system) / 1e6).toFixed(3); })(),
};
if (opt.json) {
  console.log(JSON.stringify(report));
} else {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  console.log(`${report.ok}/${total} ok in ${report.seconds} s, concurrency ${concurrency}`);
  console.log(`output: ${tokens} tokens, ${report.output_tok_per_s} tok/s, ${report.req_per_s} req/s`);
  console.log(`TTFT ms p50 ${f(report.ttft_ms.p50)} p90 ${f(report.ttft_ms.p90)} p99 ${f(report.ttft_ms.p99)}`);
  console.log(`ITL  ms p50 ${f(report.itl_ms.p50)} p90 ${f(report.itl_ms.p90)} p99 ${f(report.itl_ms.p99)}`);
}
