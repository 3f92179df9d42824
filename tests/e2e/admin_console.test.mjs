// The admin console (/admin) in a real browser (playwright-core + Debian
// chromium) against `yun serve --state-dir`: sign in with the admin key,
// create a tenant and an inference key through the page, spend tokens with
// that key from Node, see them in the usage table and chart, download the
// CSV, revoke the key through the page (then it gets 401), watch the live
// state panel; a wrong key and a non-admin key are told apart on the sign-in
// form; a tenant is suspended and activated from its row. Skipped when
// chromium is absent.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launchChromium, postJson, prerequisites, repoRoot, sleep, startServer } from './helpers.mjs';

const chromium = '/usr/bin/chromium';
const skip = prerequisites() || (!fs.existsSync(chromium) && 'chromium is not installed');

describe('admin console', { skip }, () => {
  const adminKey = `yun-admin-${crypto.randomBytes(16).toString('hex')}`;
  let server;
  let browser;
  let stateDir;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-admin-state-'));
    // --web-dir: the console of this checkout, whichever yun binary runs it.
    server = await startServer(['--state-dir', stateDir, '--admin-key', adminKey,
      '--web-dir', path.join(repoRoot, 'web')]);
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) assert.equal(await server.stop(), 0, server.stderr());
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  // A fresh browser context (its own sessionStorage) on /admin; every URL it
  // requests is recorded.
  async function openConsole() {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 },
      acceptDownloads: true });
    const page = await context.newPage();
    const urls = [];
    const failed = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('response', (r) => { if (r.url().match(/\/admin\.(js|css)$/) && r.status() !== 200) failed.push(r.url()); });
    page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
    await page.goto(`${server.url}/admin`);
    assert.equal(await page.title(), 'yun admin');
    return { context, page, urls, failed };
  }

  async function signIn(page, key) {
    await page.fill('[data-testid=admin-key]', key);
    await page.click('[data-testid=sign-in]');
  }

  const cell = (page, row, col) => page.$eval(`${row} [data-col=${col}]`,
    (td) => Number(td.textContent.replace(/,/g, '')));

  test('tenants, a one-time key, usage, CSV, revoke, live state', async () => {
    const { context, page, urls, failed } = await openConsole();
    try {
      await signIn(page, adminKey);
      await page.waitForSelector('[data-testid=state-panel]', { state: 'visible' });
      assert.equal(await page.isVisible('[data-testid=auth-error]'), false);
      // The key is in sessionStorage, nowhere else.
      assert.equal(await page.evaluate(() => sessionStorage.getItem('yun.admin.key')), adminKey);
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.equal(await page.inputValue('[data-testid=admin-key]'), '');

      // A field error from the API lands next to its field.
      await page.fill('[data-testid=tenant-name]', 'acme');
      await page.fill('[data-testid=tenant-max-tokens]', '0');
      await page.click('[data-testid=tenant-submit]');
      await page.waitForSelector('[data-testid=tenant-form-error]', { state: 'visible' });
      const fieldErr = await page.textContent('[data-field=max_tokens]');
      assert.match(fieldErr, /max_tokens must be >= 1/);
      assert.equal(await page.getAttribute('[data-testid=tenant-max-tokens]', 'aria-invalid'), 'true');

      // Now a valid tenant with limits.
      await page.fill('[data-testid=tenant-max-tokens]', '64');
      await page.fill('[data-testid=tenant-rpm]', '100');
      await page.fill('[data-testid=tenant-tpm]', '100000');
      await page.fill('[data-testid=tenant-weight]', '2');
      await page.click('[data-testid=tenant-submit]');
      await page.waitForSelector('[data-testid=tenant-row-acme]');
      assert.equal(await page.textContent('[data-field=max_tokens]'), '');
      assert.equal(await page.isVisible('[data-testid=tenant-form-error]'), false);
      const row = await page.textContent('[data-testid=tenant-row-acme]');
      assert.match(row, /100 req\/min/);
      assert.match(row, /max 64 tok\/request/);
      assert.match(row, /active/);
      // The API agrees with what the page shows.
      const listed = await (await fetch(`${server.url}/admin/v1/tenants`,
        { headers: { authorization: `Bearer ${adminKey}` } })).json();
      const acme = listed.data.find((t) => t.name === 'acme');
      assert.ok(acme, JSON.stringify(listed));
      assert.equal(acme.limits.requests_per_minute, 100);
      assert.equal(acme.limits.tokens_per_minute, 100000);
      assert.equal(acme.limits.max_tokens, 64);
      assert.equal(acme.weight, 2);
      assert.match(row, new RegExp(acme.id));

      // Creating the tenant selected it: create an inference key.
      await page.waitForFunction(() => document.querySelector('[data-testid=keys-tenant]')
        .textContent.includes('acme'));
      await page.selectOption('[data-testid=key-scope]', 'inference');
      await page.fill('[data-testid=key-name]', 'e2e');
      await page.click('[data-testid=key-create]');
      await page.waitForSelector('[data-testid=new-key-box]', { state: 'visible' });
      const secret = (await page.textContent('[data-testid=new-key-secret]')).trim();
      assert.ok(secret.length >= 20, secret);
      await page.waitForSelector('[data-testid^=key-row-]');
      const keyRow = await page.$('[data-testid^=key-row-]');
      const keyId = (await keyRow.getAttribute('data-testid')).slice('key-row-'.length);
      const keyText = await keyRow.textContent();
      assert.match(keyText, /inference/);
      assert.match(keyText, /active/);
      assert.ok(keyText.includes(secret.slice(0, 11)), `${keyText} shows the prefix`);
      assert.ok(!keyText.includes(secret), 'the table never shows the secret');

      // Dismissed: the secret is gone from the DOM and from storage.
      await page.click('[data-testid=new-key-dismiss]');
      await page.waitForSelector('[data-testid=new-key-box]', { state: 'hidden' });
      const leaks = await page.evaluate((s) => ({
        dom: document.documentElement.outerHTML.includes(s),
        text: document.body.innerText.includes(s),
        session: JSON.stringify(sessionStorage).includes(s),
        local: JSON.stringify(localStorage).includes(s),
      }), secret);
      assert.deepEqual(leaks, { dom: false, text: false, session: false, local: false });

      // Spend tokens with the new key from Node.
      const chat = await postJson(`${server.baseURL}/chat/completions`, {
        model: 'qwen3-e2e', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8,
      }, { authorization: `Bearer ${secret}` });
      assert.equal(chat.status, 200, chat.text);
      const usage = chat.json.usage;
      assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0, JSON.stringify(usage));

      // The ledger commits shortly after; refresh until the page shows it.
      await sleep(1500);
      const acmeRow = '[data-testid=usage-row-acme]';
      let seen = false;
      for (let i = 0; i < 20 && !seen; i++) {
        await page.click('[data-testid=usage-refresh]');
        await sleep(250);
        seen = (await page.$(acmeRow)) !== null && await cell(page, acmeRow, 'requests') === 1;
      }
      assert.ok(seen, 'a usage row for acme with 1 request');
      assert.equal(await cell(page, acmeRow, 'prompt_tokens'), usage.prompt_tokens);
      assert.equal(await cell(page, acmeRow, 'completion_tokens'), usage.completion_tokens);
      assert.equal(await cell(page, acmeRow, 'total_tokens'),
        usage.prompt_tokens + usage.completion_tokens);
      const today = new Date().toISOString().slice(0, 10);
      assert.ok((await page.textContent(acmeRow)).includes(today));

      // The chart drew one stacked bar for today with non-zero parts.
      const bars = await page.$$eval('[data-testid=usage-chart] svg g.bar', (gs) => gs.map((g) => ({
        period: g.dataset.period,
        heights: [...g.querySelectorAll('rect')].map((r) => Number(r.getAttribute('height'))),
      })));
      assert.equal(bars.length, 1, JSON.stringify(bars));
      assert.equal(bars[0].period, today);
      assert.ok(bars[0].heights.length === 2 && bars[0].heights.every((h) => h > 0), JSON.stringify(bars));

      // The tenant filter: acme alone, then by hour.
      await page.selectOption('[data-testid=usage-tenant]', { label: 'acme' });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid^=usage-row-]').length > 0 &&
        [...document.querySelectorAll('[data-testid^=usage-row-]')].every((r) => r.dataset.tenant === 'acme'));
      await page.selectOption('[data-testid=usage-group]', 'hour');
      await page.waitForFunction(() => document.querySelector('[data-testid=usage-chart] g.bar')
        ?.dataset.period.includes('T'));

      // The CSV: fetched with the header, saved from a Blob URL.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('[data-testid=usage-csv]'),
      ]);
      assert.match(download.url(), /^blob:/);
      const csv = fs.readFileSync(await download.path(), 'utf8');
      const lines = csv.trim().split(/\r?\n/);
      assert.match(lines[0], /^tenant,model,hour,requests,prompt_tokens/);
      assert.equal(lines.length, 2, csv);
      const rec = Object.fromEntries(lines[0].split(',').map((h, i) => [h, lines[1].split(',')[i]]));
      assert.equal(rec.tenant, acme.id, csv);
      assert.equal(rec.model, 'qwen3-e2e', csv);
      assert.match(rec.hour, /^\d{4}-\d\d-\d\dT\d\d$/, csv);
      assert.equal(Number(rec.requests), 1, csv);
      assert.equal(Number(rec.prompt_tokens), usage.prompt_tokens, csv);
      assert.equal(Number(rec.completion_tokens), usage.completion_tokens, csv);
      assert.equal(Number(rec.total_tokens), usage.prompt_tokens + usage.completion_tokens, csv);

      // The live state panel shows numbers and the committed record.
      await page.waitForFunction(() => {
        const t = (id) => document.querySelector(`[data-testid=${id}]`).textContent;
        return /^\d+$/.test(t('state-running')) && /^\d+$/.test(t('state-waiting')) &&
          /^\d+(\.\d)? %$/.test(t('state-kv')) && Number(t('state-committed')) >= 1 &&
          t('state-healthy') === 'healthy' && t('state-available') === 'available';
      }, null, { timeout: 10000 });

      const shot = path.join(process.env.TMPDIR || os.tmpdir(), 'yun-admin-console.png');
      await page.screenshot({ path: shot, fullPage: true });

      // Revoke through the page (confirm() accepted): the key gets 401.
      page.once('dialog', (d) => d.accept());
      await page.click(`[data-testid=key-revoke-${keyId}]`);
      await page.waitForFunction((id) => document.querySelector(`[data-testid=key-status-${id}]`)
        ?.textContent === 'revoked', keyId);
      assert.equal(await page.$(`[data-testid=key-revoke-${keyId}]`), null);
      const denied = await postJson(`${server.baseURL}/chat/completions`, {
        model: 'qwen3-e2e', messages: [{ role: 'user', content: 'again' }], max_tokens: 4,
      }, { authorization: `Bearer ${secret}` });
      assert.equal(denied.status, 401, denied.text);

      // No key ever went into a URL; the assets loaded.
      for (const u of urls) {
        assert.ok(!u.includes(adminKey) && !u.includes(secret), `a key in a URL: ${u}`);
      }
      assert.deepEqual(failed, []);
    } finally {
      await context.close();
    }
  });

  test('a wrong key and a non-admin key are refused visibly; suspend and activate a tenant', async () => {
    const { context, page } = await openConsole();
    try {
      await signIn(page, 'yun-not-a-key');
      await page.waitForSelector('[data-testid=auth-error]', { state: 'visible' });
      assert.match(await page.textContent('[data-testid=auth-error]'), /not accepted \(401\)/);
      assert.equal(await page.isVisible('[data-testid=state-panel]'), false);
      assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);

      // An inference key of some tenant: 403, told as "not an admin key".
      const auth = { authorization: `Bearer ${adminKey}` };
      const t = await postJson(`${server.url}/admin/v1/tenants`, { name: 'beta' }, auth);
      assert.equal(t.status, 201, t.text);
      const k = await postJson(`${server.url}/admin/v1/tenants/${t.json.id}/keys`, { scope: 'inference' }, auth);
      assert.equal(k.status, 201, k.text);
      await signIn(page, k.json.key);
      await page.waitForFunction(() => document.querySelector('[data-testid=auth-error]')
        .textContent.includes('403'));
      assert.match(await page.textContent('[data-testid=auth-error]'), /admin-scoped key/);
      assert.equal(await page.isVisible('[data-testid=state-panel]'), false);

      // Signed in properly, suspend beta from its row (confirm() accepted):
      // its key is refused, then activate it again.
      await signIn(page, adminKey);
      await page.waitForSelector('[data-testid=tenant-toggle-beta]');
      assert.equal(await page.isVisible('[data-testid=auth-error]'), false);
      assert.equal(await page.$('[data-testid=tenant-toggle-admin]'), null);
      page.once('dialog', (d) => d.accept());
      await page.click('[data-testid=tenant-toggle-beta]');
      await page.waitForFunction(() => document.querySelector('[data-testid=tenant-row-beta]')
        .textContent.includes('suspended'));
      const chat = () => postJson(`${server.baseURL}/chat/completions`, {
        model: 'qwen3-e2e', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2,
      }, { authorization: `Bearer ${k.json.key}` });
      const refused = await chat();
      assert.equal(refused.status, 403, refused.text);
      assert.match(refused.json.error.message, /suspended/);
      await page.click('[data-testid=tenant-toggle-beta]');
      await page.waitForFunction(() => document.querySelector('[data-testid=tenant-row-beta] .pill')
        .textContent === 'active');
      const served = await chat();
      assert.equal(served.status, 200, served.text);
    } finally {
      await context.close();
    }
  });
});
