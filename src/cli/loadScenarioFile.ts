import * as Either from "effect/Either"
import { existsSync, readFileSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"
import { InputFileInvalid } from "../core/errors.js"
import type { Scenario } from "../core/scenario.js"
import { loadScenarioText } from "../core/scenarioLoader.js"
import { readErrorText } from "./readErrorText.js"

/**
 * Reads and decodes a scenario file (`-`: standard input) with `--set` overrides, throwing ScenarioInvalid (one issue
 * per problem) or InputFileInvalid. A trace workload's relative `path` is resolved against the
 * scenario file's folder first, then the working directory, and returned absolute; so are
 * `hardware.devices` paths (relative to the scenario file).
 * @example const scenario = loadScenarioFile("scenarios/default.yaml", ["seed=7"])
 */
export const loadScenarioFile = (file: string, overrides: readonly string[] = []): Scenario => {
  // `-` is standard input (`moska scenario … | moska sim -`): paths in it are relative to the working directory
  const stdin = file === "-"
  const source = stdin ? "<stdin>" : file
  const baseDir = stdin ? "." : dirname(file)
  let text: string
  try {
    text = readFileSync(stdin ? 0 : file, "utf8")
  } catch (e) {
    throw new InputFileInvalid({ file: source, message: `cannot read the scenario file (${readErrorText(e)})` })
  }
  const scenario = Either.getOrThrowWith(loadScenarioText(text, { source, overrides }), (e) => e)
  return resolveLivePaths(resolveDevicePaths(resolveTracePath(scenario, baseDir, source), baseDir), baseDir)
}

/** Makes `live.weights` and `live.corpusFile` absolute: beside the scenario file if there, else the working directory. */
const resolveLivePaths = (scenario: Scenario, baseDir: string): Scenario => {
  const live = scenario.live
  if (live === undefined) return scenario
  const at = (p: string | undefined): string | undefined =>
    p === undefined || isAbsolute(p) ? p : existsSync(resolve(baseDir, p)) ? resolve(baseDir, p) : resolve(p)
  const weights = at(live.weights)
  const corpusFile = at(live.corpusFile)
  return { ...scenario, live: { ...live, ...(weights === undefined ? {} : { weights }), ...(corpusFile === undefined ? {} : { corpusFile }) } }
}

/** Makes `hardware.devices` paths absolute, relative to the scenario file's folder. */
const resolveDevicePaths = (scenario: Scenario, baseDir: string): Scenario => {
  const devices = scenario.hardware.devices
  if (devices === undefined) return scenario
  return { ...scenario, hardware: { ...scenario.hardware, devices: devices.map((d) => resolve(baseDir, d)) } }
}

/** Makes a trace workload's path absolute: relative to `baseDir` if the file is there, else to the working directory. */
export const resolveTracePath = (scenario: Scenario, baseDir: string, source: string): Scenario => {
  const w = scenario.workload
  if (w.kind !== "trace" || isAbsolute(w.path) || w.path === "-") return scenario
  const beside = resolve(baseDir, w.path)
  const cwd = resolve(w.path)
  const path = existsSync(beside) ? beside : existsSync(cwd) ? cwd : null
  if (path === null) {
    throw new InputFileInvalid({ file: source, message: `workload.path: trace file "${w.path}" not found (looked in ${beside} and ${cwd})` })
  }
  return { ...scenario, workload: { ...w, path } }
}
