import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { Command } from "commander"
import type { GpuSpec } from "../../core/hardware.js"
import { codeVersion, PACKAGE_ROOT } from "../codeVersion.js"

/**
 * The calibrated H200 shipped with the package (data/ beside dist/), so `moska repro` works from any
 * folder; a `--device` path given by the user is theirs, relative to the working directory.
 */
// From PACKAGE_ROOT, not this module's URL: the bundled CLI (dist/bundle/) sits at another depth.
const SHIPPED_DEVICE = join(PACKAGE_ROOT, "data/devices/H200-cal.json")

/**
 * `moska repro paper`: the MoSKA paper's throughput table, ratios and sensitivity analysis with
 * the cycle-level model; writes docs/repro-paper.md and .json. `moska repro beyond`: load, Zipf
 * skew and batching-window sweeps through the simulator; writes docs/beyond-paper.md and .json.
 * @example moska repro paper --device data/devices/H200-cal.json
 * @example moska repro beyond --quick --out /tmp/beyond
 */
export const registerRepro = (program: Command): void => {
  const repro = program.command("repro").description("reproduce published results with the simulator's models")
  repro
    .command("paper")
    .description("MoSKA (arXiv 2511.06010): throughput table, ratios to baselines, sensitivity to open assumptions")
    .option("--device <file>", "calibrated device file for the main GPU (default: the package's data/devices/H200-cal.json)")
    .option("--out <prefix>", "output path prefix (.md and .json are written)", "docs/repro-paper")
    .option("--json", "print JSON instead of Markdown")
    .action(async (opts: { device?: string; out: string; json?: boolean }) => {
      // loaded here, not at start-up
      const [Either, { GPU_PRESETS }, { loadDeviceFile }, { crossoverQueries, ridgeQueries }, { paperReport, SHARED_LENGTHS }, { renderPaperReport }] = await Promise.all([
        import("effect/Either"), import("../../core/hardware.js"), import("../../sim/hw/deviceFile.js"), import("../../sim/hw/paper/crossover.js"),
        import("../../sim/hw/paper/paperRepro.js"), import("../renderPaperReport.js"),
      ])
      const d = loadDeviceFile(opts.device ?? SHIPPED_DEVICE)
      if (Either.isLeft(d)) throw d.left
      const main = d.right
      const withTable = (g: GpuSpec): GpuSpec => ({ ...g, name: `${g.name}(${main.name} eff.)`, ...(main.efficiency ? { efficiency: main.efficiency } : {}) })
      const gpus = [main, withTable(GPU_PRESETS.H100), withTable(GPU_PRESETS.B200)]
      const crossover = [main, withTable(GPU_PRESETS.H100), withTable(GPU_PRESETS.B200), withTable(GPU_PRESETS.A100)].map((g) => ({ gpu: g.name, queriesPerChunk: crossoverQueries(g), ridgeQueries: ridgeQueries(g) }))
      const report = paperReport({ gpus, crossover })
      const md = renderPaperReport(report, main.name)
      mkdirSync(dirname(opts.out), { recursive: true })
      writeFileSync(`${opts.out}.md`, md)
      writeFileSync(`${opts.out}.json`, `${JSON.stringify({ sharedLengths: SHARED_LENGTHS, device: main.name, ...report }, null, 1)}\n`)
      process.stdout.write(opts.json === true ? `${JSON.stringify(report, null, 1)}\n` : `${md}\nwrote ${opts.out}.md and ${opts.out}.json\n`)
    })
  repro
    .command("beyond")
    .description("beyond the paper, through the simulator: Poisson load sweep, Zipf routing skew, batching window (per-chunk batch, TPOT/TTFT p99)")
    .option("--device <file>", "calibrated device file every pool runs on (default: the package's data/devices/H200-cal.json)")
    .option("--out <prefix>", "output path prefix (.md and .json are written)", "docs/beyond-paper")
    .option("--db <file>", "also keep every run in this trace database (for moska query; slower, as the views scan all runs); default: one in-memory database per run")
    .option("--quick", "tiny sweeps (seconds): a smoke test, not the documented figures")
    .option("--json", "print JSON instead of Markdown")
    .action(async (opts: { device?: string; out: string; db?: string; quick?: boolean; json?: boolean }) => {
      // loaded here, not at start-up
      const [Either, { crossoverQueries, ridgeQueries }, { beyondPlan, FULL_SCALE, TINY_SCALE }, { registerDevices }, { gpuByName }, { UsageError }, { openTraceDb }, { renderBeyondPaper }, { runBeyondPaper }] = await Promise.all([
        import("effect/Either"), import("../../sim/hw/paper/crossover.js"), import("../../sim/hw/paper/beyondPlan.js"), import("../../sim/hw/registerDevices.js"),
        import("../../sim/costModels.js"), import("../../core/errors.js"), import("../../db/openTraceDb.js"), import("../renderBeyondPaper.js"), import("../runBeyondPaper.js"),
      ])
      const names = registerDevices([opts.device ?? SHIPPED_DEVICE], process.cwd())
      if (Either.isLeft(names)) throw names.left
      const device = names.right[0]
      if (device === undefined) throw new UsageError({ message: `--device ${opts.device ?? SHIPPED_DEVICE}: no device in the file` })
      const main = gpuByName(device)
      const scale = opts.quick === true ? TINY_SCALE : FULL_SCALE
      const points = beyondPlan(scale, device)
      const t0 = Date.now()
      // One in-memory database per run (the views scan every run of a database); --db keeps them all in one file.
      const kept = opts.db === undefined ? undefined : openTraceDb(opts.db)
      const openDb = () => (kept === undefined ? { db: openTraceDb(":memory:"), close: true } : { db: kept, close: false })
      try {
        const results = runBeyondPaper({
          points, openDb, codeVersion: codeVersion(), clock: Date.now,
          onRun: (done, total, r) => {
            const m = r.summary
            process.stderr.write(`[${done}/${total}] ${r.study} ${r.system} ${r.x}: ${(m.throughput.outputTokensPerS ?? 0).toFixed(0)} tok/s, TPOT p99 ${(m.latencyMs.tpot.p99 ?? 0).toFixed(1)} ms (${r.wallS.toFixed(1)} s)\n`)
          },
        })
        const crossover = { queriesPerChunk: crossoverQueries(main), ridgeQueries: ridgeQueries(main) }
        const command = `moska repro beyond${opts.quick === true ? " --quick" : ""}${opts.device !== undefined ? ` --device ${opts.device}` : ""}`
        const context = { command, device, scale, crossover }
        const md = renderBeyondPaper(results, context)
        // Wall-clock facts (and run ids of throwaway in-memory databases) stay out of the files, so they regenerate identically.
        const json = { ...context, results: results.map((r) => ({ ...r, wallS: undefined, runId: kept === undefined ? undefined : r.runId })) }
        process.stderr.write(`${results.length} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
        mkdirSync(dirname(opts.out), { recursive: true })
        writeFileSync(`${opts.out}.md`, md)
        writeFileSync(`${opts.out}.json`, `${JSON.stringify(json, null, 1)}\n`)
        process.stdout.write(opts.json === true ? `${JSON.stringify(json, null, 1)}\n` : `${md}\nwrote ${opts.out}.md and ${opts.out}.json\n`)
      } finally {
        kept?.close()
      }
    })
}
