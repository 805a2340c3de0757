import type { Command } from "commander"
import { resolve } from "node:path"
import { UsageError } from "../../core/errors.js"
import { collect } from "../collect.js"
import { PACKAGE_ROOT } from "../codeVersion.js"
import { loadScenarioFile } from "../loadScenarioFile.js"
import { runAndReport, seedOverride, type RunOptions } from "../runAndReport.js"

/**
 * `moska replay TRACE --sim [--scenario FILE] [--seed N] [--set path=value ...] [--db FILE] [--json]`:
 * replays a request trace (Azure CSV, BurstGPT CSV, Mooncake JSONL; format detected) through a
 * scenario (default: the package's scenarios/default.yaml) whose workload becomes the trace.
 * `--set workload.limit=N` / `workload.timeScale=X` trim or speed it up. `--live` comes later.
 * @example moska replay data/traces/mooncake_conversation_trace.jsonl --sim --set workload.limit=500 --json
 */
export const registerReplay = (program: Command): void => {
  program
    .command("replay")
    .description("replay a request trace file (Azure LLM CSV, BurstGPT CSV, Mooncake JSONL) in sim mode")
    .argument("<trace>", "trace file")
    .option("--sim", "simulate in virtual time (the default)")
    .option("--live", "serve on WebGPU in real time (not available yet)")
    .option("--scenario <file>", "scenario whose model, hardware, corpus and policy to use", `${PACKAGE_ROOT}scenarios/default.yaml`)
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print exactly one JSON summary object on stdout")
    .action(async (trace: string, opts: RunOptions & { sim?: boolean; live?: boolean; scenario: string }) => {
      if (opts.live === true) {
        throw new UsageError({ message: "replay --live is not available yet (live mode arrives with the WebGPU engine); use --sim" })
      }
      // The trace replaces the scenario's workload; later --set workload.* overrides refine it.
      const workload = `workload={kind: trace, path: ${JSON.stringify(resolve(trace))}}`
      const scenario = loadScenarioFile(opts.scenario, [workload, ...opts.set, ...seedOverride(opts.seed)])
      await runAndReport(scenario, { ...opts, source: opts.scenario })
    })
}
