// POST /v1/responses (OpenAI's Responses API) on the qwen3-e2e golden model
// (real Qwen3 template and tokenizer, random weights: the checks are on the
// shape, never the words), through the official openai client and the
// Vercel AI SDK's default provider (`openai(model)` is the Responses API in
// @ai-sdk/openai 2.x). See src/yun/serve/responses_request.h,
// responses_format.h and, for what is stored, responses_state.h and
// response_store.h.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';

import { callJson, postJson, prerequisites, startServer } from './helpers.mjs';

const skip = prerequisites();

const model = 'qwen3-e2e';
const tools = [{ type: 'function', name: 'get_weather', description: 'Weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } } }];

// The text of a Response's message items (what the client's output_text is).
const messageText = (r) => r.output.filter((i) => i.type === 'message')
  .flatMap((i) => i.content).map((c) => c.text).join('');

function checkResponse(r) {
  assert.match(r.id, /^resp_/);
  assert.equal(r.object, 'response');
  assert.equal(typeof r.created_at, 'number');
  assert.ok(['completed', 'incomplete'].includes(r.status), r.status);
  if (r.status === 'incomplete') assert.equal(r.incomplete_details.reason, 'max_output_tokens');
  assert.equal(r.model, model);
  assert.ok(Array.isArray(r.output) && r.output.length >= 1);
  for (const item of r.output) {
    assert.ok(['reasoning', 'message', 'function_call'].includes(item.type), item.type);
    if (item.type === 'message') {
      assert.equal(item.role, 'assistant');
      assert.equal(item.content[0].type, 'output_text');
      assert.deepEqual(item.content[0].annotations, []);
    }
  }
  const u = r.usage;
  assert.ok(u.input_tokens > 0 && u.output_tokens > 0);
  assert.equal(u.total_tokens, u.input_tokens + u.output_tokens);
  assert.equal(typeof u.input_tokens_details.cached_tokens, 'number');
  assert.equal(typeof u.output_tokens_details.reasoning_tokens, 'number');
}

describe('/v1/responses', { skip }, () => {
  let server;
  let client;

  before(async () => {
    server = await startServer(['--reasoning-parser', 'qwen3']);
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.stderr());
  });

  test('responses.create, not streamed', async () => {
    const r = await client.responses.create({
      model, input: 'Say hello.', instructions: 'Be brief.', max_output_tokens: 6,
      temperature: 0, store: true, metadata: { run: 'e2e' },
    });
    checkResponse(r);
    assert.ok(r.usage.output_tokens <= 6);
    assert.equal(r.output_text, messageText(r));  // the client's convenience
    assert.equal(r.instructions, 'Be brief.');
    assert.equal(r.store, true);  // stored: retrievable by id
    assert.deepEqual(r.metadata, { run: 'e2e' });
    // Thinking off: no reasoning item, and a shorter prompt than with it on.
    const off = await client.responses.create({
      model, input: 'Say hello.', max_output_tokens: 4, reasoning: { effort: 'minimal' },
    });
    checkResponse(off);
    assert.ok(!off.output.some((i) => i.type === 'reasoning'));
  });

  test('responses.create, streamed: the event order, and deltas concatenate to the text',
    async () => {
      const stream = await client.responses.create({
        model, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Count.' }] }],
        max_output_tokens: 12, temperature: 0, stream: true,
      });
      const events = [];
      for await (const e of stream) events.push(e);
      const types = events.map((e) => e.type);
      assert.equal(types[0], 'response.created');
      assert.equal(types[1], 'response.in_progress');
      assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)), types.at(-1));
      events.forEach((e, i) => assert.equal(e.sequence_number, i));
      const final = events.at(-1).response;
      checkResponse(final);
      assert.equal(final.id, events[0].response.id);
      // Each item: added ... done, in output order; its deltas make its text.
      let open = null;
      let text = '';
      let summary = '';
      for (const e of events.slice(2, -1)) {
        if (e.type === 'response.output_item.added') {
          assert.equal(open, null, 'an item opened inside another');
          assert.equal(e.output_index, final.output.indexOf(final.output.find(
            (i) => i.id === e.item.id)));
          open = e.item;
          text = '';
          summary = '';
        } else if (e.type === 'response.output_item.done') {
          assert.equal(e.item.id, open.id);
          const item = final.output[e.output_index];
          assert.deepEqual(e.item, item);
          if (item.type === 'message') assert.equal(text, item.content[0].text);
          if (item.type === 'reasoning') assert.equal(summary, item.summary[0].text);
          open = null;
        } else {
          assert.ok(open, `${e.type} outside an item`);
          assert.equal(e.item_id, open.id);
          if (e.type === 'response.output_text.delta') text += e.delta;
          if (e.type === 'response.reasoning_summary_text.delta') summary += e.delta;
          if (e.type === 'response.output_text.done') assert.equal(e.text, text);
        }
      }
      assert.equal(open, null);
      const msg = final.output.find((i) => i.type === 'message');
      assert.ok(msg, 'a message item');
      const i = types.indexOf('response.content_part.added');
      assert.ok(i > types.indexOf('response.output_item.added'));
      assert.ok(types.indexOf('response.output_text.done') < types.indexOf('response.content_part.done'));
    });

  test('tools: a forced call, then function_call + function_call_output sent back', async () => {
    const r = await client.responses.create({
      model, input: 'Weather in Paris?', tools,
      tool_choice: { type: 'function', name: 'get_weather' }, max_output_tokens: 4,
    });
    checkResponse(r);
    // Random weights cannot finish the arguments: a call, or the prefix as text.
    const call = r.output.find((i) => i.type === 'function_call');
    if (call) {
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.call_id, 'string');
    } else {
      assert.ok(r.output_text.startsWith('<tool_call>'), r.output_text);
    }
    const history = [
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather',
        arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
    ];
    const next = await client.responses.create({ model, input: history, tools,
      max_output_tokens: 4 });
    checkResponse(next);
    const first = await client.responses.create({ model, input: history.slice(0, 1), tools,
      max_output_tokens: 4 });
    // The call and its result are in the prompt.
    assert.ok(next.usage.input_tokens > first.usage.input_tokens + 10);

    const stream = await client.responses.create({ model, input: history, tools, stream: true,
      tool_choice: 'required', max_output_tokens: 6 });
    const events = [];
    for await (const e of stream) events.push(e);
    const final = events.at(-1).response;
    checkResponse(final);
    for (const item of final.output.filter((i) => i.type === 'function_call')) {
      const args = events.filter((e) => e.type === 'response.function_call_arguments.delta' &&
        e.item_id === item.id).map((e) => e.delta).join('');
      assert.equal(args, item.arguments);
    }
  });

  test('stored: retrieve, inputItems.list, delete, and a previous_response_id conversation',
    async () => {
      const r = await client.responses.create({ model, input: 'Say hello.', instructions: 'Be brief.',
        max_output_tokens: 5, temperature: 0 });
      const got = await client.responses.retrieve(r.id);
      assert.deepEqual(got.output, r.output);
      assert.equal(got.id, r.id);
      assert.equal(got.status, r.status);
      assert.deepEqual(got.usage, r.usage);
      const items = await client.responses.inputItems.list(r.id);
      assert.equal(items.data.length, 1);
      assert.equal(items.data[0].type, 'message');
      assert.equal(items.data[0].role, 'user');
      assert.deepEqual(items.data[0].content, [{ type: 'input_text', text: 'Say hello.' }]);

      // The conversation: each turn continues the last by id; the prompt grows
      // by the previous turn's input and output, not by its instructions.
      const second = await client.responses.create({ model, input: 'And again.',
        previous_response_id: r.id, max_output_tokens: 5, temperature: 0 });
      checkResponse(second);
      assert.equal(second.previous_response_id, r.id);
      assert.equal(second.instructions, null);
      const alone = await client.responses.create({ model, input: 'And again.', store: false,
        max_output_tokens: 5, temperature: 0 });
      assert.ok(second.usage.input_tokens > alone.usage.input_tokens + 5,
        `${second.usage.input_tokens} vs ${alone.usage.input_tokens}`);
      const streamed = await client.responses.create({ model, input: 'Once more.', stream: true,
        previous_response_id: second.id, max_output_tokens: 5 });
      let third = null;
      for await (const e of streamed) if (e.response) third = e.response;
      checkResponse(third);
      assert.ok(third.usage.input_tokens > second.usage.input_tokens);
      assert.equal((await client.responses.retrieve(third.id)).previous_response_id, second.id);

      // Pages of input items (asc, limit, after) over a longer input.
      const many = await client.responses.create({ model, max_output_tokens: 2, input: [
        { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' }] });
      const page = await client.responses.inputItems.list(many.id, { order: 'asc', limit: 2 });
      assert.deepEqual(page.data.map((i) => i.content[0].text), ['a', 'b']);
      assert.equal(page.has_more, true);
      const all = [];
      for await (const item of client.responses.inputItems.list(many.id, { limit: 1 })) all.push(item);
      assert.deepEqual(all.map((i) => i.content[0].text), ['c', 'b', 'a']);  // desc by default

      const deleted = await client.responses.delete(r.id);
      assert.deepEqual(deleted, { id: r.id, object: 'response.deleted', deleted: true });
      await assert.rejects(client.responses.retrieve(r.id), (e) => e.status === 404);
      await assert.rejects(client.responses.delete(r.id), (e) => e.status === 404);
      const del = await callJson(`${server.baseURL}/responses/${many.id}`, 'DELETE');
      assert.deepEqual(del.json, { id: many.id, object: 'response.deleted', deleted: true });
      await assert.rejects(client.responses.create({ model, input: 'x', previous_response_id: r.id }),
        (e) => e.status === 404 && e.param === 'previous_response_id');
      // store: false keeps nothing.
      await assert.rejects(client.responses.retrieve(alone.id), (e) => e.status === 404);
    });

  test('the AI SDK default provider: generateText and streamText', async () => {
    const openai = createOpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
    const g = await generateText({ model: openai(model), prompt: 'Say hi.', maxOutputTokens: 5,
      temperature: 0 });
    assert.equal(typeof g.text, 'string');
    assert.ok(['stop', 'length'].includes(g.finishReason), g.finishReason);
    assert.ok(g.usage.inputTokens > 0 && g.usage.outputTokens > 0);
    assert.match(g.response.id, /^resp_/);

    const s = streamText({ model: openai(model), prompt: 'Say hi.', maxOutputTokens: 8,
      system: 'Be brief.', onError: ({ error }) => { throw error; } });
    let text = '';
    for await (const piece of s.textStream) text += piece;
    assert.equal(text, await s.text);
    assert.ok(['stop', 'length'].includes(await s.finishReason));
    assert.ok((await s.usage).outputTokens > 0);
  });

  test('the AI SDK with tools: its tool-call history is accepted as items', async () => {
    const openai = createOpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
    const weather = { description: 'Weather', inputSchema: jsonSchema({ type: 'object',
      properties: { city: { type: 'string' } } }) };
    const messages = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1',
        toolName: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1',
        toolName: 'get_weather', output: { type: 'json', value: { temp: 21 } } }] },
    ];
    const g = await generateText({ model: openai(model), messages, tools: { get_weather: weather },
      maxOutputTokens: 4 });
    assert.ok(['stop', 'length', 'tool-calls'].includes(g.finishReason), g.finishReason);
    const bare = await generateText({ model: openai(model), messages: messages.slice(0, 1),
      tools: { get_weather: weather }, maxOutputTokens: 4 });
    assert.ok(g.usage.inputTokens > bare.usage.inputTokens + 10);  // the call and result are in it
    const forced = await generateText({ model: openai(model), prompt: 'Weather?',
      tools: { get_weather: weather }, toolChoice: { type: 'tool', toolName: 'get_weather' },
      maxOutputTokens: 4 });
    for (const c of forced.toolCalls) assert.equal(c.toolName, 'get_weather');
  });

  test('the AI SDK multi-step tool loop with its defaults (store: true, item_reference)',
    async () => {
      const openai = createOpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
      const calls = [];
      const weather = tool({ description: 'Weather',
        inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string',
          enum: ['Paris', 'Oslo'] } }, required: ['city'], additionalProperties: false }),
        execute: async ({ city }) => { calls.push(city); return { city, temp: 21 }; } });
      // Strict tools + a required call: every step is a call whose arguments
      // parse (the grammar), so the loop runs all its steps.
      const g = await generateText({ model: openai(model), prompt: 'Weather in Paris?',
        tools: { get_weather: weather }, toolChoice: 'required', stopWhen: stepCountIs(3),
        maxOutputTokens: 300, temperature: 0,
        providerOptions: { openai: { strictJsonSchema: true } } });
      assert.equal(g.steps.length, 3, JSON.stringify(g.steps.map((s) => s.finishReason)));
      assert.equal(calls.length, 3);
      for (const step of g.steps) assert.match(step.response.id, /^resp_/);
      // Steps after the first refer to the stored calls by id (item_reference).
      for (const step of g.steps.slice(1)) {
        const body = typeof step.request.body === 'string' ? JSON.parse(step.request.body)
          : step.request.body;
        assert.ok(body.input.some((i) => i.type === 'item_reference'), JSON.stringify(body.input));
        assert.ok(body.input.some((i) => i.type === 'function_call_output'));
        assert.notEqual(body.store, false);
      }
      // Each later step's prompt holds the earlier calls and results.
      assert.ok(g.steps[2].usage.inputTokens > g.steps[1].usage.inputTokens);
      assert.ok(g.steps[1].usage.inputTokens > g.steps[0].usage.inputTokens);
    });

  test('bad inputs are 400s naming the field', async () => {
    const url = `${server.baseURL}/responses`;
    const cases = [
      [{ model, input: 'x', previous_response_id: '' }, 'previous_response_id'],
      [{ model, input: [{ type: 'item_reference' }] }, 'input[0].id'],
      [{ model, input: 'x', store: 'yes' }, 'store'],
      [{ model }, 'input'],
      [{ model, input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
      [{ model, input: 'x', text: { format: { type: 'bogus' } } }, 'text.format.type'],
      [{ model, input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      [{ model, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
        'input[0].content[0].type'],
    ];
    for (const [body, param] of cases) {
      const r = await postJson(url, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(r.json.error.param, param, r.text);
    }
    assert.equal((await postJson(url, '{nope')).status, 400);
    // Unknown ids: OpenAI's 404 error object.
    for (const [body, param] of [
      [{ model, input: 'x', previous_response_id: 'resp_123' }, 'previous_response_id'],
      [{ model, input: [{ type: 'item_reference', id: 'fc_1' }] }, 'input']]) {
      const r = await postJson(url, body);
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(r.json.error.param, param);
    }
    const missing = await callJson(`${url}/resp_nope`, 'GET');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.message, "Response with id 'resp_nope' not found.");
    const made = await client.responses.create({ model, input: 'x', max_output_tokens: 1 });
    for (const q of ['limit=0', 'limit=101', 'order=up', 'after=nope']) {
      const r = await callJson(`${url}/${made.id}/input_items?${q}`, 'GET');
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.type, 'invalid_request_error');
    }
  });
});

// With tenancy: the tenant's key, its limits and its usage ledger work for
// /v1/responses as for chat (one generation path).
describe('/v1/responses with tenancy', { skip }, () => {
  const adminKey = `adm-${crypto.randomBytes(12).toString('hex')}`;
  let server;
  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-responses-'));
    server = await startServer(['--state-dir', dir, '--admin-key', adminKey]);
  });
  after(async () => { await server?.stop(); });

  test('usage is recorded per tenant, streamed or not; no key is a 401', async () => {
    const t = await callJson(`${server.url}/admin/v1/tenants`, 'POST',
      { name: 'resp-team', limits: { max_tokens: 8 } }, adminKey);
    assert.equal(t.status, 201, t.text);
    const k = await callJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST',
      { scope: 'inference' }, adminKey);
    assert.equal(k.status, 201, k.text);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: k.json.key });
    const a = await client.responses.create({ model, input: 'hi', max_output_tokens: 3 });
    checkResponse(a);
    const stream = await client.responses.create({ model, input: 'hi', max_output_tokens: 3,
      stream: true });
    let b = null;
    for await (const e of stream) if (e.type.startsWith('response.') && e.response) b = e.response;
    checkResponse(b);
    // The key's max_tokens cap, named as the Responses field.
    const over = await postJson(`${server.baseURL}/responses`, { model, input: 'hi',
      max_output_tokens: 50 }, { authorization: `Bearer ${k.json.key}` });
    assert.equal(over.status, 400, over.text);
    assert.equal(over.json.error.param, 'max_output_tokens');
    assert.equal((await postJson(`${server.baseURL}/responses`, { model, input: 'hi' })).status, 401);
    let rows = [];
    for (let i = 0; i < 100; ++i) {
      const u = await callJson(`${server.url}/admin/v1/usage?tenant=${t.json.id}`, 'GET', undefined,
        adminKey);
      assert.equal(u.status, 200, u.text);
      rows = u.json.data;
      if (rows.reduce((n, r) => n + r.requests, 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const sum = (f) => rows.reduce((n, r) => n + r[f], 0);
    assert.equal(sum('requests'), 2);
    assert.equal(sum('prompt_tokens'), a.usage.input_tokens + b.usage.input_tokens);
    assert.equal(sum('completion_tokens'), a.usage.output_tokens + b.usage.output_tokens);
  });

  test('stored in the tenancy database: a tenant never sees another tenant\'s responses',
    async () => {
      const keys = [];
      for (const name of ['resp-a', 'resp-b']) {
        const t = await callJson(`${server.url}/admin/v1/tenants`, 'POST', { name }, adminKey);
        assert.equal(t.status, 201, t.text);
        const k = await callJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`, 'POST',
          { scope: 'inference' }, adminKey);
        keys.push(k.json.key);
      }
      const [a, b] = keys.map((k) => new OpenAI({ baseURL: server.baseURL, apiKey: k }));
      const r = await a.responses.create({ model, input: 'hi', max_output_tokens: 3 });
      assert.equal((await a.responses.retrieve(r.id)).id, r.id);
      assert.equal((await a.responses.inputItems.list(r.id)).data.length, 1);
      await assert.rejects(b.responses.retrieve(r.id), (e) => e.status === 404);
      await assert.rejects(b.responses.inputItems.list(r.id), (e) => e.status === 404);
      await assert.rejects(b.responses.delete(r.id), (e) => e.status === 404);
      await assert.rejects(b.responses.create({ model, input: 'x', previous_response_id: r.id }),
        (e) => e.status === 404);
      const next = await a.responses.create({ model, input: 'more', previous_response_id: r.id,
        max_output_tokens: 3 });
      assert.ok(next.usage.input_tokens > r.usage.input_tokens);
      await a.responses.delete(r.id);
      await assert.rejects(a.responses.retrieve(r.id), (e) => e.status === 404);
    });
});
