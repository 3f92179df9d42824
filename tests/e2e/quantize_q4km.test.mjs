// End-to-end: `yun quantize --type q4_k_m` and `yun run --quantize q4_k` on
// the golden qwen3-e2e model (hidden 32: every matrix takes the Q4_K_M
// fallbacks, Q5_0 / Q8_0):
//   - the file runs with `yun run FILE.gguf`, and gives the same greedy ids
//     as re-encoding at load with --quantize q4_k (one scheme, two doors);
//   - bad --type / --quantize values are a one-line error and exit code 2.
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

function greedy(modelPath, ...extra) {
  const r = yun('run', '--model', modelPath, '--prompt-ids', '1,2,3,4,5', '-n', '8',
    '--temperature', '0', '--ignore-eos', '--json', '--threads', '2', ...extra);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out.trim());
}

describe('yun quantize --type q4_k_m', { skip }, () => {
  test('the file and --quantize q4_k at load give the same greedy ids', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-q4km-'));
    const out = path.join(dir, 'm.gguf');
    try {
      const q = yun('quantize', model, out, '--type', 'q4_k_m');
      assert.equal(q.code, 0, q.err);
      assert.match(q.err, /Q4_K_M/);
      const fromFile = greedy(out);
      const atLoad = greedy(model, '--quantize', 'q4_k');
      assert.deepEqual(fromFile, atLoad);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad types are a one-line error, exit 2', () => {
    const q = yun('quantize', model, path.join(os.tmpdir(), 'never.gguf'), '--type', 'q4_k_s');
    assert.equal(q.code, 2);
    assert.match(q.err, /--type must be/);
    assert.equal(q.err.trim().split('\n').length, 1);
    const r = yun('run', '--model', model, '--prompt-ids', '1', '-n', '1', '--quantize', 'q3_k');
    assert.equal(r.code, 2);
    assert.match(r.err, /--quantize/);
    assert.equal(r.err.trim().split('\n').length, 1);
  });
});
