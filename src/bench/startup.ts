/**
 * `npm run bench:startup`: how long `moska` takes to start, as users meet it (issue 11's goals:
 * `--help` ≤ 150 ms, a 1-request `sim` ≤ 0.5 s). Each case is one process,
 * `node dist/cli/main.js …`, under /usr/bin/time (user + sys CPU, every thread) with its wall
 * time measured here; `node -e 0` is Node's own start-up, the floor under every row. Prints a
 * table of medians and writes JSON (`--out`, default `.bench/startup.json`).
 * The bundled CLI (`dist/bundle/main.js`, package.json's bin, made by scripts/bundle.mjs) runs
 * interleaved with tsc's `dist/cli/main.js` whenever it has been built (`--no-bundle`: dist/ alone):
 * "x vs dist" on its rows is dist's median over the bundle's (above 1: the bundle is faster).
 * "above node" is a row's median wall time less that of `node -e 0` in the same run.
 * Options: `--repeat N` (runs per case and build, default 7), `--only TEXT` (substring of a case
 * name), `--compare PATH` (another build's `dist/cli/main.js`, run interleaved with this one, case
 * by case, so a shared machine's load falls on both alike). "x vs compare" is the other build's
 * median over this one's (above 1: this build is faster); on a loaded machine CPU seconds are the
 * steadier figure, and the load average is printed with the table.
 * @example npm run bench:startup -- --repeat 9 --compare /tmp/before/dist/cli/main.js
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { benchOption, ROOT, THIS_CLI } from "./benchArgs.js"
import { markdownTable } from "./markdownTable.js"
import { median, sampleBuilds, sampleKey } from "./sampleBuilds.js"
import { timeNode } from "./timeNode.js"

const opt = benchOption
const only = opt("--only")
const repeat = Math.max(1, Number(opt("--repeat") ?? 7))
const compare = opt("--compare")
const out = opt("--out") ?? ".bench/startup.json"
const BUNDLE = join(ROOT, "dist/bundle/main.js")
const bundle = !process.argv.includes("--no-bundle") && existsSync(BUNDLE)

const scratch = mkdtempSync(join(tmpdir(), "moska-bench-startup-"))
const db = join(scratch, "startup.db")

interface Case {
  readonly name: string
  /** Arguments after `node`; CLI marks where the build's main.js goes. */
  readonly argv: readonly string[]
  /** Run before each sample (outside the timing). */
  readonly before?: () => void
}

const CLI = "\u0000cli"
const FLOOR = "node -e 0 (Node alone)"
const CASES: Case[] = [
  { name: FLOOR, argv: ["-e", "0"] },
  { name: "moska --help", argv: [CLI, "--help"] },
  { name: "moska --version", argv: [CLI, "--version"] },
  { name: "moska sim --help", argv: [CLI, "sim", "--help"] },
  { name: "moska scenario docs", argv: [CLI, "scenario", "docs"] },
  {
    name: "moska sim default.yaml requests=1 --json",
    argv: [CLI, "sim", join(ROOT, "scenarios/default.yaml"), "--set", "workload.requests=1", "--db", db, "--json"],
    // a new database each time: its creation and migrations are part of a first run
    before: () => {
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true })
    },
  },
].filter((c) => only === undefined || c.name.includes(only))

const builds = [
  { label: "this", cli: THIS_CLI },
  ...(bundle ? [{ label: "bundle", cli: BUNDLE }] : []),
  ...(compare === undefined ? [] : [{ label: "compare", cli: resolve(compare) }]),
]

interface Sample {
  readonly wallS: number
  readonly cpuS: number
}

/** One process; wall measured around the spawn, CPU by /usr/bin/time. */
const runOnce = (cli: string, c: Case): Sample => {
  c.before?.()
  const t = timeNode(c.argv.map((a) => (a === CLI ? cli : a)), ROOT)
  return { wallS: t.wallS, cpuS: t.cpuS }
}

const loadBefore = loadavg()
const describe = (s: Sample): string => `${(s.wallS * 1e3).toFixed(0)} ms wall, ${(s.cpuS * 1e3).toFixed(0)} ms cpu`
/** The builds a case runs on: Node alone is the same process for every build, so it runs once a round. */
const buildsOf = (c: Case) => (c.name === FLOOR ? builds.slice(0, 1) : builds)
const samples = new Map([
  ...sampleBuilds(CASES.filter((c) => c.name === FLOOR), builds.slice(0, 1), repeat, runOnce, describe),
  ...sampleBuilds(CASES.filter((c) => c.name !== FLOOR), builds, repeat, runOnce, describe),
])

interface Row {
  readonly case: string
  readonly build: string
  readonly cli: string
  readonly runs: number
  /** Medians over the runs, ms. */
  readonly wallMs: number
  readonly cpuMs: number
  readonly minWallMs: number
  readonly samples: readonly Sample[]
}

const rows: Row[] = CASES.flatMap((c) =>
  buildsOf(c).map((b) => {
    const ss = samples.get(sampleKey(c.name, b.label)) ?? []
    return {
      case: c.name, build: b.label, cli: b.cli, runs: ss.length, samples: ss,
      wallMs: median(ss.map((s) => s.wallS)) * 1e3, cpuMs: median(ss.map((s) => s.cpuS)) * 1e3, minWallMs: Math.min(...ss.map((s) => s.wallS)) * 1e3,
    }
  }))

const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
const floor = rows.find((r) => r.case === FLOOR && r.build === "this")
const ratio = (a: number, b: number): string => `${fmt(a / b, 2)}x`
const header = [
  "case", "build", "runs", "wall ms (median)", "wall ms (min)", "cpu ms (median)", ...(floor === undefined ? [] : ["above node ms"]),
  ...(bundle ? ["wall vs dist", "cpu vs dist"] : []), ...(compare === undefined ? [] : ["wall vs compare", "cpu vs compare"]),
]
const table = rows.map((r) => {
  const dist = rows.find((o) => o.case === r.case && o.build === "this")
  const other = rows.find((o) => o.case === r.case && o.build === "compare")
  return [
    r.case, r.case === FLOOR ? "" : r.build === "this" ? "dist" : r.build, String(r.runs), fmt(r.wallMs), fmt(r.minWallMs), fmt(r.cpuMs),
    ...(floor === undefined ? [] : [fmt(r.wallMs - floor.wallMs)]),
    ...(!bundle ? [] : r.build === "bundle" && dist !== undefined ? [ratio(dist.wallMs, r.wallMs), ratio(dist.cpuMs, r.cpuMs)] : ["", ""]),
    ...(compare === undefined ? [] : r.build === "this" && other !== undefined ? [ratio(other.wallMs, r.wallMs), ratio(other.cpuMs, r.cpuMs)] : ["", ""]),
  ]
})
console.log(markdownTable(header, table))

const loadAfter = loadavg()
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify({ node: process.version, cpus: cpus().length, loadAverage: { before: loadBefore, after: loadAfter }, repeat, rows }, null, 2)}\n`)
const la = (l: readonly number[]): string => l.map((x) => x.toFixed(1)).join(" ")
console.log(`\n${cpus().length} CPUs, load average ${la(loadBefore)} before and ${la(loadAfter)} after (a shared machine inflates wall time); wrote ${out}`)
rmSync(scratch, { recursive: true, force: true })
