import { CommanderError, type Command } from "commander"
import { readFileSync } from "node:fs"
import { codeVersion, PACKAGE_ROOT } from "../codeVersion.js"

/**
 * `moska --version` (`-V`): the package version and the code version runs record
 * (`runs.code_version`: `git describe` of a checkout, else `moska@<version>`). Computed only when
 * asked, so other commands do not start git.
 * @example moska --version // moska 0.1.0 (bf079bb-dirty)
 */
export const registerVersion = (program: Command): void => {
  program.option("-V, --version", "print moska's version and exit")
  program.on("option:version", () => {
    const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")) as { version?: string }
    process.stdout.write(`moska ${pkg.version ?? "unknown"} (${codeVersion()})\n`)
    // the exit commander's own --version takes: main.ts maps exit code 0 to success
    throw new CommanderError(0, "commander.version", "")
  })
}
