import * as Either from "effect/Either"
import { ScenarioInvalid } from "../core/errors.js"
import { GPU_PRESETS } from "../core/hardware.js"
import type { Scenario } from "../core/scenario.js"
import { GPU_REGISTRY } from "../sim/costModels.js"
import { registerDevices } from "../sim/hw/registerDevices.js"

/**
 * Loads the scenario's `hardware.devices` files (paths already absolute, see loadScenarioFile)
 * into the GPU registry of this thread, then checks that both pools name a known GPU, so a typo is
 * bad input (exit 2, one line naming the field) rather than a failure inside the engine. Call in
 * every thread that resolves the scenario: the registry is per module instance.
 * @example prepareHardware(scenario) // throws ScenarioInvalid: hardware.unique.gpu: must be one of ...
 */
export const prepareHardware = (scenario: Scenario, source: string): void => {
  const loaded = registerDevices(scenario.hardware.devices ?? [], ".")
  if (Either.isLeft(loaded)) throw loaded.left
  const known = [...Object.keys(GPU_PRESETS), ...Object.keys(GPU_REGISTRY)]
  const issues = (["unique", "shared"] as const)
    .filter((pool) => !known.includes(scenario.hardware[pool].gpu))
    .map((pool) => ({
      path: `hardware.${pool}.gpu`,
      message: `must be one of ${known.map((k) => JSON.stringify(k)).join(", ")} or a device from hardware.devices (got ${JSON.stringify(scenario.hardware[pool].gpu)})`,
    }))
  if (issues.length > 0) throw new ScenarioInvalid({ source, issues })
}
