// The chart of docs/performance.md, from a results directory of scripts/bench.sh (read through
// tests/bench/results.mjs, as the table is): server CPU time per delivered message and latency p99,
// anonchat against the Node.js baseline, per scenario, as grouped bars in one SVG. No dependencies.
//   node scripts/perf-chart.mjs DIR OUT.svg
// DIR/table.md (written by scripts/bench.sh), when present, gives the machine and load lines.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadResult, previousLabel, readScenarios, serversOf } from '../tests/bench/results.mjs';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node scripts/perf-chart.mjs BENCH_RESULTS_DIR OUT.svg');
  process.exit(2);
}
if (!existsSync(join(dir, 'scenarios'))) {
  console.error(`perf-chart: ${dir} is not a results directory of scripts/bench.sh (no scenarios file)`);
  process.exit(1);
}

const panels = [
  { title: 'Server CPU time per delivered message', unit: 'µs', get: (r) => r.server?.cpu_us_per_message },
  { title: 'Latency from send to the partner’s receipt, p99', unit: 'ms', get: (r) => r.latency_ms?.p99 },
];
const servers = serversOf(dir);
const names = {
  anonchat: 'anonchat-server',
  previous: `anonchat-server before (${previousLabel(dir)})`,
  baseline: 'baseline: Node.js relay on ws (stores nothing)',
};
const colours = { anonchat: '#2f6db5', previous: '#9bb8dc', baseline: '#e08a3c' };

// The scenarios that deliver messages (not the joining one), in the run's order.
const groups = readScenarios(dir)
  .map(([name, title]) => ({ name, title, results: servers.map((s) => loadResult(dir, name, s)) }))
  .filter((g) => g.results.some((r) => r?.messages_delivered > 0));
if (!groups.length) {
  console.error(`perf-chart: no scenario with messages in ${dir}`);
  process.exit(1);
}

const notes = [];
const table = join(dir, 'table.md');
if (existsSync(table)) {
  for (const l of readFileSync(table, 'utf8').split('\n')) {
    if (/^(machine|load average)/.test(l)) notes.push(l);
  }
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) =>
  v === null || v === undefined ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);

// Axis ticks: 0 and steps of 1, 2 or 5 × 10^k, at least the maximum.
function ticks(max) {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const t = [];
  for (let v = 0; v < max + step * 0.999; v += step) t.push(Number(v.toPrecision(6)));
  return t;
}

// Splits a title into lines of at most `width` characters at spaces.
function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    const cur = lines[lines.length - 1];
    if (cur && cur.length + 1 + word.length > width) lines.push(word);
    else lines[lines.length - 1] = cur ? `${cur} ${word}` : word;
  }
  return lines;
}

const W = 980;
const left = 70;
const right = 20;
const plotH = 190;
const panelH = plotH + 120;
// With a third server the legend's note goes on a line of its own.
const legendLines = servers.length > 2 ? 2 : 1;
const top = 92 + notes.length * 16 + (legendLines - 1) * 18;
const H = top + (panels.length - 1) * panelH + 20 + plotH + 62;
const groupW = (W - left - right) / groups.length;
const barW = Math.min(48, groupW / (servers.length + 1.2));

const svg = [];
svg.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="12" fill="#222">`,
  `<rect width="${W}" height="${H}" fill="#fff"/>`,
  `<text x="${left}" y="26" font-size="17" font-weight="bold">anonchat against a Node.js relay: ` +
    `scripts/bench.sh, run ${esc(basename(resolve(dir)))}</text>`,
);
notes.forEach((n, i) => svg.push(`<text x="${left}" y="${46 + i * 16}" fill="#555">${esc(n)}</text>`));
{
  // Legend.
  let x = left;
  const y = 52 + notes.length * 16;
  for (const s of servers) {
    svg.push(`<rect x="${x}" y="${y}" width="14" height="14" fill="${colours[s]}"/>`);
    svg.push(`<text x="${x + 20}" y="${y + 12}">${esc(names[s])}</text>`);
    x += 40 + names[s].length * 7;
  }
  if (legendLines > 1) x = left;
  const noteY = y + 12 + (legendLines - 1) * 18;
  svg.push(`<text x="${x}" y="${noteY}" fill="#555">lower is better in both panels; ` +
    `“×” is anonchat ÷ baseline</text>`);
}

panels.forEach((panel, pi) => {
  const y0 = top + pi * panelH; // the panel's title line
  const base = y0 + 20 + plotH; // the x axis
  const values = groups.map((g) => g.results.map((r) => (r ? panel.get(r) : null)));
  const max = Math.max(...values.flat().filter((v) => typeof v === 'number'));
  const t = ticks(max);
  const scale = plotH / t[t.length - 1];
  svg.push(
    `<text x="${left}" y="${y0}" font-size="14" font-weight="bold">` +
      `${esc(panel.title)}, ${panel.unit}</text>`,
  );
  for (const v of t) {
    const y = base - v * scale;
    svg.push(`<line x1="${left}" x2="${W - right}" y1="${y}" y2="${y}" stroke="${v ? '#e4e4e4' : '#888'}"/>`);
    svg.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#555">${v}</text>`);
  }
  svg.push(
    `<text transform="translate(${left - 48} ${base - plotH / 2}) rotate(-90)" text-anchor="middle" ` +
      `fill="#555">${panel.unit}</text>`,
  );
  groups.forEach((g, gi) => {
    const cx = left + groupW * (gi + 0.5);
    values[gi].forEach((v, si) => {
      const x = cx + (si - servers.length / 2) * (barW + 4) + 2;
      if (typeof v !== 'number') {
        svg.push(`<text x="${x + barW / 2}" y="${base - 4}" text-anchor="middle">n/a</text>`);
        return;
      }
      const h = v * scale;
      svg.push(
        `<rect x="${x}" y="${base - h}" width="${barW}" height="${h}" fill="${colours[servers[si]]}">` +
          `<title>${esc(g.title)}, ${servers[si]}: ${fmt(v)} ${panel.unit}</title></rect>`,
        `<text x="${x + barW / 2}" y="${base - h - 4}" text-anchor="middle" font-size="11">` +
          `${fmt(v)}</text>`,
      );
    });
    wrap(g.title, 22).forEach((line, li) =>
      svg.push(`<text x="${cx}" y="${base + 16 + li * 14}" text-anchor="middle">${esc(line)}</text>`),
    );
    const a = values[gi][0];
    const b = values[gi][values[gi].length - 1];
    if (typeof a === 'number' && typeof b === 'number' && b > 0) {
      svg.push(`<text x="${cx}" y="${base + 48}" text-anchor="middle" font-weight="bold" fill="#555">` +
        `${(a / b).toFixed(2)}×</text>`);
    }
  });
});
svg.push('</svg>');
writeFileSync(out, `${svg.join('\n')}\n`);
console.log(`perf-chart: ${out} (${groups.length} scenarios from ${dir})`);
