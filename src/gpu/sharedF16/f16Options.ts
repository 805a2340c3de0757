import type { GpuContext } from "../device.js"
import type { KvFormat } from "../kvFormat.js"
import { wsmKnob } from "../sharedInt8/wsmKnob.js"
import { sharedF16WorkgroupBytes, type SharedF16Options } from "./sharedF16.wgsl.js"

/** `name` from the environment as one of `allowed` (numbers), else `fallback`; anything else is an error. */
const pick = <T extends number>(name: string, allowed: readonly T[], fallback: T | undefined): T | undefined => {
  const v = process.env[name]
  if (v === undefined) return fallback
  const n = allowed.find((a) => String(a) === v)
  if (n === undefined) throw new Error(`${name}=${v}: want one of ${allowed.join(", ")}`)
  return n
}

/**
 * MOSKA_SHARED_F16_OACC: "lazy" keeps O in result matrices (SharedF16Options.oAcc); unset or "tile" is the default.
 * With lazy, MOSKA_SHARED_F16_LAZY_O=flush (default) | load | none picks how O is rescaled (SharedF16Options.lazyO).
 */
const oAccKnob = (): { oAcc?: "lazy"; lazyO?: "load" | "none" } => {
  const v = process.env.MOSKA_SHARED_F16_OACC
  const w = process.env.MOSKA_SHARED_F16_LAZY_O
  if (w !== undefined && w !== "flush" && w !== "load" && w !== "none") throw new Error(`MOSKA_SHARED_F16_LAZY_O=${w}: want flush, load or none`)
  if (v === undefined || v === "tile") return {}
  if (v === "lazy") return { oAcc: "lazy", ...(w === "load" || w === "none" ? { lazyO: w } : {}) }
  throw new Error(`MOSKA_SHARED_F16_OACC=${v}: want lazy or tile`)
}

/** MOSKA_SHARED_F16_VLOAD: "early" issues the V tile's global loads with K's (SharedF16Options.vLoad); unset or "late" is the default. */
const vLoadKnob = (): { vLoad?: "early" } => {
  const v = process.env.MOSKA_SHARED_F16_VLOAD
  if (v === undefined || v === "late") return {}
  if (v === "early") return { vLoad: "early" }
  throw new Error(`MOSKA_SHARED_F16_VLOAD=${v}: want early or late`)
}

/**
 * Options of the f16 tensor-core kernel for this device: 64-row tiles where 48 KiB of workgroup memory
 * hold them (the O tile then goes through workgroup memory in two column parts), else 32-row tiles;
 * the fewest O parts that fit. Tuning knobs, each also settable alone so one device call can sweep them:
 * MOSKA_SHARED_F16_ROWS=32|64, MOSKA_SHARED_F16_OPARTS=1|2, MOSKA_SHARED_F16_KVSTRIDE=136|144 (f16 per
 * staged K/V row), MOSKA_SHARED_F16_SSTRIDE=68|72 (f32 per S row), MOSKA_SHARED_F16_PSTRIDE=72|80 (f16 per
 * P row), MOSKA_SHARED_F16_OPAD=4|8 (f32 of padding per O row), MOSKA_SHARED_F16_WSM=vec4 (workgroup tiles as
 * array<vec4<f16>>, see SharedF16Options.wsm), MOSKA_SHARED_F16_OACC=lazy (O kept in result matrices, lazily
 * rescaled, see SharedF16Options.oAcc; MOSKA_SHARED_F16_LAZY_O=flush|load|none, SharedF16Options.lazyO), MOSKA_SHARED_F16_VLOAD=early (V's global loads issued with K's, see
 * SharedF16Options.vLoad), MOSKA_SGM_SPELLING=legacy. A knob set to a
 * value whose layout does not fit the device is an error, not a silent fallback.
 * `format` int8: the kernel stages int8 KV (f16MmaBlocker allows that only with MOSKA_SHARED_INT8_F16=1).
 * @example const opts = f16Options(gpu) // { rows: 64, oParts: 2, ... } on the H200
 */
export const f16Options = (gpu: Pick<GpuContext, "limits" | "sgmSpelling">, format: KvFormat = "f16"): SharedF16Options => {
  const spelling = process.env.MOSKA_SGM_SPELLING === "legacy" ? "legacy" : gpu.sgmSpelling
  const strides = {
    kvStride: pick("MOSKA_SHARED_F16_KVSTRIDE", [136, 144] as const, 136)!,
    sStride: pick("MOSKA_SHARED_F16_SSTRIDE", [68, 72] as const, 72)!,
    pStride: pick("MOSKA_SHARED_F16_PSTRIDE", [72, 80] as const, 72)!,
    oPad: pick("MOSKA_SHARED_F16_OPAD", [4, 8] as const, 8)!,
    ...wsmKnob("MOSKA_SHARED_F16_WSM"),
    ...(format === "int8" ? { kv: "int8" as const } : {}),
    ...oAccKnob(),
    ...vLoadKnob(),
  }
  const rowsSet = pick("MOSKA_SHARED_F16_ROWS", [32, 64] as const, undefined)
  const partsSet = pick("MOSKA_SHARED_F16_OPARTS", [1, 2] as const, undefined)
  const limit = gpu.limits.maxComputeWorkgroupStorageSize
  const candidates: SharedF16Options[] = []
  for (const rows of rowsSet !== undefined ? [rowsSet] : ([64, 32] as const))
    for (const oParts of partsSet !== undefined ? [partsSet] : ([1, 2] as const)) candidates.push({ spelling, rows, oParts, ...strides })
  const fit = candidates.find((o) => sharedF16WorkgroupBytes(o) <= limit)
  if (fit === undefined) {
    const need = Math.min(...candidates.map(sharedF16WorkgroupBytes))
    throw new Error(`the f16 tensor-core kernel with these MOSKA_SHARED_F16_* options needs ${need} B of workgroup memory; the device allows ${limit}`)
  }
  return fit
}
