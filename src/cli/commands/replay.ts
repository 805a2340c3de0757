import type { Command } from "commander"
import { resolve } from "node:path"
import { collect } from "../collect.js"
import { PACKAGE_ROOT } from "../codeVersion.js"
import type { RunOptions } from "../runAndReport.js"

/**
 * `moska replay TRACE --sim [--scenario FILE] [--seed N] [--set path=value ...] [--db FILE] [--json]`:
 * replays a request trace (Azure CSV, BurstGPT CSV, Mooncake JSONL; format detected) through a
 * scenario (default: the package's scenarios/default.yaml) whose workload becomes the trace.
 * `--set workload.limit=N` / `workload.timeScale=X` trim or speed it up. `--live` replays it on the wall clock
 * (src/cli/runLiveAndReport.ts).
 * @example moska replay data/traces/mooncake_conversation_trace.jsonl --sim --set workload.limit=500 --json
 */
export const registerReplay = (program: Command): void => {
  program
    .command("replay")
    .description("replay a request trace file (Azure LLM CSV, BurstGPT CSV, Mooncake JSONL) in sim mode or live (--live)")
    .argument("[trace]", "trace file, - for standard input (omit with --from-run)")
    .option("--sim", "simulate in virtual time (the default)")
    .option("--live", "run live on the wall clock (a real decoder on WebGPU, or --executor priced)")
    .option("--from-run <n>", "with --sim: replay run N's own arrivals and token counts under its own scenario (a live run against sim)")
    .option("--from-db <file>", "database holding --from-run's run (default: --db)")
    .option("--executor <kind>", "with --live: webgpu or priced (default: the scenario's live.executor)")
    .option("--scenario <file>", "scenario whose model, hardware, corpus and policy to use", `${PACKAGE_ROOT}scenarios/default.yaml`)
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print exactly one JSON summary object on stdout")
    .option("--label <text>", "label stored with the run (shown by `moska query runs`)")
    .action(async (trace: string | undefined, opts: RunOptions & { sim?: boolean; live?: boolean; executor?: string; scenario: string; fromRun?: string; fromDb?: string }) => {
      // loaded here, not at start-up; the live engine only for --live
      const [{ UsageError }, { checkDbPath }, { loadScenarioFile }, { runAndReport, seedOverride }] = await Promise.all([
        import("../../core/errors.js"), import("../checkDbPath.js"), import("../loadScenarioFile.js"), import("../runAndReport.js"),
      ])
      if (opts.live === true && opts.sim === true) throw new UsageError({ message: "replay takes --sim or --live, not both" })
      if (opts.executor !== undefined && opts.live !== true) throw new UsageError({ message: "--executor applies to replay --live only" })
      if (opts.fromRun !== undefined) {
        if (trace !== undefined) throw new UsageError({ message: "replay --from-run takes no trace file (the run's own requests are replayed)" })
        if (opts.live === true) throw new UsageError({ message: "replay --from-run runs in sim (--sim); replay a trace file with --live" })
        if (!/^\d+$/.test(opts.fromRun)) throw new UsageError({ message: `--from-run must be a run id (got "${opts.fromRun}")` })
        const { loadRunReplay } = await import("../loadRunReplay.js")
        const { scenario, traceRequests } = loadRunReplay(opts.fromDb ?? opts.db, Number(opts.fromRun), [...opts.set, ...seedOverride(opts.seed)])
        checkDbPath(opts.db)
        await runAndReport(scenario, { ...opts, source: `run ${opts.fromRun}`, traceRequests })
        return
      }
      if (trace === undefined) throw new UsageError({ message: "replay needs a trace file (or --from-run N)" })
      // The trace replaces the scenario's workload; later --set workload.* overrides refine it.
      const workload = `workload={kind: trace, path: ${JSON.stringify(trace === "-" ? "-" : resolve(trace))}}`
      const scenario = loadScenarioFile(opts.scenario, [workload, ...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      if (opts.live === true) await (await import("../runLiveAndReport.js")).runLiveAndReport(scenario, { ...opts, source: opts.scenario })
      else await runAndReport(scenario, { ...opts, source: opts.scenario })
    })
}
