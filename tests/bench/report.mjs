// Prints the table of scripts/bench.sh from the JSON lines anonchat-bench wrote into DIR:
// DIR/<scenario>.<server>.json, DIR/startup.<server> (start-up times in ms, one per line),
// DIR/scenarios (the scenario names and titles, "name<TAB>title" per line); read by results.mjs.
//   node tests/bench/report.mjs DIR
import { loadResult, previousLabel, readScenarios, serversOf, startupMs } from './results.mjs';

const dir = process.argv[2];
const servers = serversOf(dir);
const withPrevious = servers.includes('previous');
const load = (scenario, server) => loadResult(dir, scenario, server);

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (digits === undefined) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtRatio(r) {
  return `${r >= 0.1 ? fmt(r, 2) : r.toPrecision(2)}×`;
}

const rows = [];
const failures = [];
// better: 'higher' or 'lower'; get(result) -> number
// One row: each server's value, then anonchat ÷ baseline (and ÷ the earlier anonchat).
function pushRow(label, values, better, digits) {
  const a = values[0];
  const b = values[values.length - 1];
  const ratio = (x, y) => (x !== null && y !== null && y !== 0 ? fmtRatio(x / y) : 'n/a');
  const cells = [label, ...values.map((v) => (typeof v === 'string' ? v : fmt(v, digits)))];
  cells.push(typeof a === 'string' ? 'n/a' : ratio(a, b));
  if (withPrevious) cells.push(typeof a === 'string' ? 'n/a' : ratio(a, values[1]));
  cells.push(better);
  rows.push(cells);
}

// better: 'higher' or 'lower'; get(result) -> number
function row(label, scenario, better, get, digits) {
  const values = servers.map((s) => {
    const r = load(scenario, s);
    if (!r) return null;
    const v = get(r);
    return typeof v === 'number' ? v : null;
  });
  pushRow(label, values, better, digits);
}

const scenarios = readScenarios(dir);
const title = Object.fromEntries(scenarios);
for (const [name] of scenarios) {
  for (const s of servers) {
    const r = load(name, s);
    if (!r) failures.push(`${title[name]} / ${s}: no result`);
    else if (!r.ok) failures.push(`${title[name]} / ${s}: ${r.problems.join('; ')}`);
  }
}

const has = (name) => title[name] !== undefined;
for (const name of ['pp-small', 'pp-large', 'rate', 'crowd', 'one', 'idle']) {
  if (!has(name)) continue;
  const t = title[name];
  row(`${t}: **server CPU µs per delivered message**`, name, 'lower', (r) => r.server?.cpu_us_per_message);
  row(`${t}: messages/s delivered`, name, 'higher', (r) => r.messages_per_s, 0);
  row(`${t}: latency p50 ms`, name, 'lower', (r) => r.latency_ms.p50);
  row(`${t}: latency p99 ms`, name, 'lower', (r) => r.latency_ms.p99);
  row(`${t}: server CPU %`, name, '', (r) => r.server?.cpu_percent, 0);
  row(`${t}: load generator CPU %`, name, '', (r) => r.bench_cpu_percent, 0);
  if (name === 'one' || name === 'idle') continue;
  // anonchat's own (its /metrics): how its storage groups the rows it commits.
  row(`${t}: commits/s`, name, '', (r) => r.server?.commits_per_s, 0);
  row(`${t}: messages per commit`, name, 'higher', (r) => r.server?.rows_per_commit, 2);
}
if (has('one') && has('idle')) {
  // Flat cost per message: with the idle connections open against none, each server's own.
  const flat = servers.map((s) => {
    const x = load('idle', s)?.server?.cpu_us_per_message;
    const y = load('one', s)?.server?.cpu_us_per_message;
    return typeof x === 'number' && typeof y === 'number' && y > 0 ? x / y : null;
  });
  pushRow(
    `CPU per message, ${title.idle} ÷ 1 pair alone (each server its own)`,
    flat.map((f) => (f === null ? 'n/a' : fmtRatio(f))),
    'lower',
  );
}
if (has('idle')) {
  const t = title.idle;
  row(`${t}: connects/s`, 'idle', 'higher', (r) => r.connects_per_s, 0);
  row(`${t}: connections held`, 'idle', 'higher', (r) => r.connections_held, 0);
  row(`${t}: server CPU % with no traffic`, 'idle', 'lower', (r) => r.server?.idle_cpu_percent, 1);
  row('RSS per idle connection, bytes', 'idle', 'lower', (r) => r.server?.rss_per_idle_connection_bytes, 0);
  row(`${t}: server RSS MiB`, 'idle', 'lower', (r) => r.server && r.server.rss_idle_kb / 1024, 1);
  row('server RSS at start, MiB', 'idle', 'lower', (r) => r.server && r.server.rss_start_kb / 1024, 1);
}
if (has('join')) {
  const t = title.join;
  row(`${t}: time to all matched, ms`, 'join', 'lower', (r) => r.pairing_s * 1000, 0);
  row(`${t}: pairs/s`, 'join', 'higher', (r) => r.pairs_per_s, 0);
  row(`${t}: connects/s`, 'join', 'higher', (r) => r.connects_per_s, 0);
}
pushRow('start-up to printed URL, ms (median)', servers.map((s) => startupMs(dir, s)), 'lower', 0);

const header = withPrevious
  ? ['', 'anonchat', `anonchat before (${previousLabel(dir)})`, 'baseline (Node ws)', 'anonchat ÷ baseline', 'anonchat ÷ before', 'better']
  : ['', 'anonchat', 'baseline (Node ws)', 'anonchat ÷ baseline', 'better'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`);
for (const r of rows) console.log(line(r));
if (failures.length) {
  console.log('');
  for (const f of failures) console.log(`FAILED: ${f}`);
  process.exitCode = 1;
}
