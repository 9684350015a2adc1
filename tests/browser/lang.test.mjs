// The page's language for matching, in real headless Chromium against a real anonchat-server:
// `join_queue` carries the primary subtag of navigator.language (set by the browser context's
// locale), speakers of one language are paired first, and the matched notice names the shared
// language in the page's own language (PROTOCOL.md, "Matching").
//
//   node tests/browser/lang.test.mjs path/to/anonchat-server
//
// Prints every check, then one line "N passed, M failed"; exit code 0 only if M is 0.
// Needs playwright-core (npm install here) and Chromium at /usr/bin/chromium.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Server, check, run, serverBinArg } from './harness.mjs';

const serverBin = serverBinArg('lang.test.mjs');

const WAIT = 10000;
const INTEREST_WAIT_MS = 3000;   // --interest-wait 3: the first checks run well within it

const server = new Server(serverBin, 'anonchat-lang-');
const startServer = () => server.start({ args: ['--interest-wait', String(INTEREST_WAIT_MS / 1000)] });

// A page in its own context with `locale`, recording the frames of its WebSockets.
async function openPage(browser, base, locale) {
  const ctx = await browser.newContext({ locale, viewport: { width: 1000, height: 700 } });
  const page = await ctx.newPage();
  const w = { locale, page, sent: [], recv: [], errors: [] };
  page.on('pageerror', (e) => w.errors.push(String(e)));
  page.on('websocket', (ws) => {
    const parse = (p) => { try { return JSON.parse(String(p)); } catch { return { event: '<unparsable>' }; } };
    ws.on('framesent', (f) => w.sent.push(parse(f.payload)));
    ws.on('framereceived', (f) => w.recv.push(parse(f.payload)));
  });
  await page.goto(base);
  await page.waitForSelector('#start:not([disabled])', { timeout: WAIT });
  return w;
}

const lastSent = (w, event) => w.sent.filter((f) => f.event === event).at(-1);
const lastRecv = (w, event) => w.recv.filter((f) => f.event === event).at(-1);
const systemNotices = (w) => w.page.$$eval('#messages .msg--system .msg__text', (els) => els.map((e) => e.textContent));

async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function start(w) {
  const before = w.recv.length;
  await w.page.click((await w.page.getAttribute('#app', 'data-phase')) === 'ended' ? '#newchat' : '#start');
  await until(`${w.locale}: waiting or matched`, () => w.recv.slice(before).some((f) => f.event === 'waiting' || f.event === 'matched'));
}

async function leave(...pages) {
  for (const w of pages) {
    await w.page.click('#leave');
    await w.page.waitForSelector('#app[data-phase="ended"], #app[data-phase="idle"]', { timeout: WAIT });
  }
}

async function main() {
  const base = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const zhCN = await openPage(browser, base, 'zh-CN');
    const enUS = await openPage(browser, base, 'en-US');
    const zhTW = await openPage(browser, base, 'zh-TW');
    const enGB = await openPage(browser, base, 'en-GB');
    const deDE = await openPage(browser, base, 'de-DE');

    await check('join_queue carries the primary subtag of navigator.language', async () => {
      await start(zhCN);
      await start(enUS);
      assert.equal(lastSent(zhCN, 'join_queue').data.lang, 'zh');
      assert.equal(lastSent(enUS, 'join_queue').data.lang, 'en');
      assert.equal(lastRecv(zhCN, 'waiting').event, 'waiting');
      assert.ok(!lastRecv(enUS, 'matched'), 'en and zh were paired within the wait');
    });

    await check('speakers of one language are paired first; the notice names it in the page language', async () => {
      await start(zhTW);   // zh-TW is zh: paired with zh-CN, not with the longer-waiting en-US
      const m = await until('matched', () => lastRecv(zhCN, 'matched'));
      assert.equal(m.data.common_language, 'zh');
      assert.equal(lastSent(zhTW, 'join_queue').data.lang, 'zh');
      assert.equal(lastRecv(zhTW, 'matched').data.partner_id, lastRecv(zhCN, 'welcome').data.user_id);
      for (const w of [zhCN, zhTW]) {
        await w.page.waitForSelector('#app[data-phase="chatting"]', { timeout: WAIT });
        const notices = await systemNotices(w);
        assert.ok(notices.includes('你们都说中文。'), JSON.stringify(notices));
      }
      assert.ok(!lastRecv(enUS, 'matched'), 'en-US was paired too');
      await leave(zhCN);
    });

    await check('English pages: "You both speak English."', async () => {
      await start(enGB);
      const m = await until('matched', () => lastRecv(enGB, 'matched'));
      assert.equal(m.data.common_language, 'en');
      assert.equal(lastSent(enGB, 'join_queue').data.lang, 'en');
      for (const w of [enUS, enGB]) {
        await w.page.waitForSelector('#app[data-phase="chatting"]', { timeout: WAIT });
        assert.ok((await systemNotices(w)).includes('You both speak English.'));
      }
      await leave(enUS);
    });

    await check('other languages are paired only after the wait, with no language notice', async () => {
      // en-GB (its partner gone) queues again, de-DE joins: no shared language.
      await enGB.page.waitForSelector('#app[data-phase="ended"]', { timeout: WAIT });
      await start(enGB);
      const t0 = Date.now();
      await start(deDE);
      assert.equal(lastSent(deDE, 'join_queue').data.lang, 'de');
      const m = await until('matched', () => lastRecv(deDE, 'matched'));
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= INTEREST_WAIT_MS - 300, `paired after ${elapsed} ms`);
      assert.equal(m.data.common_language, null);
      await deDE.page.waitForSelector('#app[data-phase="chatting"]', { timeout: WAIT });
      const notices = await systemNotices(deDE);
      assert.ok(!notices.some((n) => /speak|说/.test(n)), JSON.stringify(notices));
    });

    await check('no page errors', async () => {
      for (const w of [zhCN, enUS, zhTW, enGB, deDE]) assert.deepEqual(w.errors, [], w.locale);
    });
  } finally {
    await browser.close().catch(() => {});
  }
}

await run(main, server);
