import * as Either from "effect/Either"
import { UsageError } from "../core/errors.js"
import type { GpuSpec } from "../core/hardware.js"
import { resolveGpu } from "../sim/hw/catalog.js"
import { loadDeviceFile } from "../sim/hw/deviceFile.js"

/** Reads `--device` files and resolves `--gpu` among them and the presets; bad input → tagged error. */
export const gpuFromOptions = (name: string, deviceFiles: readonly string[]): GpuSpec => {
  const extra = deviceFiles.map((f) => {
    const d = loadDeviceFile(f)
    if (Either.isLeft(d)) throw d.left
    return d.right
  })
  try {
    return resolveGpu(name, extra)
  } catch (e) {
    throw new UsageError({ message: `--gpu: ${(e as Error).message}` })
  }
}
