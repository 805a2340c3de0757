import type { Command } from "commander"
import { checkDbPath } from "../checkDbPath.js"
import { collect } from "../collect.js"
import { loadScenarioFile } from "../loadScenarioFile.js"
import { seedOverride, type RunOptions } from "../runAndReport.js"
import { runLiveAndReport } from "../runLiveAndReport.js"
import { UsageError } from "../../core/errors.js"
import { checkAddress } from "../../live/disagg/checkAddress.js"
import { remoteDeployment } from "../../live/disagg/remoteDeployment.js"

interface DisaggOptions {
  readonly bind?: string
  readonly workersTimeoutS: string
  readonly heartbeatMs: string
  readonly lostAfterMs: string
  readonly rejoinS: string
  readonly links: string
}

const links = (value: string): boolean => {
  if (value !== "priced" && value !== "real") throw new UsageError({ message: `--links must be priced or real (got "${value}")` })
  return value === "real"
}

const count = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError({ message: `${name} must be an integer from ${min} to ${max} (got "${value}")` })
  return n
}

/**
 * `moska live SCENARIO [--executor webgpu|priced] [--seed N] [--set path=value ...] [--db FILE] [--label TEXT] [--json] [--bind ADDR [--links priced|real]]`:
 * runs a scenario in live mode: the same graph as `moska sim` on the wall clock, with a real
 * decoder on WebGPU (or, with `--executor priced`, GPU time paced by the cost model). Same trace
 * schema (`runs.mode = 'live'`) and the same `--json` contract as sim.
 * @example moska live scenarios/live/tiny.yaml --executor priced --json
 */
export const registerLive = (program: Command): void => {
  program
    .command("live")
    .description("run a scenario in live mode (wall clock; a real decoder on WebGPU, or --executor priced); traces go to SQLite")
    .argument("<scenario>", "scenario YAML file")
    .option("--executor <kind>", "webgpu (a real decoder on the GPU) or priced (the cost model paces GPU time; no GPU needed); default: the scenario's live.executor")
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print exactly one JSON summary object on stdout")
    .option("--label <text>", "label stored with the run (shown by `moska query runs`)")
    .option("--bind <addr>", "disaggregated: be the coordinator at ipc://PATH or tcp://HOST:PORT and run the pools' work on `moska worker` processes (priced)")
    .option("--workers-timeout-s <s>", "with --bind: how long to wait for the pools' workers", "60")
    .option("--heartbeat-ms <ms>", "with --bind: ping interval to each worker", "250")
    .option("--lost-after-ms <ms>", "with --bind: a worker silent this long is lost", "3000")
    .option("--rejoin-s <s>", "with --bind: how long a lost worker's work waits for a restarted worker before the run fails", "0")
    .option("--links <kind>", "with --bind: priced (transfers priced here) or real (query rows and partials cross between the worker processes, one exchange per layer)", "priced")
    .action(async (file: string, opts: RunOptions & DisaggOptions & { executor?: string }) => {
      const scenario = loadScenarioFile(file, [...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      const remote = opts.bind === undefined ? undefined : remoteDeployment({
        address: checkAddress("--bind", opts.bind), waitMs: count("--workers-timeout-s", opts.workersTimeoutS, 1, 86_400) * 1000,
        heartbeatMs: count("--heartbeat-ms", opts.heartbeatMs, 10, 60_000), lostAfterMs: count("--lost-after-ms", opts.lostAfterMs, 50, 3_600_000),
        rejoinMs: count("--rejoin-s", opts.rejoinS, 0, 86_400) * 1000, realLinks: links(opts.links), log: (line) => void process.stderr.write(`${line}\n`),
      })
      await runLiveAndReport(scenario, { ...opts, source: file, ...(remote === undefined ? {} : { remote }) })
    })
}
