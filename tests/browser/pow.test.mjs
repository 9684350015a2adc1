// Admission by proof of work (`--pow-bits`, PROTOCOL.md) in real headless Chromium against a
// real anonchat-server:
//
//   node tests/browser/pow.test.mjs path/to/anonchat-server
//
// A raw WebSocket (in the browser) is refused without a nonce (pow_required) and with a wrong one
// (pow_invalid) and admitted with a right one; two pages solve their challenges in the page's Web
// Worker (progress shown), are matched and chat; a dropped page resumes and queues again without
// a second proof. Every nonce the pages send is checked here with Node's own SHA-256. Prints
// every check, then "N passed, M failed"; exit code 0 only if M is 0.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Server, check, run, serverBinArg } from './harness.mjs';

const serverBin = serverBinArg('pow.test.mjs');

const WAIT = 15000;
const BITS = 12;

// ------------------------------------------------------------------ the proof, computed apart

function zeroBits(digest) {
  let n = 0;
  for (const b of digest) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}
const powBits = (challengeHex, nonce) => zeroBits(crypto.createHash('sha256')
  .update(Buffer.concat([Buffer.from(challengeHex, 'hex'), Buffer.from(nonce, 'utf8')])).digest());
function solve(challengeHex) {
  for (let n = 0; ; n++) if (powBits(challengeHex, String(n)) >= BITS) return String(n);
}
function wrong(challengeHex) {
  for (let n = 0; ; n++) if (powBits(challengeHex, `no-${n}`) < BITS) return `no-${n}`;
}

// ------------------------------------------------------------------ server

const server = new Server(serverBin, 'anonchat-pow-');
const startServer = () => server.start({ args: ['--pow-bits', String(BITS), '--threads', '2'] });

// ------------------------------------------------------------------ pages

const watched = [];

