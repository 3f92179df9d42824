// Structured output end to end on the qwen3-e2e golden model (real Qwen3
// tokenizer and template, random weights: only the grammar makes a reply
// valid), through clients no one here wrote: the official openai client
// (chat.completions.parse() with a zod schema, json_schema strict,
// json_object, guided_choice / guided_regex / structured_outputs, strict
// tools), the Vercel AI SDK (generateObject, streamObject) and LangChain JS
// (withStructuredOutput, as a JSON schema and as a strict function call).
// Every reply must parse and validate (ajv); bad inputs are 400s with the
// OpenAI error object; streaming with n = 2 and a seed reproduces.
// Schemas are bounded (enums, maxLength, integer ranges) so generation ends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, streamObject } from 'ai';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { postJson, prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();
const model = 'qwen3-e2e';
const ajv = new Ajv({ strict: false });

// name: ASCII by pattern, since zod's .max() counts UTF-16 units where JSON
// Schema's maxLength (and the grammar) counts code points.
const Person = z.object({
  name: z.string().regex(/^[A-Za-z ]{1,12}$/),
  age: z.number().int().min(0).max(120),
  role: z.enum(['admin', 'user', 'guest']),
  tags: z.array(z.enum(['red', 'green', 'blue'])).max(3),
});

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 10 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};

function assertValid(schema, value, text = JSON.stringify(value)) {
  const validate = ajv.compile(schema);
  assert.ok(validate(value), `${text}: ${ajv.errorsText(validate.errors)}`);
}

