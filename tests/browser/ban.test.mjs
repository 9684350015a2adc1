// A ban as the page shows it, in real headless Chromium against a real anonchat-server.
//
//   node tests/browser/ban.test.mjs path/to/anonchat-server
//
// Two pages chat, one reports the other with the page's Report button, the test bans the reported
// address through the moderation API (--admin-token-file), and the banned page says until when,
// stays away (no reconnecting in a loop), still says so after a reload and in Chinese, and tries
// once more only when the ban is over. The reporter and the reported need two addresses: every
// 127.x.y.z a browser dials arrives from 127.0.0.1, so the server listens on 0.0.0.0 and the
// reported page opens it at this machine's LAN address (skipped when there is none).
// Prints every check, then one line "N passed, M failed"; exit code 0 only if M is 0.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Server, check, pollUntil, run, serverBinArg, skip } from './harness.mjs';

const serverBin = serverBinArg('ban.test.mjs');

const WAIT = 10000;
const QUIET_MS = 4000;   // how long a banned page is watched for new connections
const TOKEN = 'ban-test-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);

// ------------------------------------------------------------------ server

const server = new Server(serverBin, 'anonchat-ban-');
const tokenFile = path.join(server.tmp, 'admin-token');
fs.writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });

/// Starts the server on all addresses; resolves to its port.
async function startServer() {
  const base = await server.start({ args: ['--host', '0.0.0.0', '--admin-token-file', tokenFile, '--auto-ban-reports', '0'] });
  return Number(new URL(base).port);
}

/// The first IPv4 address of this machine that is not loopback, or null.
function lanAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return null;
}

let apiBase = '';
async function api(method, p, body) {
  const r = await fetch(apiBase + p, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// ------------------------------------------------------------------ pages

async function openPage(browser, locale, label, { fakeClock = false } = {}) {
  const ctx = await browser.newContext({ locale, viewport: { width: 1000, height: 760 } });
  const page = await ctx.newPage();
  if (fakeClock) await page.clock.install();
  const w = { label, page, ctx, pageErrors: [], sockets: [] };
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), recv: [], closed: false };
    w.sockets.push(rec);
    ws.on('framereceived', (f) => { try { rec.recv.push(JSON.parse(String(f.payload))); } catch { /* not JSON */ } });
    ws.on('close', () => { rec.closed = true; });
  });
  return w;
}

const allRecv = (w, event) => w.sockets.flatMap((s) => s.recv.filter((f) => f.event === event));
const bannedErrors = (w) => allRecv(w, 'error').filter((f) => f.data && f.data.code === 'banned');

const until = (what, fn, ms = WAIT) => pollUntil(what, fn, ms);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitPhase(w, p) { await w.page.waitForSelector(`#app[data-phase="${p}"]`, { timeout: WAIT }); }

/// The banned notice as the page shows it, once shown.
async function bannedNotice(w) {
  await w.page.waitForSelector('#notice:not([hidden])', { timeout: WAIT });
  await w.page.waitForSelector('#status[data-state="banned"]', { timeout: WAIT });
  return {
    text: (await w.page.textContent('#notice')).trim(),
    until: await w.page.getAttribute('#notice', 'data-until'),
    start: await w.page.isEnabled('#start'),
  };
}

/// The local time the page should show for `until` (its own locale and time zone).
function shownTime(w, until, locale) {
  return w.page.evaluate(({ until, locale }) => new Date(until).toLocaleString(locale,
    { dateStyle: 'medium', timeStyle: 'short' }), { until, locale });
}

// ------------------------------------------------------------------ the checks

