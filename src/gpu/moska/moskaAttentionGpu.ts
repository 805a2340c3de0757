import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"
import { destroyKv, uploadKv } from "../kvBuffers.js"
import { encodeKv } from "../kvFormat.js"
import { mergePass } from "../merge/merge.js"
import { chunkCentroids } from "../router/centroids.js"
import { routerPass } from "../router/router.js"
import { sharedAttention, sharedShape } from "../shared/sharedAttention.js"
import { uniqueAttention } from "../unique/uniqueAttention.js"
import { chunkCount, type MoskaProblem, type MoskaResult } from "./moskaProblem.js"
import { routedUnits } from "./routedUnits.js"

/**
 * The whole MoSKA layer on the GPU: router kernel (its choice read back to stack the queries),
 * shared stacked attention per (chunk, KV head), unique flash-decoding, one n-way LSE merge.
 * Output buffers are poisoned with NaN before the run, so an unwritten element cannot pass.
 * @example const res = await withGpu((gpu) => moskaAttentionGpu(gpu, problem))
 */
export const moskaAttentionGpu = async (gpu: GpuContext, p: MoskaProblem): Promise<MoskaResult> => {
  const { B, Hq, Hkv, D, S, U, topK: K } = p
  const G = Hq / Hkv
  const N = chunkCount(p)
  const q = gpuOps.upload(gpu, p.q, "q")
  const centroids = gpuOps.upload(gpu, chunkCentroids(p.sharedK, S, Hkv, D, p.chunkTokens), "centroids")
  const router = await routerPass(gpu, { q, centroids, requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K })
  gpuOps.poison(gpu, router.out, B * Hkv * K * 4)
  await gpuOps.submit(gpu, "router", [router.pass])
  const chunks = await gpuOps.readI32(gpu, router.out, B * Hkv * K)
  const { units, where } = routedUnits(chunks, B, Hq, Hkv, K)
  const sharedRows = units.reduce((a, u) => a + u.rows.length, 0)

  const sharedKv = uploadKv(gpu, encodeKv(p.format, p.sharedK, D), encodeKv(p.format, p.sharedV, D))
  const uniqueKv = uploadKv(gpu, encodeKv(p.format, p.uniqueK, D), encodeKv(p.format, p.uniqueV, D))
  const lens = gpuOps.upload(gpu, Uint32Array.from(p.uniqueLen, (x) => Math.max(0, x)), "lens")
  // Shared splits are decided first so the unique host can reserve their slots in one buffer.
  const sharedJob = { kv: sharedKv, tokens: S, kvHeads: Hkv, chunkTokens: p.chunkTokens, units }
  const { splits } = sharedShape(gpu, sharedJob)
  const uniq = await uniqueAttention(gpu, { q, kv: uniqueKv, lens, requests: B, tokens: U, kvHeads: Hkv, qHeads: Hq, extraSlots: splits * sharedRows })
  const slotBase = B * Hq * uniq.nsplit
  const shared = await sharedAttention(gpu, { ...sharedJob, q, splits, out: { po: uniq.po, pl: uniq.pl, slotBase } })

  const offs = new Uint32Array(B * Hq + 1)
  const slots: number[] = []
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < Hq; hq++) {
      const row = b * Hq + hq
      for (let s = 0; s < uniq.nsplit; s++) slots.push(row * uniq.nsplit + s)
      const h = Math.floor(hq / G)
      for (let k = 0; k < K; k++) {
        const w = where[(b * Hkv + h) * K + k]!
        const n = units[w.unit]!.rows.length
        for (let s = 0; s < shared.splits; s++) slots.push(shared.unitSlot0[w.unit]! + s * n + w.row + (hq % G))
      }
      offs[row + 1] = slots.length
    }
  const out = gpuOps.buffer(gpu, B * Hq * D * 4, "out")
  const lse = gpuOps.buffer(gpu, B * Hq * 4, "lse")
  gpuOps.poison(gpu, uniq.po, (slotBase + shared.slots) * D * 4)
  gpuOps.poison(gpu, uniq.pl, (slotBase + shared.slots) * 4)
  gpuOps.poison(gpu, out, B * Hq * D * 4)
  gpuOps.poison(gpu, lse, B * Hq * 4)
  const merge = await mergePass(gpu, { po: uniq.po, pl: uniq.pl, slots: new Uint32Array(slots), offs, dim: D, out, lse })
  await gpuOps.submit(gpu, "moska attention", [...shared.passes, ...uniq.passes, merge])
  const result = { out: await gpuOps.readF32(gpu, out, B * Hq * D), lse: await gpuOps.readF32(gpu, lse, B * Hq), chunks }
  destroyKv(sharedKv)
  destroyKv(uniqueKv)
  for (const b of [q, centroids, router.out, lens, uniq.po, uniq.pl, out, lse]) b.destroy()
  return result
}
