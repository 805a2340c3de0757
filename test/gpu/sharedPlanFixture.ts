import { expect } from "vitest"
import type { GpuContext } from "../../src/gpu/device.js"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { mergeRef } from "../../src/gpu/merge/mergeRef.js"
import { EMPTY_LSE, type Partial } from "../../src/gpu/merge/partial.js"
import type { sharedAttention } from "../../src/gpu/shared/sharedAttention.js"
import { sharedAttentionRef, type SharedRefInput } from "../../src/gpu/shared/sharedAttentionRef.js"

/**
 * Runs a shared-attention plan with its partials poisoned first (NaN: a slot no work item writes stays
 * NaN and fails the check), merges each stacked row's split partials, and returns them beside the
 * float64 reference's rows, flattened (o then lse per row), for `relErr`.
 * @example const { got, want } = await runSharedVsRef(g, plan, "shared", { q, k, v, tokens: S, kvHeads: Hkv, dim: D, chunkTokens: C, units })
 */
export const runSharedVsRef = async (
  g: GpuContext,
  plan: Awaited<ReturnType<typeof sharedAttention>>,
  label: string,
  ref: SharedRefInput,
): Promise<{ got: number[]; want: number[] }> => {
  const D = ref.dim
  gpuOps.poison(g, plan.po, plan.slots * D * 4)
  gpuOps.poison(g, plan.pl, plan.slots * 4)
  await gpuOps.submit(g, label, plan.passes)
  const po = await gpuOps.readF32(g, plan.po, plan.slots * D)
  const pl = await gpuOps.readF32(g, plan.pl, plan.slots)
  expect(po.every(Number.isFinite) && pl.every(Number.isFinite), "unwritten partial (NaN poison survived)").toBe(true)
  const want64 = sharedAttentionRef(ref)
  const got: number[] = []
  const want: number[] = []
  ref.units.forEach((u, ui) =>
    u.rows.forEach((_, i) => {
      const parts: Partial[] = []
      for (let s = 0; s < plan.splits; s++) {
        const slot = plan.unitSlot0[ui]! + s * u.rows.length + i
        parts.push({ o: Float64Array.from(po.subarray(slot * D, (slot + 1) * D)), lse: pl[slot]! <= EMPTY_LSE / 2 ? -Infinity : pl[slot]! })
      }
      const m = mergeRef(parts, D)
      got.push(...m.o, m.lse)
      want.push(...want64[ui]![i]!.o, want64[ui]![i]!.lse)
    }),
  )
  return { got, want }
}
