import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import * as S from "effect/Schema"
import { DTYPES } from "../../core/dtype.js"
import { InputFileInvalid } from "../../core/errors.js"
import type { GpuSpec } from "../../core/hardware.js"
import { firstIssue } from "./kernelSpecSchema.js"

const Pos = S.Number.pipe(S.positive(), S.finite())
const NonNeg = S.Number.pipe(S.nonNegative(), S.finite())
const Rates = S.partial(S.Record({ key: S.Literal(...DTYPES), value: Pos }))
const Eff = S.Struct({ compute: Pos, memory: Pos, launchNs: NonNeg, fittedOn: S.optional(S.Number) })

/**
 * A device file: a GpuSpec as JSON (`moska calibrate --out` writes one; a user-defined GPU is the
 * same shape written by hand). Every number needs a `source`.
 * @example decodeDevice(JSON.parse(text), "devices/h200-cal.json").pipe(Either.map(g => g.name))
 */
export const DeviceJson = S.Struct({
  name: S.String.pipe(S.minLength(1)),
  hbmBytes: Pos, hbmBandwidthBps: Pos, tensorFlops: Rates, simtFp32Flops: Pos, launchNs: NonNeg,
  sms: S.Number.pipe(S.int(), S.positive()), clockHz: Pos, l2Bytes: NonNeg, smemPerSmBytes: NonNeg,
  source: S.String,
  smFlopsPerCycle: S.optional(S.Struct({ tensor: Rates, simt: Rates })),
  sparseTensorFlops: S.optional(Rates),
  efficiency: S.optional(S.Record({ key: S.String, value: Eff })),
  derivedFrom: S.optional(S.String),
})

export const decodeDevice = (json: unknown, file: string): Either.Either<GpuSpec, InputFileInvalid> =>
  S.decodeUnknownEither(DeviceJson)(json).pipe(Either.mapLeft((e) => new InputFileInvalid({ file, message: firstIssue(e) })))

/** Reads and decodes a device file; a missing file or bad JSON is an `InputFileInvalid`. */
export const loadDeviceFile = (file: string): Either.Either<GpuSpec, InputFileInvalid> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    return Either.left(new InputFileInvalid({ file, message: `cannot read device file (${(e as Error).message})` }))
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new InputFileInvalid({ file, message: `not JSON (${(e as Error).message})` }))
  }
  return decodeDevice(json, file)
}