describe('structured output', { skip }, () => {
  let server;
  let client;
  const messages = [{ role: 'user', content: 'Describe a person as JSON.' }];

  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('openai parse() with a zod schema', async () => {
    const format = zodResponseFormat(Person, 'person');
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.parse({
        model, messages, response_format: format, max_tokens: 400, seed, temperature: 1,
      });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'stop', c.message.content);
      assert.ok(c.message.parsed, c.message.content);
      assertValid(format.json_schema.schema, c.message.parsed, c.message.content);
      Person.parse(c.message.parsed);
    }
  });

  test('json_schema strict, with logprobs, and the completions endpoint', async () => {
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 300, temperature: 0.8, seed: 4, logprobs: true, top_logprobs: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', strict: true, schema: weatherSchema } },
    });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'stop');
    assertValid(weatherSchema, JSON.parse(c.message.content), c.message.content);
    assert.ok(c.logprobs.content.length >= 1 && c.logprobs.content.length <= r.usage.completion_tokens);
    for (const t of c.logprobs.content) assert.ok(Number.isFinite(t.logprob) && t.top_logprobs.length === 2);

    const comp = await client.completions.create({
      model, prompt: 'The weather:', max_tokens: 300, seed: 5,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: weatherSchema } },
    });
    assertValid(weatherSchema, JSON.parse(comp.choices[0].text), comp.choices[0].text);
  });

  test('json_object (with logit_bias closing it at once)', async () => {
    const tok = await postJson(`${server.url}/tokenize`, { model, prompt: '}' });
    const close = tok.json.tokens[0];
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 50, response_format: { type: 'json_object' },
      logit_bias: { [close]: 100 },
    });
    assert.deepEqual(JSON.parse(r.choices[0].message.content), {});  // '{}' or '{\n}' ...
    assert.equal(r.choices[0].finish_reason, 'stop');
  });

  test('guided_choice, guided_regex and structured_outputs', async () => {
    const choices = ['yes', 'no', 'maybe'];
    for (const seed of [1, 2, 3, 4]) {
      const r = await client.chat.completions.create({
        model, messages, max_tokens: 20, seed, temperature: 1, guided_choice: choices,
      });
      assert.ok(choices.includes(r.choices[0].message.content), r.choices[0].message.content);
    }
    const re = await client.chat.completions.create({
      model, messages, max_tokens: 30, guided_regex: '[0-9]{3}-[a-c]{2}',
    });
    assert.match(re.choices[0].message.content, /^[0-9]{3}-[a-c]{2}$/);
    const so = await client.completions.create({
      model, prompt: 'x', max_tokens: 30, structured_outputs: { choice: ['left', 'right'] },
    });
    assert.ok(['left', 'right'].includes(so.choices[0].text), so.choices[0].text);
    const g = await client.chat.completions.create({
      model, messages, max_tokens: 30,
      structured_outputs: { grammar: 'root ::= "go " dir\ndir ::= "north" | "south"' },
    });
    assert.match(g.choices[0].message.content, /^go (north|south)$/);
  });

  test('streaming with n = 2 and a seed: valid, and the same again', async () => {
    const ask = async () => {
      const stream = await client.chat.completions.create({
        model, messages, max_tokens: 300, n: 2, seed: 11, temperature: 1, stream: true,
        response_format: { type: 'json_schema', json_schema: { name: 'w', strict: true, schema: weatherSchema } },
      });
      const text = ['', ''];
      const finish = [null, null];
      for await (const chunk of stream) {
        for (const ch of chunk.choices) {
          text[ch.index] += ch.delta?.content ?? '';
          if (ch.finish_reason) finish[ch.index] = ch.finish_reason;
        }
      }
      return { text, finish };
    };
    const a = await ask();
    assert.deepEqual(a.finish, ['stop', 'stop']);
    for (const t of a.text) assertValid(weatherSchema, JSON.parse(t), t);
    assert.notEqual(a.text[0], a.text[1]);
    assert.deepEqual(await ask(), a);
  });

  test('strict tools with tool_choice required and named', async () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', strict: true, parameters: weatherSchema } },
      { type: 'function', function: { name: 'pick', strict: true, parameters: {
        type: 'object', properties: { item: { enum: ['a', 'b'] } }, required: ['item'], additionalProperties: false } } },
    ];
    for (const toolChoice of ['required', { type: 'function', function: { name: 'pick' } }]) {
      for (const seed of [1, 2]) {
        const r = await client.chat.completions.create({
          model, messages, tools, tool_choice: toolChoice, max_tokens: 300, seed, temperature: 1,
        });
        const c = r.choices[0];
        assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c.message));
        const call = c.message.tool_calls[0];
        if (typeof toolChoice === 'object') assert.equal(call.function.name, 'pick');
        const tool = tools.find((t) => t.function.name === call.function.name);
        assertValid(tool.function.parameters, JSON.parse(call.function.arguments), call.function.arguments);
      }
    }
  });

  test('the Vercel AI SDK: generateObject and streamObject', async () => {
    const provider = createOpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
    const { object } = await generateObject({
      model: provider.chat(model), schema: Person, prompt: 'A person', maxOutputTokens: 400, seed: 3,
      maxRetries: 0,
    });
    Person.parse(object);
    const s = streamObject({
      model: provider.chat(model), schema: Person, prompt: 'A person', maxOutputTokens: 400, seed: 4,
      maxRetries: 0,
    });
    let partials = 0;
    for await (const p of s.partialObjectStream) { if (p) partials += 1; }
    Person.parse(await s.object);
    assert.ok(partials >= 1);
  });

  test('LangChain withStructuredOutput, as a JSON schema and as a strict function call', async () => {
    const llm = new ChatOpenAI({
      model, apiKey: 'unused', configuration: { baseURL: server.baseURL }, maxTokens: 400,
      temperature: 1, maxRetries: 0,
    });
    const asSchema = llm.withStructuredOutput(Person, { name: 'person', method: 'jsonSchema' });
    Person.parse(await asSchema.invoke('A person'));
    const asTool = llm.withStructuredOutput(Person, { name: 'person', method: 'functionCalling', strict: true });
    Person.parse(await asTool.invoke('A person'));
  });

  test('bad inputs are 400s naming the problem', async () => {
    const bad = async (extra, param, text) => {
      const r = await postJson(`${server.baseURL}/chat/completions`, { model, messages, max_tokens: 5, ...extra });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.type, 'invalid_request_error', r.text);
      if (param) assert.equal(r.json.error.param, param, r.text);
      if (text) assert.ok(r.json.error.message.includes(text), r.json.error.message);
    };
    await bad({ response_format: { type: 'bogus' } }, 'response_format.type');
    await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {
      type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } } } } }, 'response_format', 'multipleOf');
    await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {
      type: 'string', format: 'hostname' } } } }, 'response_format', 'format');
    await bad({ guided_regex: '(unclosed' }, 'guided_regex');
    await bad({ guided_grammar: 'root ::= missing' }, 'guided_grammar', 'missing');
    await bad({ guided_choice: [] }, 'guided_choice');
    await bad({ guided_choice: ['a'], guided_regex: 'a' }, 'guided_choice');
    await bad({ logit_bias: { 999999: 5 } }, 'logit_bias');
    await bad({ logit_bias: { 5: 500 } }, 'logit_bias');
    await bad({ allowed_token_ids: [1, 99999999] }, 'allowed_token_ids');
    await bad({ tools: [{ type: 'function', function: { name: 'f', strict: true, parameters: {
      type: 'object', properties: { x: { type: 'string', minLength: 2, pattern: 'a+' } } } } }],
    tool_choice: 'required' }, 'tools', 'f');
    // Through the client: an APIError with the status and param.
    await assert.rejects(client.chat.completions.create({
      model, messages, response_format: { type: 'bogus' },
    }), (e) => e.status === 400 && e.param === 'response_format.type');
  });

  test('allowed_token_ids and bad_words', async () => {
    const tok = await postJson(`${server.url}/tokenize`, { model, prompt: 'ab' });
    const ids = tok.json.tokens;
    const r = await client.completions.create({
      model, prompt: 'x', max_tokens: 8, ignore_eos: true, temperature: 1, seed: 2, allowed_token_ids: ids,
    });
    const d = await postJson(`${server.url}/tokenize`, { model, prompt: r.choices[0].text });
    for (const t of d.json.tokens) assert.ok(ids.includes(t), `${t} of ${r.choices[0].text}`);
    // bad_words: the word's tokens are never generated (as one token here).
    for (const seed of [1, 2, 3]) {
      const c = await client.chat.completions.create({
        model, messages, max_tokens: 20, seed, temperature: 1, logprobs: true,
        guided_choice: ['apple', 'pear'], bad_words: ['apple'],
      });
      const toks = c.choices[0].logprobs.content.map((t) => t.token);
      assert.ok(!toks.includes('apple'), toks.join('|'));
      assert.ok(['apple', 'pear'].includes(c.choices[0].message.content));
    }
  });
});

describe('structured output with the qwen3 reasoning parser', { skip }, () => {
  let server;
  let client;
  before(async () => {
    server = await startServer(['--reasoning-parser', 'qwen3']);
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('thinking turned off: the grammar applies from the first token', async () => {
    const r = await client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather?' }], max_tokens: 300, seed: 8,
      chat_template_kwargs: { enable_thinking: false },
      response_format: { type: 'json_schema', json_schema: { name: 'w', strict: true, schema: weatherSchema } },
    });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'stop');
    assertValid(weatherSchema, JSON.parse(c.message.content), c.message.content);
  });
});
