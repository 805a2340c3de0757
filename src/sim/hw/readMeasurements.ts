import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import { InputFileInvalid } from "../../core/errors.js"
import { decodeMeasurementFile, type Measurement } from "./measurementFile.js"

/**
 * Reads and decodes measurement files; any problem is one `InputFileInvalid` line.
 * @example readMeasurements(["data/measurements/h200-torch-2026.json"]).length
 */
export const readMeasurements = (files: readonly string[]): Measurement[] =>
  files.flatMap((file) => {
    let json: unknown
    try {
      json = JSON.parse(readFileSync(file, "utf8"))
    } catch (e) {
      throw new InputFileInvalid({ file, message: `cannot read a JSON measurement file (${(e as Error).message.split("\n")[0]})` })
    }
    const r = decodeMeasurementFile(json, file)
    if (Either.isLeft(r)) throw r.left
    return r.right.measurements
  })

