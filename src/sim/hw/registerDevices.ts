import { isAbsolute, resolve } from "node:path"
import * as Either from "effect/Either"
import type { InputFileInvalid } from "../../core/errors.js"
import { GPU_REGISTRY } from "../costModels.js"
import { loadDeviceFile } from "./deviceFile.js"

/**
 * Loads a scenario's `hardware.devices` files (relative to the scenario file's folder) into
 * GPU_REGISTRY so pools can name them (`unique.gpu: H200-cal`). Call once before `resolveScenario`.
 * @example registerDevices(scenario.hardware.devices ?? [], dirname(scenarioFile))
 */
export const registerDevices = (files: readonly string[], baseDir: string): Either.Either<readonly string[], InputFileInvalid> => {
  const names: string[] = []
  for (const f of files) {
    const d = loadDeviceFile(isAbsolute(f) ? f : resolve(baseDir, f))
    if (Either.isLeft(d)) return Either.left(d.left)
    GPU_REGISTRY[d.right.name] = d.right
    names.push(d.right.name)
  }
  return Either.right(names)
}
