import * as Either from "effect/Either"
import { InputFileInvalid } from "../../core/errors.js"
import type { KernelSpec } from "../../core/kernels.js"
import { decodeKernelSpec } from "./kernelSpecSchema.js"
import { IMPLS } from "./tiling.js"

/** One measured kernel: what ran, on which tiling, how long one call took, and who says so. */
export interface Measurement {
  readonly id: string
  readonly spec: KernelSpec
  /** Tiling strategy of the implementation that ran (see `tileKernel`). */
  readonly impl: string
  readonly seconds: number
  readonly source: string
}

export interface MeasurementFile {
  readonly gpu: string
  readonly measurements: readonly Measurement[]
}

/**
 * Decodes a measurement file (format `moska-measurements/1`, docs/model-measurements.md):
 * `{ format, gpu, measurements: [{ id, spec, impl, seconds, source, ... }] }`; extra fields
 * (method, note, meta) are kept out of the model but allowed. One bad entry fails the file with
 * its index and the problem.
 * @example decodeMeasurementFile(JSON.parse(text), "data/measurements/h200-torch-2026.json")
 */
export const decodeMeasurementFile = (json: unknown, file: string): Either.Either<MeasurementFile, InputFileInvalid> => {
  const bad = (message: string) => Either.left(new InputFileInvalid({ file, message }))
  if (typeof json !== "object" || json === null) return bad("expected a JSON object with format, gpu and measurements")
  const o = json as Record<string, unknown>
  if (o.format !== "moska-measurements/1") return bad(`format must be "moska-measurements/1" (got ${JSON.stringify(o.format)})`)
  if (typeof o.gpu !== "string") return bad("gpu must be a device name")
  if (!Array.isArray(o.measurements) || o.measurements.length === 0) return bad("measurements must be a non-empty array")
  const out: Measurement[] = []
  for (const [i, m] of (o.measurements as unknown[]).entries()) {
    const at = `measurements[${i}]`
    if (typeof m !== "object" || m === null) return bad(`${at}: expected an object`)
    const e = m as Record<string, unknown>
    if (typeof e.id !== "string") return bad(`${at}.id: expected a string`)
    if (typeof e.seconds !== "number" || !(e.seconds > 0) || !Number.isFinite(e.seconds)) return bad(`${at}.seconds: expected a positive number`)
    if (typeof e.source !== "string") return bad(`${at}.source: expected a string naming where the number comes from`)
    const spec = decodeKernelSpec(e.spec)
    if (Either.isLeft(spec)) return bad(`${at}.spec.${spec.left}`)
    const impl = e.impl === undefined ? "default" : e.impl
    if (typeof impl !== "string") return bad(`${at}.impl: expected a string`)
    if (spec.right.kind !== "transfer" && !IMPLS[spec.right.kind].includes(impl)) {
      return bad(`${at}.impl: "${impl}" is not a tiling of ${spec.right.kind} (known: ${IMPLS[spec.right.kind].join(", ")})`)
    }
    out.push({ id: e.id, spec: spec.right, impl, seconds: e.seconds, source: e.source })
  }
  return Either.right({ gpu: o.gpu, measurements: out })
}
