// End-to-end tests of the `yun run` command line (the process, its stdout,
// stderr and exit code), on the golden qwen3-e2e model:
//   - `yun run --prompt-ids <p0> -n 20 --temperature 0 --ignore-eos --json`
//     prints the transformers reference greedy ids (issue: CPU model);
//   - --prompts-file runs every line and prints results in input order;
//   - --dtype bfloat16 runs (opt-in bf16 activations) and --dtype float32 is
//     the default, bit for bit;
//   - bad input gives a one-line error and exit code 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { goldenDir, yunBin } from './helpers.mjs';

const skip = !fs.existsSync(yunBin) && `no yun binary at ${yunBin}`;
const model = goldenDir('qwen3-e2e');

function yun(...args) {
  const r = spawnSync(yunBin, args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

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

const expected = readI32Tensors(path.join(model, 'expected.safetensors'));

function runJson(ids, ...extra) {
  const r = yun('run', '--model', model, '--prompt-ids', ids.join(','), '-n', '20',
    '--temperature', '0', '--ignore-eos', '--json', '--threads', '2', ...extra);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out.trim());
}

describe('yun run', { skip }, () => {
  test('greedy ids equal the transformers reference', () => {
    for (const j of [0, 1, 4]) {
      const ids = expected[`p${j}.ids`];
      const res = runJson(ids);
      assert.deepEqual(res.prompt_ids, ids);
      assert.deepEqual(res.output_ids, expected[`p${j}.greedy_ids`], `prompt ${j}`);
      assert.equal(res.finish_reason, 'length');
    }
    // --no-mmap reads the same weights into memory: the same tokens.
    assert.deepEqual(runJson(expected['p1.ids'], '--no-mmap').output_ids,
      expected['p1.greedy_ids']);
    // A penalty given explicitly still applies at temperature 0.
    const pen = runJson(expected['p0.ids'], '--repetition-penalty', '1.3');
    assert.notDeepEqual(pen.output_ids, expected['p0.greedy_ids']);
  });

  test('--dtype float32 is the default; bfloat16 runs and stays close', () => {
    const ids = expected['p5.ids'];
    const dflt = runJson(ids);
    assert.deepEqual(runJson(ids, '--dtype', 'float32'), dflt);
    const bf16 = runJson(ids, '--dtype', 'bfloat16');
    assert.equal(bf16.output_ids.length, 20);
    // Rounded activations may change near-tied later tokens, not the first.
    assert.equal(bf16.output_ids[0], dflt.output_ids[0]);
  });

  test('--prompts-file: every line, in input order, duplicates identical', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-cli-'));
    const file = path.join(dir, 'requests.jsonl');
    const p0 = expected['p0.ids'], p1 = expected['p1.ids'];
    fs.writeFileSync(file, [
      { prompt_ids: p1, max_tokens: 5, ignore_eos: true, temperature: 0 },
      { prompt_ids: p0, max_tokens: 20, ignore_eos: true, temperature: 0 },
      { prompt_ids: p1, max_tokens: 5, ignore_eos: true, temperature: 0 },
    ].map((o) => JSON.stringify(o)).join('\n') + '\n');
    const r = yun('run', '--model', model, '--prompts-file', file, '--json', '--threads', '2');
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => x.index), [0, 1, 2]);
    assert.deepEqual(rows[1].output_ids, expected['p0.greedy_ids']);
    assert.deepEqual(rows[0].output_ids, rows[2].output_ids);
    assert.equal(rows[0].output_ids.length, 5);
    fs.rmSync(dir, { recursive: true });
  });

  test('bad input: one line on stderr, exit code 2', () => {
    const cases = [
      ['run', '--model', '/nonexistent/model', '--prompt-ids', '1'],
      ['run', '--model', model, '--prompt-ids', '1', '--dtype', 'float8'],
      ['run', '--model', model, '--prompt-ids', '1', '--threads', '-3'],
      ['run', '--model', model, '--prompt-ids', '1,x'],
      ['run', '--model', model, '--prompt-ids', '99999999'],
      ['run', '--model', model, '--prompts-file', '/nonexistent.jsonl'],
    ];
    for (const args of cases) {
      const r = yun(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.err}`);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(lines[0], /\S/);
    }
    assert.match(yun('run', '--model', model, '--prompt-ids', '1', '--dtype', 'float8').err,
      /--dtype/);
  });

  test('--help explains the command and exits 0', () => {
    const r = yun('run', '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /--prompt-ids/);
    assert.match(r.out, /--dtype float32\|bfloat16/);
  });
});
