// yun playground: a chat UI over /v1/chat/completions, streaming with
// fetch + SSE, reasoning (reasoning_content) shown apart from the answer.
// No build step and no external assets.
'use strict';

const $ = (id) => document.getElementById(id);
const history = [];
let controller = null;

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api_key').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

function setStatus(text) { $('status').textContent = text; }

async function loadModels() {
  try {
    const r = await fetch('/v1/models', { headers: headers() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error?.message || r.statusText);
    const sel = $('model');
    sel.innerHTML = '';
    for (const m of j.data) {
      const o = document.createElement('option');
      o.value = m.id;
      o.textContent = m.max_model_len ? `${m.id} (${m.max_model_len} ctx)` : m.id;
      sel.appendChild(o);
    }
    setStatus('ready');
  } catch (e) {
    setStatus(`cannot list models: ${e.message}`);
  }
}

function addMessage(role, text) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  if (role === 'assistant') {
    const details = document.createElement('details');
    details.className = 'reasoning';
    details.hidden = true;
    details.open = true;
    const summary = document.createElement('summary');
    summary.textContent = 'Reasoning';
    const body = document.createElement('div');
    body.className = 'reasoning-text';
    details.append(summary, body);
    const content = document.createElement('div');
    content.className = 'content';
    content.textContent = text;
    div.append(details, content);
  } else {
    div.textContent = text;
  }
  $('messages').appendChild(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

function numberField(id) {
  const v = $(id).value.trim();
  return v === '' ? undefined : Number(v);
}

function buildRequest() {
  const messages = [];
  const system = $('system').value.trim();
  if (system) messages.push({ role: 'system', content: system });
  messages.push(...history);
  const req = {
    model: $('model').value || undefined,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    chat_template_kwargs: { enable_thinking: $('thinking').checked },
  };
  for (const f of ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed']) {
    const v = numberField(f);
    if (v !== undefined && !Number.isNaN(v)) req[f] = v;
  }
  return req;
}

// Yields parsed JSON payloads of an SSE response body until [DONE].
async function* sseEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        yield JSON.parse(data);
      }
    }
  }
}

async function send(text) {
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const div = addMessage('assistant', '');
  const contentEl = div.querySelector('.content');
  const reasoningBox = div.querySelector('.reasoning');
  const reasoningEl = div.querySelector('.reasoning-text');
  let content = '';
  controller = new AbortController();
  $('send').disabled = true;
  $('stop').disabled = false;
  setStatus('generating…');
  const t0 = performance.now();
  let firstToken = 0;
  let usage = null;
  try {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(), body: JSON.stringify(buildRequest()),
      signal: controller.signal,
    });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error(j.error?.message || `HTTP ${r.status}`);
    }
    for await (const ev of sseEvents(r.body)) {
      if (ev.error) throw new Error(ev.error.message);
      if (ev.usage) usage = ev.usage;
      for (const c of ev.choices || []) {
        const d = c.delta || {};
        if (!firstToken && (d.content || d.reasoning_content)) firstToken = performance.now();
        if (d.reasoning_content) {
          reasoningBox.hidden = false;
          reasoningEl.textContent += d.reasoning_content;
        }
        if (d.content) {
          content += d.content;
          contentEl.textContent = content;
        }
        if (d.tool_calls) {
          for (const t of d.tool_calls) {
            contentEl.textContent += t.function?.name ? `\n[tool call ${t.function.name}] ` : '';
            contentEl.textContent += t.function?.arguments || '';
          }
        }
      }
      div.scrollIntoView({ block: 'end' });
    }
    history.push({ role: 'assistant', content });
    const secs = (performance.now() - t0) / 1000;
    if (usage) {
      const ttft = firstToken ? ((firstToken - t0) / 1000).toFixed(2) : '-';
      $('stats').textContent = `${usage.prompt_tokens} prompt + ${usage.completion_tokens} ` +
        `completion tokens, ${(usage.completion_tokens / secs).toFixed(1)} tok/s, TTFT ${ttft} s`;
    }
    setStatus('ready');
  } catch (e) {
    if (e.name === 'AbortError') {
      history.push({ role: 'assistant', content });
      setStatus('stopped');
    } else {
      div.classList.add('error');
      contentEl.textContent = content + (content ? '\n' : '') + `Error: ${e.message}`;
      history.pop();
      setStatus('error');
    }
  } finally {
    controller = null;
    $('send').disabled = false;
    $('stop').disabled = true;
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => controller?.abort());
$('clear').addEventListener('click', () => {
  history.length = 0;
  $('messages').innerHTML = '';
  $('stats').textContent = '';
});
$('api_key').addEventListener('change', loadModels);
loadModels();
