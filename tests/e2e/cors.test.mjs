// CORS (--allowed-origins): preflights, the headers actual responses carry,
// refusals, and a real cross-origin call from a page in headless Chromium
// served by another origin (a node http server on another port).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { freePort, prerequisites, startServer, launchChromium } from './helpers.mjs';

const skip = prerequisites();
const chromium = '/usr/bin/chromium';

async function preflight(url, origin, method = 'POST', headers = 'authorization, content-type') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describe('CORS', { skip, concurrency: false }, () => {
  let srv;
  let app;
  let appOrigin;
  before(async () => {
    const port = await freePort();
    appOrigin = `http://127.0.0.1:${port}`;
    srv = await startServer(['--api-key', 'k1', '--allowed-origins', `https://other.example, ${appOrigin}`]);
    // The browser app: one page on its own origin that calls yun.
    app = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>app</title><p>app</p>');
    });
    await new Promise((resolve) => app.listen(port, '127.0.0.1', resolve));
  });
  after(async () => { await srv?.stop(); app?.close(); });

  test('a preflight from an allowed origin lists the route\'s methods', async () => {
    const r = await preflight(`${srv.baseURL}/chat/completions`, appOrigin);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), appOrigin);
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    assert.equal(r.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.equal(r.headers.get('access-control-max-age'), '600');
    const models = await preflight(`${srv.baseURL}/models`, 'https://other.example', 'GET');
    assert.equal(models.status, 204);
    assert.match(models.headers.get('access-control-allow-methods'), /^GET/);
  });

  test('other origins and unknown paths are refused without CORS headers', async () => {
    const r = await preflight(`${srv.baseURL}/chat/completions`, 'https://evil.example');
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight(`${srv.url}/nope`, appOrigin)).status, 404);
    const bad = await preflight(`${srv.baseURL}/models`, appOrigin, 'GET', 'x-a; y="z"');
    assert.equal(bad.status, 204);
    assert.equal(bad.headers.get('access-control-allow-headers'), 'Authorization, Content-Type');
  });

  test('actual responses (errors and streams too) carry the allowed origin', async () => {
    const ok = await fetch(`${srv.baseURL}/models`, { headers: { origin: appOrigin, authorization: 'Bearer k1' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), appOrigin);
    assert.equal(ok.headers.get('vary'), 'Origin');
    const denied = await fetch(`${srv.baseURL}/models`, { headers: { origin: appOrigin } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), appOrigin);
    const other = await fetch(`${srv.baseURL}/models`, { headers: { origin: 'https://evil.example', authorization: 'Bearer k1' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const s = await fetch(`${srv.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { origin: appOrigin, authorization: 'Bearer k1', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true }),
    });
    assert.equal(s.headers.get('access-control-allow-origin'), appOrigin);
    await s.text();
  });

  test('a page on another origin calls yun from a real browser', { skip: !fs.existsSync(chromium) && 'no chromium' }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${appOrigin}/`);
      const out = await page.evaluate(async (base) => {
        const r = await fetch(`${base}/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer k1', 'content-type': 'application/json' },
          body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
        });
        return { status: r.status, body: await r.json() };
      }, srv.baseURL);
      assert.equal(out.status, 200);
      assert.equal(out.body.object, 'chat.completion');
    } finally {
      await browser.close();
    }
  });
});

describe('CORS off by default', { skip }, () => {
  test('no CORS headers and no preflight without --allowed-origins', async () => {
    const srv = await startServer();
    try {
      const r = await preflight(`${srv.baseURL}/chat/completions`, 'https://app.example');
      assert.notEqual(r.status, 204);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      const g = await fetch(`${srv.baseURL}/models`, { headers: { origin: 'https://app.example' } });
      assert.equal(g.headers.get('access-control-allow-origin'), null);
    } finally {
      await srv.stop();
    }
  });
});
