// What `--pow-bits` costs a browser (docs/performance.md, "Proof of work"): the page's own Web
// Worker (static/pow.js, served by a real anonchat-server) in headless Chromium, for each N over
// several random challenges, as the page runs it (engine 'auto': the faster of WebCrypto and the
// worker's JavaScript SHA-256), and WebCrypto alone for the first N.
//
//   node tests/browser/pow-bench.mjs path/to/anonchat-server [K challenges, default 15] [Ns, default 16,18,20]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [serverBin, kArg, nArg] = process.argv.slice(2);
if (!serverBin) {
  console.error('usage: node pow-bench.mjs path/to/anonchat-server [K] [16,18,20]');
  process.exit(2);
}
const K = Number(kArg || 15);
const NS = (nArg || '16,18,20').split(',').map(Number);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anonchat-powbench-'));
const server = spawn(path.resolve(serverBin), ['--port', '0', '--db', path.join(tmp, 'chat.db'), '--threads', '1'],
  { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let out = '';
  server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  server.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening on (https?:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
});

const median = (v) => { const s = [...v].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2; };

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(base);
  console.log(`# ${await browser.version()}, ${os.cpus()[0].model}, ${K} challenges per N`);
  const runs = NS.map((n) => ({ n, engine: 'auto' })).concat([{ n: NS[0], engine: 'subtle' }]);
  for (const { n, engine } of runs) {
    const challenges = Array.from({ length: K }, () => crypto.randomBytes(16).toString('hex'));
    const results = await page.evaluate(async ({ challenges, n, engine }) => {
      const out = [];
      for (const challenge of challenges) {
        const worker = new Worker('/static/pow.js');
        const r = await new Promise((resolve) => {
          worker.onmessage = (ev) => { if (ev.data.type === 'solved') resolve(ev.data); };
          worker.postMessage({ challenge, bits: n, engine });
        });
        worker.terminate();
        out.push(r);
      }
      return out;
    }, { challenges, n, engine });
    const ms = results.map((r) => r.ms);
    const tries = results.reduce((a, r) => a + r.tries, 0);
    const total = ms.reduce((a, b) => a + b, 0);
    const rate = tries / (total / 1000);
    const used = results.filter((r) => r.subtle).length;
    const how = `${engine} (WebCrypto used ${used}/${K})`;
    console.log(`chromium ${how} N=${n}: median ${median(ms).toFixed(0)} ms, mean ${(total / K).toFixed(0)} ms; ` +
      `${rate.toFixed(0)} hashes/s, so 2^N hashes (the mean work) take ${((2 ** n) / rate * 1000).toFixed(0)} ms`);
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
