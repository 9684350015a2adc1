// Reads a results directory of scripts/bench.sh: DIR/<scenario>.<server>.json (JSON lines from
// anonchat-bench; the last line is the summary), DIR/startup.<server> (start-up times in ms, one
// per line), DIR/scenarios ("name<TAB>title" per line). Shared by tests/bench/report.mjs (the
// table) and scripts/perf-chart.mjs (the chart of docs/performance.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const servers = ['anonchat', 'baseline'];

// The servers of a run: anonchat, the earlier anonchat-server it was compared with when the run
// had one (ANONCHAT_BENCH_PREVIOUS: DIR/previous.label names it), and the baseline.
export function serversOf(dir) {
  return existsSync(join(dir, 'previous.label')) ? ['anonchat', 'previous', 'baseline'] : servers;
}

// The label of the earlier anonchat-server of a run, or null.
export function previousLabel(dir) {
  const f = join(dir, 'previous.label');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : null;
}

// The summary of one scenario against one server, or null when it is missing or unreadable.
export function loadResult(dir, scenario, server) {
  const file = join(dir, `${scenario}.${server}.json`);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8').trim().split('\n').pop());
  } catch {
    return null;
  }
}

// [[name, title], ...] in the order of the run.
export function readScenarios(dir) {
  return readFileSync(join(dir, 'scenarios'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
}

export function median(values) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

// The median start-up time of one server in ms, or null.
export function startupMs(dir, server) {
  const f = join(dir, `startup.${server}`);
  if (!existsSync(f)) return null;
  return median(readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map(Number));
}
