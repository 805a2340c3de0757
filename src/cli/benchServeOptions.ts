import { readFileSync } from "node:fs"
import { InputFileInvalid, UsageError } from "../core/errors.js"
import type { Goodput } from "../bench/serveResult.js"
import { parseTrace } from "../traces/parseTrace.js"
import type { TraceFormatName } from "../traces/TraceImport.js"
import { readErrorText } from "./readErrorText.js"

// The checks of `moska bench serve`'s flags (src/cli/commands/benchServe.ts), loaded when it runs.

export const usage = (message: string): UsageError => new UsageError({ message })

export const intOf = (flag: string, v: string, min: number): number => {
  const n = Number(v)
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw usage(`${flag} must be an integer of at least ${min} (got "${v}")`)
  return n
}

export const positiveOf = (flag: string, v: string): number => {
  const n = Number(v)
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0) throw usage(`${flag} must be a positive number (got "${v}")`)
  return n
}

export const listOf = (v: string): string[] => v.split(",").map((s) => s.trim()).filter((s) => s !== "")

const GOODPUT_KEYS = ["ttft", "tpot", "e2el"] as const

/** `--goodput ttft:500 tpot:50` (vLLM's form; `ttft:500,tpot:50` too). */
export const goodputOf = (values: readonly string[] | undefined): Goodput | null => {
  if (values === undefined) return null
  const g: Record<string, number> = {}
  for (const item of values.flatMap(listOf)) {
    const m = /^([a-z0-9]+):(.*)$/.exec(item)
    if (m === null || !(GOODPUT_KEYS as readonly string[]).includes(m[1] as string)) {
      throw usage(`--goodput takes METRIC:MS with METRIC one of ${GOODPUT_KEYS.join(", ")} (got "${item}")`)
    }
    const ms = Number(m[2])
    if ((m[2] as string).trim() === "" || !Number.isFinite(ms) || ms < 0) throw usage(`--goodput ${m[1]}: the bound must be a number of ms ≥ 0 (got "${m[2]}")`)
    g[m[1] as string] = ms
  }
  if (Object.keys(g).length === 0) throw usage("--goodput needs at least one METRIC:MS")
  return g
}

export const readTrace = (file: string, format: string) => {
  if (!["auto", "azure", "burstgpt", "mooncake"].includes(format)) throw usage(`--trace-format must be auto, azure, burstgpt or mooncake (got "${format}")`)
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw new InputFileInvalid({ file, message: `cannot read the trace file (${readErrorText(e)})` })
  }
  const { requests, skipped } = parseTrace(text, { file, format: format as TraceFormatName | "auto" })
  if (requests.length === 0) throw new InputFileInvalid({ file, message: `the trace has no request with at least one output token (${skipped} skipped)` })
  return requests
}
