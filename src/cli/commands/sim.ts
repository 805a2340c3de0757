import type { Command } from "commander"
import { collect } from "../collect.js"
import type { RunOptions } from "../runAndReport.js"

/**
 * `moska sim SCENARIO [--seed N] [--set path=value ...] [--db FILE] [--label TEXT] [--json]`: runs a scenario in
 * virtual time, writes its trace to SQLite and prints a summary (stderr) or one JSON object (stdout).
 * @example moska sim scenarios/default.yaml --seed 7 --set workload.ratePerS=20 --json
 */
export const registerSim = (program: Command): void => {
  program
    .command("sim")
    .description("simulate a scenario in virtual time; traces go to SQLite, a summary to stderr (or --json to stdout)")
    .argument("<scenario>", "scenario YAML file")
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print exactly one JSON summary object on stdout")
    .option("--label <text>", "label stored with the run (shown by `moska query runs`)")
    .action(async (file: string, opts: RunOptions) => {
      // loaded here, not at start-up: `moska --help` and the other commands do not need them
      const [{ checkDbPath }, { loadScenarioFile }, { runAndReport, seedOverride }] = await Promise.all([
        import("../checkDbPath.js"), import("../loadScenarioFile.js"), import("../runAndReport.js"),
      ])
      const scenario = loadScenarioFile(file, [...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      await runAndReport(scenario, { ...opts, source: file })
    })
}
