import type { Command } from "commander"

/** What a command module exports: one `register…(program)` function. */
export type Register = (program: Command) => void

/** A command module, by the command name that needs it (`always`: every invocation, e.g. a program option). */
export interface CommandModule {
  readonly name: string
  readonly always?: true
  readonly load: () => Promise<Register>
}

/**
 * Every command of the CLI, in help order. Modules load only when needed: `moska sim …` loads the
 * sim module alone, `--help` or an unknown name loads them all (src/cli/main.ts). The `bench`
 * group's subcommands come from three modules, registered in this order.
 * @example for (const register of await Promise.all(COMMANDS.map((c) => c.load()))) register(program)
 */
export const COMMANDS: ReadonlyArray<CommandModule> = [
  { name: "attention", load: async () => (await import("./attention.js")).registerAttention },
  { name: "bench", load: async () => (await import("./bench.js")).registerBench },
  { name: "bench", load: async () => (await import("./benchServe.js")).registerBenchServe },
  { name: "scenario", load: async () => (await import("./scenario.js")).registerScenario },
  { name: "sim", load: async () => (await import("./sim.js")).registerSim },
  { name: "live", load: async () => (await import("./live.js")).registerLive },
  { name: "serve", load: async () => (await import("./serve.js")).registerServe },
  { name: "replay", load: async () => (await import("./replay.js")).registerReplay },
  { name: "query", load: async () => (await import("./query.js")).registerQuery },
  { name: "report", load: async () => (await import("./report.js")).registerReport },
  { name: "compare", load: async () => (await import("./compare.js")).registerCompare },
  { name: "sweep", load: async () => (await import("./sweep.js")).registerSweep },
  { name: "export", load: async () => (await import("./export.js")).registerExport },
  { name: "--version", always: true, load: async () => (await import("./version.js")).registerVersion },
  { name: "worker", load: async () => (await import("./worker.js")).registerWorker },
  { name: "bench", load: async () => (await import("./benchTransport.js")).registerBenchTransport },
  { name: "cost", load: async () => (await import("./cost.js")).registerCost },
  { name: "calibrate", load: async () => (await import("./calibrate.js")).registerCalibrate },
  { name: "repro", load: async () => (await import("./repro.js")).registerRepro },
]

/**
 * The modules an invocation needs: those of the command named by the first argument that is not
 * an option (and the `always` ones; only those for a bare `--version`); all of them when that names
 * no command (`--help`, `help sim`, a typo commander suggests a name for), so the program then
 * looks exactly as it does with every command registered.
 * @example commandsFor(["sim", "a.yaml"]).map((c) => c.name) // ["sim", "--version"]
 */
export const commandsFor = (args: readonly string[]): ReadonlyArray<CommandModule> => {
  if (args.length > 0 && args.every((a) => a === "-V" || a === "--version")) return COMMANDS.filter((c) => c.always === true)
  const first = args.find((a) => !a.startsWith("-"))
  const named = COMMANDS.filter((c) => c.always !== true && c.name === first)
  return named.length === 0 ? COMMANDS : COMMANDS.filter((c) => c.always === true || c.name === first)
}