async function openPage(browser, label) {
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 800 } });
  await ctx.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
    // Every text the waiting card shows, to see the proof's progress however fast it is.
    window.__waitingTexts = [];
    new MutationObserver(() => {
      const el = document.getElementById('waiting-detail');
      if (el && el.textContent) window.__waitingTexts.push(el.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const page = await ctx.newPage();
  const w = { label, page, ctx, consoleErrors: [], pageErrors: [], sockets: [] };
  page.on('console', (m) => { if (m.type() === 'error') w.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('websocket', (ws) => {
    const rec = { sent: [], recv: [] };
    w.sockets.push(rec);
    const parse = (p) => { try { return JSON.parse(String(p)); } catch { return { event: '<unparsable>' }; } };
    ws.on('framesent', (f) => rec.sent.push(parse(f.payload)));
    ws.on('framereceived', (f) => rec.recv.push(parse(f.payload)));
  });
  watched.push(w);
  return w;
}

const allRecv = (w, event) => w.sockets.flatMap((s) => s.recv.filter((f) => f.event === event));
const allSent = (w, event) => w.sockets.flatMap((s) => s.sent.filter((f) => f.event === event));

async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    let v = null;
    try { v = await fn(); } catch { v = null; }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const phase = (w) => w.page.getAttribute('#app', 'data-phase');

// A raw WebSocket in the page's context: sends `frames` one by one after `welcome`, each time
// waiting for the next answer; returns [welcome, ...answers].
function rawExchange(w, frames) {
  return w.page.evaluate(async ({ frames, wait }) => {
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws');
    const inbox = [];
    let wake = null;
    ws.onmessage = (ev) => { inbox.push(JSON.parse(ev.data)); if (wake) wake(); };
    const next = async () => {
      const end = Date.now() + wait;
      while (!inbox.length) {
        if (Date.now() > end) throw new Error('no answer');
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
      return inbox.shift();
    };
    const out = [await next()];
    for (const f of frames) {
      const data = typeof f === 'function' ? f(out[0]) : f;
      ws.send(JSON.stringify(data));
      out.push(await next());
    }
    ws.close();
    return out;
  }, { frames, wait: WAIT });
}

async function main() {
  const base = await startServer();
  console.log(`# server at ${base} with --pow-bits ${BITS}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const A = await openPage(browser, 'A');
    const B = await openPage(browser, 'B');
    const R = await openPage(browser, 'raw');   // its page only hosts the raw WebSockets
    for (const w of [A, B, R]) {
      await w.page.goto(base);
      await w.page.waitForSelector('#start:not([disabled])', { timeout: WAIT });
    }

    await check('CSP allows the worker from the page\'s own origin only', async () => {
      const csp = (await fetch(base)).headers.get('content-security-policy') || '';
      assert.ok(csp.includes("worker-src 'self'"), csp);
      const r = await fetch(new URL('static/pow.js', base));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') || '', /^text\/javascript/);
    });

    await check('welcome carries pow: 32 hex digits and the bits, one challenge per connection', async () => {
      const [w1] = await rawExchange(R, []);
      const [w2] = await rawExchange(R, []);
      assert.equal(w1.event, 'welcome');
      assert.match(w1.data.pow.challenge, /^[0-9a-f]{32}$/);
      assert.equal(w1.data.pow.bits, BITS);
      assert.notEqual(w1.data.pow.challenge, w2.data.pow.challenge);
    });

    await check('raw client: join_queue without pow_nonce → pow_required, wrong → pow_invalid, right → waiting', async () => {
      // The nonces are computed here in Node from the welcome the page's socket got.
      const [welcome] = await rawExchange(R, []);
      assert.ok(welcome.data.pow);
      const answers = await R.page.evaluate(async ({ wait }) => {
        const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws');
        const inbox = [];
        ws.onmessage = (ev) => inbox.push(JSON.parse(ev.data));
        const take = async () => {
          const end = Date.now() + wait;
          while (!inbox.length) { if (Date.now() > end) throw new Error('no answer'); await new Promise((r) => setTimeout(r, 20)); }
          return inbox.shift();
        };
        const w = await take();
        window.__rawWs = ws; window.__rawTake = take;
        return w;
      }, { wait: WAIT });
      const challenge = answers.data.pow.challenge;
      const exchange = (data) => R.page.evaluate(async (data) => {
        window.__rawWs.send(JSON.stringify(data));
        return window.__rawTake();
      }, data);
      let r = await exchange({ event: 'join_queue', data: {} });
      assert.equal(r.event, 'error'); assert.equal(r.data.code, 'pow_required'); assert.equal(r.data.event, 'join_queue');
      r = await exchange({ event: 'join_queue', data: { pow_nonce: wrong(challenge) } });
      assert.equal(r.event, 'error'); assert.equal(r.data.code, 'pow_invalid');
      r = await exchange({ event: 'join_queue', data: { pow_nonce: solve(challenge) } });
      assert.equal(r.event, 'waiting', JSON.stringify(r));
      r = await exchange({ event: 'leave_queue', data: {} });
      assert.equal(r.event, 'queue_left');
      await R.page.evaluate(() => window.__rawWs.close());
    });

    await check('page: Start solves in the Web Worker with progress, then queues with a valid pow_nonce', async () => {
      await A.page.click('#start');
      const join = await until('join_queue from A', async () => allSent(A, 'join_queue')[0]);
      const welcome = allRecv(A, 'welcome')[0];
      assert.ok(join.data.pow_nonce, `join_queue without pow_nonce: ${JSON.stringify(join)}`);
      assert.ok(powBits(welcome.data.pow.challenge, join.data.pow_nonce) >= BITS, 'the nonce does not solve');
      await until('waiting at A', async () => allRecv(A, 'waiting').length > 0);
      const texts = await A.page.evaluate(() => window.__waitingTexts);
      assert.ok(texts.some((t) => /^Checking your browser… \d+%$/.test(t)), `no progress shown: ${JSON.stringify(texts.slice(0, 5))}`);
      assert.equal(allRecv(A, 'error').length, 0, JSON.stringify(allRecv(A, 'error')));
    });

    await check('page: a dropped page resumes and queues again with no second proof', async () => {
      const before = A.sockets.length;
      await A.ctx.setOffline(true);
      await A.page.waitForSelector('#status:not([data-state="online"])', { timeout: WAIT });
      await A.ctx.setOffline(false);
      const s = await until('resumed', async () => A.sockets[before] && A.sockets[before].recv.find((f) => f.event === 'resumed') && A.sockets[before]);
      const join = await until('join_queue after resume', async () => s.sent.find((f) => f.event === 'join_queue'));
      assert.ok(!join.data.pow_nonce, `a second proof was sent: ${JSON.stringify(A.sockets.map((x) => [x.sent, x.recv]))}`);
      await until('waiting after resume', async () => s.recv.find((f) => f.event === 'waiting'));
      assert.equal(s.recv.filter((f) => f.event === 'error').length, 0, JSON.stringify(A.sockets.map((x) => [x.sent, x.recv])));
      assert.equal(await phase(A), 'waiting');
    });

    await check('two pages that solved are matched and chat', async () => {
      await B.page.click('#start');
      await A.page.waitForSelector('#app[data-phase="chatting"]', { timeout: WAIT });
      await B.page.waitForSelector('#app[data-phase="chatting"]', { timeout: WAIT });
      const join = allSent(B, 'join_queue')[0];
      assert.ok(powBits(allRecv(B, 'welcome')[0].data.pow.challenge, join.data.pow_nonce) >= BITS);
      await B.page.fill('#input', 'after the proof');
      await B.page.press('#input', 'Enter');
      await until('message at A', async () => allRecv(A, 'new_message').some((f) => f.data.content === 'after the proof'));
    });

    await check('next needs no new proof once admitted', async () => {
      await A.page.click('#next');
      const next = await until('next from A', async () => allSent(A, 'next')[0]);
      assert.ok(!next.data.pow_nonce);
      await until('waiting', async () => allRecv(A, 'waiting').length >= 2);
      assert.equal(allRecv(A, 'error').length, 0);
    });

    await check('no CSP violations, console errors or page errors', async () => {
      const problems = [];
      for (const w of watched) {
        const csp = await w.page.evaluate(() => window.__cspViolations || []);
        for (const e of csp) problems.push(`${w.label} CSP: ${e}`);
        for (const e of w.consoleErrors) problems.push(`${w.label} console: ${e}`);
        for (const e of w.pageErrors) problems.push(`${w.label} page: ${e}`);
      }
      assert.deepEqual(problems, []);
    });
  } finally {
    await browser.close().catch(() => {});
  }
}

await run(main, server, { stopSignal: 'SIGTERM' });
