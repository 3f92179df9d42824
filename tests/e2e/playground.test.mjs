// The playground page in a real browser (playwright-core + Debian chromium):
// type a message, see a streamed reply. Skipped when chromium is absent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';

import { prerequisites, startServer, launchChromium } from './helpers.mjs';

const chromium = '/usr/bin/chromium';
const skip = prerequisites() || (!fs.existsSync(chromium) && 'chromium is not installed');

describe('playground', { skip }, () => {
  test('type a message, see a streamed reply', async () => {
    const server = await startServer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url + '/');
      assert.equal(await page.title(), 'yun playground');
      await page.waitForFunction(() => document.querySelector('#model option') !== null);
      assert.equal(await page.$eval('#model', (s) => s.value), 'qwen3-e2e');
      await page.fill('#max_tokens', '12');
      await page.fill('#input', 'Hello there');
      await page.click('#send');
      await page.waitForSelector('.msg.user');
      await page.waitForFunction(() => document.querySelector('#status').textContent === 'ready' &&
        document.querySelector('#stats').textContent.includes('completion'), null,
      { timeout: 60000 });
      const user = await page.$eval('.msg.user', (d) => d.textContent);
      assert.equal(user, 'Hello there');
      const reply = await page.$eval('.msg.assistant', (d) => d.textContent);
      assert.ok(reply.length > 0);
      assert.match(await page.$eval('#stats', (d) => d.textContent), /12 completion tokens/);
      const css = await page.evaluate(async () => (await fetch('/style.css')).status);
      assert.equal(css, 200);
    } finally {
      await browser.close();
      assert.equal(await server.stop(), 0);
    }
  });
});
