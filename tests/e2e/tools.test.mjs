// tool_choice through the official openai client on the qwen3-e2e golden
// model (real Qwen3 template and tokenizer, random weights, so the model
// cannot write a real call): "required" and a named function put the start of
// a <tool_call> block at the end of the real prompt, and the reply comes back
// in the OpenAI shape, streamed or not (see src/yun/serve/tool_choice.h).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import { prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();

describe('tool_choice', { skip }, () => {
  let server;
  let client;
  const model = 'qwen3-e2e';
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const named = { type: 'function', function: { name: 'get_weather' } };
  const namedPrefix = '<tool_call>\n{"name": "get_weather", "arguments": ';
  const ask = (toolChoice, extra = {}) => client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools,
    tool_choice: toolChoice, max_tokens: 3, ignore_eos: true, temperature: 0, ...extra,
  });

  before(async () => {
    server = await startServer(['--reasoning-parser', 'qwen3']);
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('required and a named function extend the prompt with the call prefix', async () => {
    const auto = await ask('auto');
    const required = await ask('required');
    const byName = await ask(named);
    // "<tool_call>" is one special token, then "\n".
    assert.equal(required.usage.prompt_tokens, auto.usage.prompt_tokens + 2);
    assert.ok(byName.usage.prompt_tokens > required.usage.prompt_tokens + 5);
    const none = await ask('none');
    assert.ok(none.usage.prompt_tokens < auto.usage.prompt_tokens);  // no tools rendered
  });

  test('a named choice whose arguments do not parse is content, prefix included', async () => {
    const r = await ask(named);
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'length');
    if (c.message.tool_calls?.length) {
      assert.equal(c.message.tool_calls[0].function.name, 'get_weather');
    } else {
      assert.ok(c.message.content.startsWith(namedPrefix), c.message.content);
    }
  });

  test('streamed forced replies are valid chunks ending like the non-streamed one', async () => {
    for (const choice of ['required', named]) {
      const whole = await ask(choice);
      const stream = await ask(choice, { stream: true });
      let content = '';
      let finish = null;
      let calls = 0;
      for await (const chunk of stream) {
        const ch = chunk.choices[0];
        if (!ch) continue;
        content += ch.delta?.content ?? '';
        calls += (ch.delta?.tool_calls ?? []).filter((t) => t.id).length;
        finish = ch.finish_reason ?? finish;
      }
      assert.equal(finish, 'length');
      if (calls === 0) assert.equal(content, whole.choices[0].message.content ?? '');
    }
  });
});
