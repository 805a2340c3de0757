import type { Command } from "commander"
import { collect } from "../collect.js"
import type { RunOptions } from "../runAndReport.js"
import { disaggOptions, type DisaggFlags } from "../../live/disagg/disaggOptions.js"

/**
 * `moska live SCENARIO [--executor webgpu|priced] [--seed N] [--set path=value ...] [--db FILE] [--label TEXT] [--json] [--bind ADDR [--links priced|real]]`:
 * runs a scenario in live mode: the same graph as `moska sim` on the wall clock, with a real
 * decoder on WebGPU (or, with `--executor priced`, GPU time paced by the cost model). Same trace
 * schema (`runs.mode = 'live'`) and the same `--json` contract as sim.
 * @example moska live scenarios/live/tiny.yaml --executor priced --json
 */
export const registerLive = (program: Command): void => {
  const cmd = program
    .command("live")
    .description("run a scenario in live mode (wall clock; a real decoder on WebGPU, or --executor priced); traces go to SQLite")
    .argument("<scenario>", "scenario YAML file")
    .option("--executor <kind>", "webgpu (a real decoder on the GPU) or priced (the cost model paces GPU time; no GPU needed); default: the scenario's live.executor")
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print exactly one JSON summary object on stdout")
    .option("--label <text>", "label stored with the run (shown by `moska query runs`)")
    .option("--tokens-out <file>", "webgpu: write the token ids each request generated, as JSON { requestId: [ids] }, when the run ends")
  disaggOptions.register(cmd, "before the run fails")
    .action(async (file: string, opts: RunOptions & DisaggFlags & { executor?: string; tokensOut?: string }) => {
      const [{ checkDbPath }, { loadScenarioFile }, { seedOverride }, { runLiveAndReport }, { remoteDeployment }] = await Promise.all([
        import("../checkDbPath.js"), import("../loadScenarioFile.js"), import("../runAndReport.js"), import("../runLiveAndReport.js"), import("../../live/disagg/remoteDeployment.js"),
      ])
      const scenario = loadScenarioFile(file, [...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      const options = disaggOptions.parse(opts, (line) => void process.stderr.write(`${line}\n`))
      const remote = options === undefined ? undefined : remoteDeployment(options)
      await runLiveAndReport(scenario, { ...opts, source: file, ...(remote === undefined ? {} : { remote }) })
    })
}
