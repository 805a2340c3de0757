// The one table of bench/h200-kernels-s8.sh: every row of every step's `bench kernels --json` output, with its
// time against the PyTorch anchor of the same call, plus the MoSKA-vs-per-request ratios. Writes the table's rows
// as JSON too.
//   node bench/s8-table.mjs <dir with <step>.json files> <summary.json> "<steps in order>"
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, outPath, stepList] = process.argv.slice(2);
const steps = (stepList ?? '').split(/\s+/).filter(s => s && s !== 'anchor');
const anchorPath = join(dir, 'anchor-torch.json');
const anchor = existsSync(anchorPath) ? JSON.parse(readFileSync(anchorPath, 'utf8')).rows : {};
const read = name => {
  const f = join(dir, `${name}.json`);
  if (!existsSync(f)) return { error: 'not run' };
  try { return JSON.parse(readFileSync(f, 'utf8')); } catch (e) { return { error: `no JSON (${e.message.slice(0, 60)})` }; }
};
// Which rows of a step go in the table: shared and unique rows (perreq and moska appear in the ratio lines below;
// the device call returns only the last 12 KB of output, so the table stays about 80 lines).
const bOf = key => Number(/ B=(\d+)/.exec(key)?.[1] ?? 0);
const wanted = key => /^(shared (dense|top25)|unique )/.test(key);
const out = [];
const lines = [];
const pad = (s, n) => String(s).padEnd(n);
const num = (x, d) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
lines.push(`${pad('variant', 17)}${pad('shape', 25)}${pad('kv', 5)}${pad('ms', 9)}${pad('x anch', 7)}${pad('%anBW', 6)}${pad('err', 8)}kernel / note`);
const byStep = {};
for (const st of steps) {
  const r = read(st);
  byStep[st] = r;
  if (r.error) { lines.push(`${pad(st, 17)}${r.error} (see ${st}.err)`); continue; }
  for (const x of r.rows.filter(x => wanted(x.key))) {
    const a = anchor[x.key];
    const xa = x.anchorMs !== undefined ? x.ms / x.anchorMs : undefined;
    const bw = a?.GBps && x.key.startsWith('unique') ? (100 * x.GBps) / a.GBps : undefined;
    const note = (x.note ?? '').split(',')[0].replace(' kernel', '');
    out.push({ variant: st, key: x.key, kv: x.kv, ms: x.ms, xAnchor: xa, pctAnchorBW: bw, err: x.err, GBps: x.GBps, note: x.note });
    lines.push(`${pad(st, 17)}${pad(x.key.replace('S=1048576 ', ''), 25)}${pad(x.kv, 5)}${pad(num(x.ms, 3), 9)}${pad(num(xa, 2), 7)}${pad(num(bw, 1), 6)}${pad(x.err === null || x.err === undefined ? '-' : x.err.toExponential(1), 8)}${note}`);
  }
}
// MoSKA vs per-request at the largest B (256), top-k 25%: the per-request time of the format's default step (the
// step named after the format) over each variant's moska time.
const last = (rows, re) => rows.filter(x => re.test(x.key)).sort((a, b) => bOf(a.key) - bOf(b.key)).at(-1);
for (const st of steps) {
  const rows = byStep[st]?.rows ?? [];
  const m = last(rows, /^moska top25 /);
  if (!m) continue;
  const pr = last(byStep[m.kv]?.rows ?? [], /^perreq /);
  const p = pr && bOf(pr.key) === bOf(m.key) ? pr.ms : undefined;
  const ratio = p !== undefined ? p / m.ms : undefined;
  out.push({ variant: st, key: `perreq/moska top25 B=${bOf(m.key)}`, kv: m.kv, ratio });
  lines.push(`${pad(st, 17)}${pad(`perreq/moska top25 B=${bOf(m.key)}`, 25)}${pad(m.kv, 5)}${p === undefined ? `no perreq row; moska ${num(m.ms, 3)} ms` : `${num(p, 2)} / ${num(m.ms, 3)} ms = ${num(ratio, 2)}x`}`);
}
writeFileSync(outPath, JSON.stringify({ anchor, rows: out }, null, 1));
console.log(lines.join('\n'));
