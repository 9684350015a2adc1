// Screenshots of the anonchat page during a real chat between two browser pages.
//
//   node tests/browser/screenshot.mjs OUT_DIR [path/to/anonchat-server]
//
// Starts the server on a free port with a throw-away database, then for English and Chinese,
// light and dark, desktop (1280x800) and phone (390x844) opens two pages, matches them, lets
// them chat, and writes PNGs of the start page, the waiting screen, the chat and the ended
// chat into OUT_DIR. Uses Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = process.argv[2];
const serverBin = path.resolve(process.argv[3] || path.join(here, '../../build/server/anonchat-server'));
if (!outDir) {
  console.error('usage: node screenshot.mjs OUT_DIR [path/to/anonchat-server]');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function startServer() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anonchat-shots-'));
  const proc = spawn(serverBin, ['--port', '0', '--db', path.join(tmp, 'chat.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr.on('data', () => {});
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not print its URL within 20 s')), 20000);
    proc.on('exit', (code) => reject(new Error(`server exited early with code ${code}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/anonchat-server listening on (https?:\/\/\S+?)\/?\s/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1].replace(/\/$/, '') + '/', tmp });
      }
    });
  });
}

const SCRIPT = {
  en: [
    ['a', 'Hey! 👋 Where are you writing from?'],
    ['b', 'Hi! From Lisbon. It is raining, as usual.'],
    ['a', 'Nice, I have always wanted to go.\nAny tips for a first visit?'],
    ['b', 'Take tram 28 early in the morning, before the crowds, and eat a pastel de nata still warm.'],
    ['a', 'Noted 😄'],
  ],
  zh: [
    ['a', '你好！👋 你在哪个城市？'],
    ['b', '嗨！我在成都，今天出太阳了。'],
    ['a', '羡慕，成都的火锅我一直想去试试。\n有什么推荐吗？'],
    ['b', '去玉林路那边的小店，人少味道好，记得点毛肚和鸭肠。'],
    ['a', '记下了 😄'],
  ],
};

async function newPage(browser, baseUrl, opts) {
  const ctx = await browser.newContext({
    locale: opts.lang === 'zh' ? 'zh-CN' : 'en-US',
    colorScheme: opts.scheme,
    viewport: opts.viewport,
    deviceScaleFactor: opts.phone ? 2 : 1,
    isMobile: opts.phone,
    hasTouch: opts.phone,
    timezoneId: 'Europe/Lisbon',
  });
  const page = await ctx.newPage();
  await page.goto(baseUrl);
  await page.waitForSelector('#start:not([disabled])');
  return { ctx, page };
}

async function shoot(page, name) {
  await page.waitForTimeout(350);   // let entry animations finish
  const file = path.join(outDir, name + '.png');
  await page.screenshot({ path: file });
  console.log('wrote', file);
}

async function run() {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    for (const lang of ['en', 'zh']) {
      for (const scheme of ['light', 'dark']) {
        for (const device of ['desktop', 'phone']) {
          const phone = device === 'phone';
          const viewport = phone ? { width: 390, height: 844 } : { width: 1280, height: 800 };
          const opts = { lang, scheme, viewport, phone };
          const tag = `${lang}-${scheme}-${device}`;
          const a = await newPage(browser, server.url, opts);
          const b = await newPage(browser, server.url, opts);

          const interest = lang === 'zh' ? '旅行' : 'travel';
          for (const p of [a.page, b.page]) {
            await p.fill('#interests', interest + ',');
          }
          await a.page.fill('#interests', lang === 'zh' ? '美食' : 'food');
          await a.page.press('#interests', 'Enter');
          await shoot(a.page, `${tag}-1-start`);

          await a.page.click('#start');
          await a.page.waitForSelector('#waiting:not([hidden])');
          await shoot(a.page, `${tag}-2-waiting`);

          await b.page.click('#start');
          await a.page.waitForSelector('#app[data-phase="chatting"]');
          await b.page.waitForSelector('#app[data-phase="chatting"]');

          let count = 0;
          for (const [who, text] of SCRIPT[lang]) {
            const p = who === 'a' ? a.page : b.page;
            await p.fill('#input', text);
            await p.press('#input', 'Enter');
            count += 1;
            await a.page.waitForFunction((n) => document.querySelectorAll('#messages .msg[data-id]').length >= n, count);
          }
          // The partner starts typing; A sees the indicator and has a draft of its own.
          await b.page.type('#input', lang === 'zh' ? '还有' : 'Also', { delay: 20 });
          await a.page.waitForSelector('#typing:not([hidden])');
          await a.page.fill('#input', lang === 'zh' ? '好的，谢谢！' : 'Thanks, that sounds great!');
          await a.page.dispatchEvent('#input', 'input');
          await shoot(a.page, `${tag}-3-chat`);

          await b.page.click('#leave');
          await a.page.waitForSelector('#app[data-phase="ended"]');
          await shoot(a.page, `${tag}-4-ended`);

          await a.ctx.close();
          await b.ctx.close();
        }
      }
    }
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
    fs.rmSync(server.tmp, { recursive: true, force: true });
  }
}

run().catch((e) => {
  console.error(e);
  process.exit(1);
});
