import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { InputFileInvalid, UsageError } from "../core/errors.js"
import { checkHeadDim, KV_FORMATS, type KvFormat } from "../gpu/kvFormat.js"
import type { MoskaProblem } from "../gpu/moska/moskaProblem.js"
import { firstNonFinite, parseNpy } from "../gpu/npy/npy.js"
import { ROUTER_MAX_CHUNKS } from "../gpu/router/router.wgsl.js"
import { readErrorText } from "./readErrorText.js"

/** The options of `moska attention` (src/cli/commands/attention.ts), as commander gives them. */
export interface AttentionOptions {
  in: string
  out: string
  backend: string
  kv: string
  topK: string
  chunkTokens: string
  json?: boolean
}

const readArray = <D extends "<f4" | "<i4">(dir: string, name: string, dtype: D, rank: number) => {
  const file = join(dir, name)
  if (!existsSync(file)) throw new InputFileInvalid({ file, message: "file not found" })
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch (e) {
    throw new InputFileInvalid({ file, message: `cannot read the .npy file (${readErrorText(e)})` })
  }
  const a = parseNpy(bytes, file, dtype)
  if (a.shape.length !== rank) throw new InputFileInvalid({ file, message: `expected ${rank} dimensions, got shape (${a.shape.join(", ")})` })
  if (a.data instanceof Float32Array) {
    const bad = firstNonFinite(a.data, a.shape)
    if (bad !== undefined) throw new InputFileInvalid({ file, message: `element [${bad.index.join(", ")}] is ${bad.value}; every input value must be finite` })
  }
  return a
}

/** A flag's integer value: decimal digits only (Number() would take '', ' ', '0x10' and '1e3'). */
const int = (flag: string, text: string, min: number): number => {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError({ message: `${flag} must be an integer ≥ ${min} (got ${JSON.stringify(text)})` })
  return n
}

/** Reads and checks the .npy inputs of `moska attention` (see the numerics CLI). */
export const readProblem = (opts: AttentionOptions): MoskaProblem => {
  if (!KV_FORMATS.includes(opts.kv as KvFormat)) throw new UsageError({ message: `--kv must be one of ${KV_FORMATS.join(", ")} (got '${opts.kv}')` })
  const chunkTokens = int("--chunk-tokens", opts.chunkTokens, 1)
  const dir = opts.in
  const q = readArray(dir, "q.npy", "<f4", 3)
  const sk = readArray(dir, "shared_k.npy", "<f4", 3)
  const sv = readArray(dir, "shared_v.npy", "<f4", 3)
  const uk = readArray(dir, "unique_k.npy", "<f4", 4)
  const uv = readArray(dir, "unique_v.npy", "<f4", 4)
  const [B, Hq, D] = q.shape as [number, number, number]
  const [S, Hkv] = sk.shape as [number, number, number]
  const U = uk.shape[1]!
  const shapeErr = (name: string, want: number[], got: readonly number[]): InputFileInvalid =>
    new InputFileInvalid({ file: join(dir, name), message: `shape (${got.join(", ")}) does not match (${want.join(", ")}) implied by q.npy [B, Hq, D] and shared_k.npy [S, Hkv, D]` })
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])
  if (sk.shape[2] !== D) throw shapeErr("shared_k.npy", [S, Hkv, D], sk.shape)
  if (!same(sv.shape, sk.shape)) throw shapeErr("shared_v.npy", [S, Hkv, D], sv.shape)
  if (!same(uk.shape, [B, U, Hkv, D])) throw shapeErr("unique_k.npy", [B, U, Hkv, D], uk.shape)
  if (!same(uv.shape, uk.shape)) throw shapeErr("unique_v.npy", [B, U, Hkv, D], uv.shape)
  if (Hkv < 1 || Hq % Hkv !== 0) throw new InputFileInvalid({ file: join(dir, "q.npy"), message: `query heads (${Hq}) must be a positive multiple of KV heads (${Hkv})` })
  const dimErr = checkHeadDim(D)
  if (dimErr !== undefined) throw new InputFileInvalid({ file: join(dir, "q.npy"), message: dimErr })
  let uniqueLen: Int32Array = new Int32Array(B).fill(U)
  if (existsSync(join(dir, "unique_len.npy"))) {
    const ul = readArray(dir, "unique_len.npy", "<i4", 1)
    if (ul.shape[0] !== B) throw shapeErr("unique_len.npy", [B], ul.shape)
    const bad = ul.data.findIndex((x) => x < 0 || x > U)
    if (bad >= 0) throw new InputFileInvalid({ file: join(dir, "unique_len.npy"), message: `unique_len[${bad}] = ${ul.data[bad]} is outside [0, ${U}]` })
    uniqueLen = ul.data
  }
  const N = Math.ceil(S / chunkTokens)
  if (N > ROUTER_MAX_CHUNKS) throw new UsageError({ message: `${N} chunks exceed the router's ${ROUTER_MAX_CHUNKS}; raise --chunk-tokens` })
  const topK = opts.topK === "all" ? N : int("--top-k", opts.topK, 0)
  if (topK > N) throw new UsageError({ message: `--top-k ${topK} is larger than the chunk count ${N} (S = ${S}, --chunk-tokens ${chunkTokens})` })
  return { B, Hq, Hkv, D, S, U, q: q.data, sharedK: sk.data, sharedV: sv.data, uniqueK: uk.data, uniqueV: uv.data, uniqueLen, chunkTokens, topK, format: opts.kv as KvFormat }
}
