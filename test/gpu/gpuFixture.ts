import { Cause, Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { acquireGpu, type GpuContext } from "../../src/gpu/device.js"
import { makeRng, type Rng } from "../../src/core/rng.js"

/**
 * One WebGPU device per test file (pipelines stay cached across tests), released after the file.
 * No adapter is a failure, never a skip: GpuUnavailable's message says how to install lavapipe.
 */
export const useGpu = (): (() => GpuContext) => {
  let gpu: GpuContext | undefined
  let scope: Scope.CloseableScope | undefined
  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    const exit = await Effect.runPromiseExit(Scope.extend(acquireGpu(), scope))
    if (Exit.isFailure(exit)) throw new Error(`WebGPU unavailable${process.env.CI === "true" ? " in CI (a failure, not a skip)" : ""}: ${String((Cause.squash(exit.cause) as { message?: string }).message ?? Cause.pretty(exit.cause))}`)
    gpu = exit.value
  })
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  return () => {
    if (gpu === undefined) throw new Error("GPU fixture not initialised")
    return gpu
  }
}

/** A fresh seed per run (printed on failure through the test name / message), or MOSKA_TEST_SEED to replay. */
export const testSeed = (): number => Number(process.env.MOSKA_TEST_SEED ?? (Date.now() % 1_000_000_007))

export const randomArray = (rng: Rng, n: number, amp = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.float() * 2 - 1) * amp)

export { makeRng }

export { relErr } from "../../src/gpu/relErr.js"
