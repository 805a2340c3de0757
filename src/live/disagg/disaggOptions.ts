import type { Command } from "commander"
import { UsageError } from "../../core/errors.js"
import { intFlag } from "../../core/intFlag.js"
import { checkAddress } from "./checkAddress.js"
import type { RemoteDeploymentOptions } from "./remoteDeployment.js"

/** The coordinator's options as commander hands them over (strings, checked by `parse`). */
export interface DisaggFlags {
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

/**
 * The options that make a command the coordinator of a disaggregated deployment (`--bind ADDR`,
 * `--workers-timeout-s`, `--heartbeat-ms`, `--lost-after-ms`, `--rejoin-s`, `--links`), shared by
 * `moska live` and `moska serve` so both spell, default and check them alike. It imports nothing
 * heavy (no ZeroMQ, no Schema), so a command can register them at start-up.
 * @example
 * disaggOptions.register(cmd, "before the run fails")
 * const remote = disaggOptions.parse(opts, log) // undefined without --bind; UsageError (exit 2) on a bad value
 */
export const disaggOptions = {
  /** Adds the options to `cmd`; `rejoinThen` says what happens when no worker takes a lost one's place in time. */
  register(cmd: Command, rejoinThen: string): Command {
    return cmd
      .option("--bind <addr>", "disaggregated: be the coordinator at ipc://PATH or tcp://HOST:PORT and run the pools' work on `moska worker` processes (priced)")
      .option("--workers-timeout-s <s>", "with --bind: how long to wait for the pools' workers", "60")
      .option("--heartbeat-ms <ms>", "with --bind: ping interval to each worker", "250")
      .option("--lost-after-ms <ms>", "with --bind: a worker silent this long is lost", "3000")
      .option("--rejoin-s <s>", `with --bind: how long a lost worker's work waits for a restarted worker ${rejoinThen}`, "0")
      .option("--links <kind>", "with --bind: priced (transfers priced here) or real (query rows and partials cross between the worker processes, one exchange per layer)", "priced")
  },

  /** The deployment's options, or undefined without `--bind`. */
  parse(opts: DisaggFlags, log: (line: string) => void): RemoteDeploymentOptions | undefined {
    if (opts.bind === undefined) return undefined
    return {
      address: checkAddress("--bind", opts.bind), waitMs: intFlag("--workers-timeout-s", opts.workersTimeoutS, 1, 86_400) * 1000,
      heartbeatMs: intFlag("--heartbeat-ms", opts.heartbeatMs, 10, 60_000), lostAfterMs: intFlag("--lost-after-ms", opts.lostAfterMs, 50, 3_600_000),
      rejoinMs: intFlag("--rejoin-s", opts.rejoinS, 0, 86_400) * 1000, realLinks: links(opts.links), log,
    }
  },
}