async function main() {
  const lan = lanAddress();
  if (!lan) {
    skip('every check', 'this machine has no non-loopback IPv4 address');
    return;
  }
  const port = await startServer();
  const reporterBase = `http://127.0.0.1:${port}/`;
  const reportedBase = `http://${lan}:${port}/`;
  apiBase = `http://127.0.0.1:${port}/admin/api`;
  console.log(`# server on port ${port}; reporter at ${reporterBase}, reported at ${reportedBase}`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const A = await openPage(browser, 'en-US', 'reporter');
  const B = await openPage(browser, 'en-US', 'reported');
  let ban = null;
  try {
    await check('two pages from two addresses chat; the reporter reports with the Report button', async () => {
      await A.page.goto(reporterBase);
      await B.page.goto(reportedBase);
      for (const w of [A, B]) await w.page.waitForSelector('#start:not([disabled])', { timeout: WAIT });
      await A.page.click('#start');
      await waitPhase(A, 'waiting');
      await B.page.click('#start');
      await waitPhase(A, 'chatting');
      await waitPhase(B, 'chatting');
      await B.page.fill('#input', 'buy my stuff');
      await B.page.press('#input', 'Enter');
      await until('the message at A', () => allRecv(A, 'new_message').some((m) => m.data.content === 'buy my stuff'));
      await A.page.click('#report');
      await A.page.selectOption('#report-reason', 'spam');
      await A.page.click('#report-confirm');
      await until('reported', () => allRecv(A, 'reported')[0]);
    });

    await check('the report is in the API with its transcript; a ban for 2 hours is made', async () => {
      const reports = await api('GET', '/reports?status=open');
      assert.equal(reports.status, 200);
      assert.equal(reports.json.reports.length, 1);
      const report = reports.json.reports[0];
      assert.equal(report.reason, 'spam');
      assert.deepEqual(report.messages.map((m) => m.content), ['buy my stuff']);
      const made = await api('POST', '/bans', { report_id: report.id, hours: 2, note: 'browser test' });
      assert.equal(made.status, 201);
      ban = made.json;
      const inMinutes = (Date.parse(ban.until) - Date.now()) / 60000;
      assert.ok(inMinutes > 119 && inMinutes <= 120, `until ${ban.until}`);
    });

    await check('the banned page says so with the local time the ban ends; Start is off', async () => {
      const n = await bannedNotice(B);
      const time = await shownTime(B, ban.until, undefined);
      assert.equal(n.text, `You are banned from this server until ${time}.`);
      assert.equal(n.until, new Date(Date.parse(ban.until)).toISOString());
      assert.equal(n.start, false, 'Start enabled while banned');
      await waitPhase(B, 'idle');
      assert.equal(bannedErrors(B).length, 1);
      assert.equal(bannedErrors(B)[0].data.until, ban.until);
      assert.equal((await B.page.textContent('#status')).trim(), 'Banned');
    });

    await check('the banned page does not reconnect while banned (no new socket for 4 s, nor when back online)', async () => {
      const before = B.sockets.length;
      await B.ctx.setOffline(true);
      await B.ctx.setOffline(false);   // the page's 'online' handler tries to reconnect at once
      await sleep(QUIET_MS);
      assert.equal(B.sockets.length, before, `${B.sockets.length - before} new connection(s)`);
      assert.ok(await B.page.isVisible('#notice'));
      assert.deepEqual(B.pageErrors, []);
    });

    await check('the reporter is not banned: still connected, partner gone', async () => {
      await A.page.waitForSelector('#status[data-state="online"]', { timeout: WAIT });
      assert.equal(bannedErrors(A).length, 0);
      await until('partner_away or partner_left at A', () => allRecv(A, 'partner_away')[0] || allRecv(A, 'partner_left')[0]);
      assert.ok(await A.page.isHidden('#notice') || !/banned/.test(await A.page.textContent('#notice')));
    });

    await check('after a reload the banned page still shows the notice (one refused connection, then quiet)', async () => {
      const before = B.sockets.length;
      await B.page.reload();
      const n = await bannedNotice(B);
      assert.match(n.text, /^You are banned from this server until .+\.$/);
      assert.equal(n.until, new Date(Date.parse(ban.until)).toISOString());
      await sleep(QUIET_MS);
      assert.equal(B.sockets.length - before, 1, 'connections after the reload');
      assert.equal(allRecv(B, 'welcome').length, 1, 'a welcome after the ban (only the first one before it)');
    });

    await check('in Chinese: the page\'s own string with the time', async () => {
      const Z = await openPage(browser, 'zh-CN', 'zh');
      await Z.page.goto(reportedBase);
      const n = await bannedNotice(Z);
      const time = await shownTime(Z, ban.until, 'zh-CN');
      assert.equal(n.text, `你已被此服务器封禁，直到 ${time}。`);
      assert.equal((await Z.page.textContent('#status')).trim(), '已被封禁');
      await Z.ctx.close();
    });

    await check('once the ban is over the page tries once more (banned again here: one connection, then quiet)', async () => {
      const C = await openPage(browser, 'en-US', 'clock', { fakeClock: true });
      await C.page.goto(reportedBase);
      await bannedNotice(C);
      const before = C.sockets.length;
      await C.page.clock.fastForward('01:59:00');   // still banned in the page's time: nothing
      await sleep(1500);
      assert.equal(C.sockets.length, before, 'reconnected before the ban ended');
      await C.page.clock.fastForward('00:02:00');   // past `until`: one attempt
      await until('a connection after the ban', () => C.sockets.length === before + 1);
      await until('banned again on it', () => C.sockets[before].recv.some((f) => f.event === 'error' && f.data.code === 'banned'));
      await sleep(QUIET_MS);
      assert.equal(C.sockets.length, before + 1, 'more than one attempt after the ban');
      assert.ok(await C.page.isVisible('#notice'));
      await C.ctx.close();
    });

    await check('lifted through the API: a new page from that address chats again', async () => {
      const lifted = await api('DELETE', `/bans/${ban.id}`);
      assert.equal(lifted.status, 204);
      assert.deepEqual((await api('GET', '/bans')).json.bans, []);
      const D = await openPage(browser, 'en-US', 'after lift');
      await D.page.goto(reportedBase);
      await D.page.waitForSelector('#status[data-state="online"]', { timeout: WAIT });
      assert.ok(await D.page.isHidden('#notice'));
      assert.ok(await D.page.isEnabled('#start'));
      await D.ctx.close();
    });
  } finally {
    await browser.close().catch(() => {});
  }
}

await run(main, server, { logTail: 3000, keepTmpOnFailure: true });
