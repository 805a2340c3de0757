import type { Rng } from "../../core/rng.js"
import type { ChunkCount } from "../../engine/iterationWork.js"
import type { RouteTracker, RoutingModel } from "../../engine/routingModel.js"

/** Block id → chunk: a 32-bit integer mix, so equal ids (reused prefix blocks) land on the same chunk. */
export const blockToChunk = (block: number, chunks: number): number => {
  let h = (block ^ (block / 4294967296)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  h ^= h >>> 16
  return (h >>> 0) % chunks
}

/**
 * Routing from a trace's block ids (Mooncake `hash_ids`): a request attends the distinct chunks
 * its blocks hash onto (the first `topK` of them), at every decode step. The per-chunk counts of a
 * decode set are kept incrementally (join/leave cost O(blocks)), and the histogram is kept as
 * counts of counts, so a fast-mode iteration costs O(distinct counts). Fast and exact agree exactly.
 * @example traceRouting({ chunks: 1024, topK: 256 }).tracker().join(0, [0, 1, 2])
 */
export const traceRouting = (opts: { chunks: number; topK: number }): RoutingModel => {
  const { chunks: N, topK: k } = opts
  const chunksOf = (blocks: readonly number[] | undefined): Int32Array => {
    const set: number[] = []
    const seen = new Set<number>()
    for (const b of blocks ?? []) {
      const c = blockToChunk(b, N)
      if (!seen.has(c)) {
        seen.add(c)
        set.push(c)
        if (set.length === k) break
      }
    }
    return Int32Array.from(set)
  }
  return {
    kind: "trace",
    chunks: N,
    topK: k,
    inclusion: () => new Float64Array(N),
    drawHistogram: () => [],
    tracker(): RouteTracker {
      let counts = new Int32Array(N)
      // `counts()` hands out the live array itself, as an immutable snapshot: the first change after
      // that copies it (copy on write). Decode sets change far less often than steps run (Mooncake:
      // ~24k joins and leaves over 1.8M iterations), so steps stop copying 1024 counts each, and an
      // unchanged set returns the same array, which lets the pool reuse a merged histogram.
      let shared = false
      let countOfCounts = new Int32Array(64)
      let maxCount = 0
      const members = new Map<number, Int32Array>()
      let memo: ChunkCount[] | undefined
      const bump = (c: number, d: 1 | -1): void => {
        memo = undefined
        if (shared) {
          counts = counts.slice()
          shared = false
        }
        const old = counts[c] as number
        const now = old + d
        counts[c] = now
        if (old > 0) countOfCounts[old] = (countOfCounts[old] as number) - 1
        if (now > 0) {
          if (now >= countOfCounts.length) {
            const g = new Int32Array(countOfCounts.length * 2)
            g.set(countOfCounts)
            countOfCounts = g
          }
          countOfCounts[now] = (countOfCounts[now] as number) + 1
          if (now > maxCount) maxCount = now
        }
      }
      return {
        join(requestId, blocks) {
          const cs = chunksOf(blocks)
          members.set(requestId, cs)
          for (const c of cs) bump(c, 1)
        },
        leave(requestId) {
          const cs = members.get(requestId)
          if (cs === undefined) return
          members.delete(requestId)
          for (const c of cs) bump(c, -1)
          while (maxCount > 0 && countOfCounts[maxCount] === 0) maxCount--
        },
        histogram(_decoding: number, _rng: Rng): ChunkCount[] {
          // Unchanged set, same array: the worker and the pool then reuse what they derived from it.
          if (memo !== undefined) return memo
          const out: ChunkCount[] = []
          for (let q = 1; q <= maxCount; q++) {
            const u = countOfCounts[q] as number
            if (u > 0) out.push({ queries: q, units: u })
          }
          memo = out
          return out
        },
        counts: () => {
          shared = true
          return counts
        },
        routeExact(requestIds) {
          const byChunk = new Map<number, number[]>()
          for (const id of requestIds) {
            for (const c of members.get(id) ?? []) {
              const l = byChunk.get(c)
              if (l === undefined) byChunk.set(c, [id])
              else l.push(id)
            }
          }
          return byChunk
        },
      }
    },
  }
}
