import type { Command } from "commander"
import { availableParallelism } from "node:os"
import type { Scenario } from "../../core/scenario.js"
import type { RequestSpec } from "../../core/workload.js"
import type { SweepAssignment } from "../../db/sweepLabel.js"
import { codeVersion } from "../codeVersion.js"
import { collect } from "../collect.js"
import type { RunReport } from "../executeRun.js"
import type { RunStopped } from "../runInWorker.js"
import type { SweepAxis } from "../sweepPoints.js"

/** One point of a sweep as `--json` prints it; everything but runId and wallS is a function of scenario, seed and the point. */
export interface SweepPointResult {
  readonly index: number
  readonly assignments: Readonly<Record<string, string>>
  readonly label: string
  readonly runId: number
  readonly system: string
  readonly seed: number
  readonly requests: RunReport["requests"]
  readonly outputTokens: number
  readonly throughput: RunReport["throughput"]
  readonly latencyMs: RunReport["latencyMs"]
  readonly simulatedS: number
  readonly wallS: number
}

interface Prepared {
  readonly assignments: SweepAssignment[]
  readonly scenario: Scenario
  readonly traceRequests: readonly RequestSpec[] | undefined
  readonly label: string
}

const fmt = (v: number | null, digits = 2) => (v === null ? "—" : v.toFixed(digits))

const table = (axes: readonly SweepAxis[], points: readonly SweepPointResult[]): string => {
  const head = ["#", "run", ...axes.map((a) => a.path), "completed", "tokens/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99"]
  const rows = points.map((p) => [
    String(p.index + 1), String(p.runId), ...axes.map((a) => p.assignments[a.path] ?? ""),
    `${p.requests.completed}/${p.requests.total}`, fmt(p.throughput.outputTokensPerS, 1),
    fmt(p.latencyMs.ttft.p50), fmt(p.latencyMs.ttft.p99), fmt(p.latencyMs.tpot.p50), fmt(p.latencyMs.tpot.p99),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const varied = new Set(axes.map((_, i) => i + 2))
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (varied.has(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)].join("\n")
}

/**
 * `moska sweep SCENARIO --vary path=v1,v2,... [--vary ...] [--set ...] [--seed N] [--db FILE] [--jobs N] [--json]`:
 * the cartesian product of the `--vary` values, each point a sim run of the scenario with those
 * `--set` overrides, run in up to N worker threads at once into one database and labelled
 * `sweep:<scenario name>:path=value,...`. Every point is decoded and checked before any runs, so a
 * bad value is exit 2 with nothing written. A point's rows depend only on the scenario, seed and
 * point, never on N or on which points ran beside it; run ids follow the order the points started in.
 * @example moska sweep scenarios/default.yaml --vary workload.ratePerS=2,4,8 --vary system=moska,prefix --jobs 2 --json
 */
export const registerSweep = (program: Command): void => {
  program
    .command("sweep")
    .description("run the cartesian product of --vary values as labelled sim runs in parallel worker threads, into one database; print a table")
    .argument("<scenario>", "scenario YAML file")
    .option("--vary <path=v1,v2,...>", "a scenario path and its values, each read as YAML like --set (repeatable; commas inside {} [] or quotes do not split)", collect, [])
    .option("--set <path=value>", "override a field at every point (repeatable)", collect, [])
    .option("--seed <n>", "root seed of every point (overrides the scenario's seed)")
    .option("--db <file>", "trace database", "moska.db")
    .option("--jobs <n>", "points run at once (default: the cores available, at most the number of points)")
    .option("--json", "print one JSON object on stdout (the table goes to stderr)")
    .action(async (file: string, opts: { vary: string[]; set: string[]; seed?: string; db: string; jobs?: string; json?: boolean }) => {
      // loaded here, not at start-up
      const [{ UsageError }, { openTraceDb }, { sweepLabel }, { resolveScenario }, { checkDbPath }, { loadScenarioFile }, { loadTraceRequests }, { prepareHardware }, { seedOverride }, { RunStopped, runInWorker }, { sweepPoints }] = await Promise.all([
        import("../../core/errors.js"), import("../../db/openTraceDb.js"), import("../../db/sweepLabel.js"), import("../../sim/resolve.js"), import("../checkDbPath.js"),
        import("../loadScenarioFile.js"), import("../loadTraceRequests.js"), import("../prepareHardware.js"), import("../runAndReport.js"), import("../runInWorker.js"), import("../sweepPoints.js"),
      ])
      const { axes, points } = sweepPoints(opts.vary)
      if (opts.jobs !== undefined && !/^[1-9]\d*$/.test(opts.jobs)) throw new UsageError({ message: `--jobs must be a positive integer (got "${opts.jobs}")` })
      const jobs = Math.min(points.length, opts.jobs !== undefined ? Number(opts.jobs) : availableParallelism())
      const base = [...opts.set, ...seedOverride(opts.seed)]
      const name = loadScenarioFile(file, base).name
      // every point is decoded, its trace read and its capacity checked before the first run starts
      const prepared = points.map((assignments): Prepared => {
        const scenario = loadScenarioFile(file, [...opts.set, ...assignments.map((a) => `${a.path}=${a.value}`), ...seedOverride(opts.seed)])
        prepareHardware(scenario, file)
        resolveScenario(scenario)
        return { assignments, scenario, traceRequests: loadTraceRequests(scenario), label: sweepLabel.format(name, assignments) }
      })
      checkDbPath(opts.db)
      // create and migrate the file here: workers opening a new file at once would race on its schema
      openTraceDb(opts.db).close()

      const version = codeVersion()
      const started = Date.now()
      const results: SweepPointResult[] = []
      let stopped: RunStopped | undefined
      let failed: unknown
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < prepared.length && stopped === undefined && failed === undefined) {
          const index = next++
          const p = prepared[index] as Prepared
          try {
            const r = await runInWorker({ scenario: p.scenario, traceRequests: p.traceRequests, dbFile: opts.db, codeVersion: version, label: p.label })
            results.push({
              index, assignments: Object.fromEntries(p.assignments.map((a) => [a.path, a.value])), label: p.label, runId: r.runId,
              system: r.system, seed: r.seed, requests: r.requests, outputTokens: r.outputTokens, throughput: r.throughput,
              latencyMs: r.latencyMs, simulatedS: r.simulatedS, wallS: r.wallS,
            })
            process.stderr.write(`point ${index + 1}/${prepared.length}: run ${r.runId} ${p.label} (${fmt(r.wallS)} s wall)\n`)
          } catch (e) {
            if (e instanceof RunStopped) stopped ??= e
            else failed ??= e
          }
        }
      }
      await Promise.all(Array.from({ length: jobs }, worker))
      if (failed !== undefined) throw failed
      results.sort((x, y) => x.index - y.index)
      if (stopped !== undefined) {
        process.stderr.write(`moska: sweep interrupted by ${stopped.signal} after ${results.length} of ${prepared.length} points (finished runs are kept)\n`)
        process.exitCode = stopped.signal === "SIGINT" ? 130 : 143
        return
      }
      const wallS = (Date.now() - started) / 1000
      const text = `${table(axes, results)}\nsweep of ${results.length} points in ${fmt(wallS)} s wall (${jobs} at once): ${opts.db} (moska report ${results.map((r) => r.runId).join(" ")} --db ${opts.db})`
      if (opts.json === true) {
        process.stderr.write(`${text}\n`)
        process.stdout.write(`${JSON.stringify({ scenario: name, source: file, db: opts.db, jobs, vary: axes, points: results, wallS })}\n`)
      } else process.stdout.write(`${text}\n`)
    })
}
