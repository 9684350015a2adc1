// What the browser tests here (*.test.mjs) share: the reporting (`check`, `skip`, `fail`, and the
// closing line "N passed, M failed" with its exit code), the anonchat-server they run against (a
// throw-away directory and database, started and waited for, its output kept), and how Chromium is
// launched. Each test is its own process, so the counts are this module's own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/// The anonchat-server binary named on the command line; without one, prints the usage of
/// `script` and exits with 2.
export function serverBinArg(script) {
  const bin = process.argv[2];
  if (!bin) {
    console.error(`usage: node ${script} path/to/anonchat-server`);
    process.exit(2);
  }
  return bin;
}

// ------------------------------------------------------------------ reporting

const counts = { passed: 0, failed: 0, skipped: 0 };

/// Runs one check and prints "ok   N name (ms)" or "FAIL N name" with the first lines of the error.
export async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    counts.passed += 1;
    console.log(`ok   ${String(counts.passed + counts.failed).padStart(2)} ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    counts.failed += 1;
    const msg = (e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n       ');
    console.log(`FAIL ${String(counts.passed + counts.failed).padStart(2)} ${name}\n       ${msg}`);
  }
}

export function skip(name, why) {
  counts.skipped += 1;
  console.log(`skip    ${name}: ${why}`);
}

/// A failure outside any check: counts it and prints `line` as it is.
export function fail(line) {
  counts.failed += 1;
  console.log(line);
}

/// Calls `fn` every 50 ms until it returns something truthy, which it resolves to; after `ms`
/// throws "timed out waiting for `what`" (with the last error `fn` threw, if any).
export async function pollUntil(what, fn, ms) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------ server

/// An anonchat-server with its own temporary directory (`tmp`) and database (`dbPath`). `log` is
/// all it wrote to stdout and stderr; `proc` is the current process, `exit` its { code, signal }
/// once it has ended (null while it runs), `exitPromise` resolves to that.
export class Server {
  constructor(bin, tmpPrefix) {
    this.bin = path.resolve(bin);
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    this.dbPath = path.join(this.tmp, 'chat.db');
    this.proc = null;
    this.exit = null;
    this.exitPromise = null;
    this.log = '';
  }

  /// Starts the server on `port` (0: a free one) with `args` added; resolves to the URL of its
  /// "listening on" line, ending in '/'.
  start({ port = 0, args = [] } = {}) {
    const proc = spawn(this.bin, ['--port', String(port), '--db', this.dbPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exit = null;
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); }));
    this.exitPromise = exited;
    proc.stderr.on('data', (d) => { this.log += d; });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('no "listening on" line within 20 s')), 20000);
      proc.on('error', (e) => { clearTimeout(timer); reject(e); });
      exited.then((x) => { clearTimeout(timer); reject(new Error(`server exited early: ${JSON.stringify(x)}\n${this.log}`)); });
      proc.stdout.on('data', (d) => {
        out += d;
        this.log += d;
        const m = out.match(/anonchat-server listening on (https?:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].endsWith('/') ? m[1] : m[1] + '/');
        }
      });
    });
  }

  kill(signal) {
    return this.proc.kill(signal);
  }

  get running() {
    return this.proc !== null && this.exit === null;
  }
}

// ------------------------------------------------------------------ the run

/// Runs `main`, counts an exception out of it as a failure, stops `server` with `stopSignal` if it
/// still runs, prints the last `logTail` characters of its output if anything failed, removes its
/// directory (or, with `keepTmpOnFailure`, keeps it after a failure and says so), prints
/// "N passed, M failed" (plus " (K skipped)") and exits, 0 only if nothing failed.
export async function run(main, server, { stopSignal = 'SIGKILL', logTail = 2000, keepTmpOnFailure = false } = {}) {
  try {
    await main();
  } catch (e) {
    fail(`FAIL  unexpected: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (server.running) server.kill(stopSignal);
    const keep = counts.failed > 0 && keepTmpOnFailure;
    if (counts.failed) console.log(`# server output (last ${logTail} chars):\n${server.log.slice(-logTail)}`);
    if (keep) console.log(`# kept ${server.tmp}`);
    else fs.rmSync(server.tmp, { recursive: true, force: true });
  }
  const { passed, failed, skipped } = counts;
  console.log(`${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ''}`);
  process.exit(failed === 0 ? 0 : 1);
}
