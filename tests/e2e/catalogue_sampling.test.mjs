// The front doors agree (issue 16, part 0): for a table of sampling cases, on
// the golden qwen3-e2e model (whose generation_config.json says temperature
// 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05),
//   - `yun run` with flags,
//   - `yun run --prompts-file` with the same fields on a JSON line, and
//   - `yun serve`'s /v1/completions with the same body
// produce the same tokens, because all three resolve their parameters by the
// one rule of src/yun/engine/sampling_defaults.h (seeded sampling is
// reproducible in any batch). Temperature 0 without a penalty of its own is
// the raw argmax in both run and serve: the transformers reference ids.
// Run: node --test tests/e2e/catalogue_sampling.test.mjs (needs build/yun, npm ci)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expectedJson, postJson, prerequisites, startServer, yunBin } from './helpers.mjs';

const skip = prerequisites();

// [name, request fields, the same as `yun run` flags]
const cases = [
  ['greedy', { temperature: 0 }, ['--temperature', '0']],
  ['greedy with its own penalty', { temperature: 0, repetition_penalty: 1.3 },
    ['--temperature', '0', '--repetition-penalty', '1.3']],
  ['the model defaults, seeded', { seed: 7 }, ['--seed', '7']],
  ['temperature and top_k over the defaults', { temperature: 1.2, top_k: 5, seed: 3 },
    ['--temperature', '1.2', '--top-k', '5', '--seed', '3']],
  ['top_p and min_p', { top_p: 0.5, min_p: 0.05, seed: 11 },
    ['--top-p', '0.5', '--min-p', '0.05', '--seed', '11']],
];
const common = { max_tokens: 12, ignore_eos: true };

function yun(...args) {
  const r = spawnSync(yunBin, args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('sampling: run, prompts-file and serve agree', { skip }, () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('the same tokens through the three doors', async () => {
    const p = expectedJson().prompts[0];
    const viaServe = [];
    for (const [, fields] of cases) {
      const r = await postJson(`${server.baseURL}/completions`,
        { prompt: p.prompt_text, ...common, ...fields });
      assert.equal(r.status, 200, r.text);
      viaServe.push(r.json.choices[0].text);
    }
    const viaRun = cases.map(([, , flags]) => {
      const r = yun('run', '--model', server.modelDir, p.prompt_text, '-n', '12', '--ignore-eos',
        '--json', '--threads', '2', ...flags);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out.trim()).text;
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-doors-'));
    const file = path.join(dir, 'requests.jsonl');
    fs.writeFileSync(file, cases.map(([, fields]) =>
      JSON.stringify({ prompt: p.prompt_text, ...common, ...fields })).join('\n') + '\n');
    const r = yun('run', '--model', server.modelDir, '--prompts-file', file, '--json',
      '--threads', '2');
    assert.equal(r.code, 0, r.err);
    const viaFile = r.out.trim().split('\n').map((l) => JSON.parse(l).text);
    fs.rmSync(dir, { recursive: true });

    cases.forEach(([name], i) => {
      assert.equal(viaRun[i], viaServe[i], `${name}: run vs serve`);
      assert.equal(viaFile[i], viaServe[i], `${name}: prompts-file vs serve`);
    });
    // Greedy is the raw argmax (the model's 1.05 penalty is not applied), in
    // serve as in run: the reference text's first tokens.
    assert.ok(p.greedy_text.startsWith(viaServe[0]), `${viaServe[0]} vs ${p.greedy_text}`);
    // A penalty or a sampler changes something (the cases are not all one).
    assert.ok(new Set(viaServe).size > 2, JSON.stringify(viaServe));
  });

  test('a bad field is refused the same way by run and serve', async () => {
    const r = await postJson(`${server.baseURL}/completions`, { prompt: 'x', temperature: 3 });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'temperature');
    const cli = yun('run', '--model', server.modelDir, 'x', '--temperature', '3');
    assert.equal(cli.code, 2);
    assert.match(cli.err, /^yun: run: .*temperature/);
    assert.equal(cli.err.trim().split('\n').length, 1);
  });
});
