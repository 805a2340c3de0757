import type { DType } from "../../core/dtype.js"
import type { MathUnit } from "./catalog.js"

/** Identical thread-block tiles of one launch. */
export interface TileGroup {
  readonly tiles: number
  /** FLOPs one tile executes, padding included (what the SM spends cycles on). */
  readonly flops: number
  /** HBM bytes one tile reads or writes after L2 reuse among concurrently resident tiles. */
  readonly bytes: number
}

/**
 * One kernel launch as the cycle model sees it: tiles in groups, how many tiles one SM holds at
 * once (occupancy), the math unit, a per-tile pipeline fill, and how often it repeats back to
 * back (e.g. once per layer).
 * @example { label: "gemm", klass: "gemm.cublas.bf16", groups: [{ tiles: 132, flops: 1e9, bytes: 1e6 }], tilesPerSm: 1, dtype: "bf16", unit: "tensor", fillCycles: 1500, repeat: 32 }
 */
export interface Launch {
  readonly label: string
  /** Calibration class, shared by all launches of one kernel spec. */
  readonly klass: string
  readonly groups: readonly TileGroup[]
  readonly tilesPerSm: number
  readonly dtype: DType
  readonly unit: MathUnit
  /** Cycles before a tile's loads and math overlap (prologue: first loads' latency). */
  readonly fillCycles: number
  readonly repeat: number
}

/** A kernel spec split into launches, with the spec-level counts reports quote. */
export interface Tiling {
  readonly impl: string
  readonly klass: string
  readonly launches: readonly Launch[]
  /** FLOPs the math needs (no padding), all launches and repeats. */
  readonly usefulFlops: number
}

export const tileCount = (l: Launch): number => l.groups.reduce((s, g) => s + g.tiles, 0)
