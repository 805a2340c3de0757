import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The package root (beside dist/) and the CLI built there, which benchmarks time as users run it. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url))
export const THIS_CLI = join(ROOT, "dist/cli/main.js")
/** package.json's `bin`: the bundled CLI with its V8 code cache (scripts/bundle.mjs), what `moska` runs. */
export const THIS_BIN = join(ROOT, "dist/bundle/main.js")

/**
 * The value after `--name` among this process's arguments, or undefined: the benchmarks' few
 * options, without a parser library for scripts that are not the CLI.
 * @example const out = benchOption("--out") ?? ".bench/sim.json"
 */
export const benchOption = (name: string): string | undefined => {
  const args = process.argv.slice(2)
  return args.includes(name) ? args[args.indexOf(name) + 1] : undefined
}
