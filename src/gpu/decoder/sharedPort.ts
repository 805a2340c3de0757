import { CapacityExceeded } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { SHARED_KEY_TILE, sharedWorkgroupBytes, type SharedVariant } from "../shared/shared.wgsl.js"

/** One shared-attention unit of a layer's plan: a (chunk, KV head) and how many stacked rows attend it. */
export interface SharedPlanUnit {
  readonly chunk: number
  readonly kvHead: number
  readonly rows: number
}

/**
 * One layer's shared attention, as the unique side asks for it: everything the shared side needs
 * to run the same work items the decoder would have run locally, so both give the same partials.
 */
export interface SharedRequest {
  readonly layer: number
  /** Query rows [n, headDim] f32, RoPE applied (the decoder's attention queries: batch row b, q head hq at b·qHeads + hq). */
  readonly q: Float32Array
  /** The stacked row list, unit by unit in `units` order: indices into `q`. */
  readonly rows: Uint32Array
  readonly units: readonly SharedPlanUnit[]
  /** Key ranges per unit: its chunk's keys in `splits` ranges, one partial per row per range. */
  readonly splits: number
  /** Stacked rows per work item (the kernel variant: 16 or 64). */
  readonly rowTile: 16 | 64
  /**
   * Merge on the shared side: the reply holds one partial per query row (all of that row's
   * chunks and key ranges LSE-merged), topK × splits times fewer bytes back than one per slot.
   */
  readonly merge: boolean
}

/**
 * The partials of a request. With `merge`: one per query row, in `q`'s row order (a row no unit
 * lists gets o = 0, lse = −∞). Without: in partial-slot order, unit by unit, within a unit
 * split-major (unit u's split s, row r at base(u) + s·rows(u) + r, base(u) = splits · Σ rows of the units before u).
 */
export interface SharedReply {
  /** [slots, headDim] f32: each slot's output, normalised by its own softmax sum (0 where it saw no key). */
  readonly o: Float32Array
  /** [slots] f32: each slot's log-sum-exp (−1e30, or −∞ merged, where it saw no key). */
  readonly lse: Float32Array
}

/**
 * Where a MoSKA decoder's shared attention runs when not on its own device: one call per layer
 * (the decoder awaits it before that layer's merge), answered by a `SharedServer` holding the same
 * corpus, in this process or in another behind a data link.
 * @example
 * const server = await SharedServer.create(gpu, cfg)
 * const dec = await LlamaDecoder.create(gpu, { ...cfg, sharedPort: (req) => server.attend(req) })
 */
export type SharedPort = (req: SharedRequest) => Promise<SharedReply>

/** Total stacked rows of a plan (partial slots = splits × this). */
export const planRows = (units: readonly SharedPlanUnit[]): number => units.reduce((a, u) => a + u.rows, 0)

/**
 * The shared kernel's work items (SHARED_ITEM_WORDS words each) for a plan, per corpus segment:
 * a unit's rows in tiles of `rowTile` times its key ranges; keys are relative to the segment,
 * partial slots start at `slotBase`. The decoder and the shared server both build their items
 * here, so a remote layer runs exactly the items a local one would.
 */
export const sharedWorkItems = (p: {
  readonly units: readonly SharedPlanUnit[]
  readonly splits: number
  readonly rowTile: number
  readonly chunkTokens: number
  readonly corpusTokens: number
  readonly segments: ReadonlyArray<{ readonly unit0: number; readonly units: number }>
  readonly slotBase: number
}): number[][] => {
  const C = p.chunkTokens
  const RT = p.rowTile
  const splitKeys = Math.ceil(Math.ceil(C / p.splits) / SHARED_KEY_TILE) * SHARED_KEY_TILE
  const items: number[][] = p.segments.map(() => [])
  let slot = p.slotBase
  let rowBase = 0
  for (const u of p.units) {
    const n = u.rows
    const seg = p.segments.findIndex((sg) => u.chunk >= sg.unit0 && u.chunk < sg.unit0 + sg.units)
    if (seg < 0) throw new Error(`shared plan: chunk ${u.chunk} is in no corpus segment (a plan for another corpus?)`)
    const chunkStart = u.chunk * C
    const chunkLen = Math.min(C, p.corpusTokens - chunkStart)
    for (let sp = 0; sp < p.splits; sp++) {
      const from = Math.min(chunkLen, sp * splitKeys)
      const to = Math.min(chunkLen, from + splitKeys)
      for (let r0 = 0; r0 < n; r0 += RT) items[seg]!.push(rowBase + r0, Math.min(RT, n - r0), chunkStart - p.segments[seg]!.unit0 * C + from, to - from, u.kvHead, slot + sp * n + r0, 0, 0)
    }
    slot += p.splits * n
    rowBase += n
  }
  return items
}

/** The shared kernel variant for a row tile on this device (the decoder's rule: 32-wide head-dim staging when it fits). */
export const sharedVariantFor = (gpu: GpuContext, D: number, rowTile: 16 | 64): SharedVariant => {
  const RI: 1 | 4 = rowTile === 64 ? 4 : 1
  const wgLimit = gpu.limits.maxComputeWorkgroupStorageSize
  const dk: 16 | 32 = D % 32 === 0 && sharedWorkgroupBytes({ dim: D, format: "f32", rowsPerThread: RI, dk: 32 }) <= wgLimit ? 32 : 16
  const v: SharedVariant = { dim: D, format: "f32", rowsPerThread: RI, dk }
  if (sharedWorkgroupBytes(v) > wgLimit) throw new CapacityExceeded({ what: `shared attention workgroup memory (${rowTile}-row tiles; try sharedRowTile 16)`, needBytes: sharedWorkgroupBytes(v), capacityBytes: wgLimit })
  return v
}
