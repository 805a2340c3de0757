import { describe, expect, it } from "vitest"
import { sgmLoad, sgmStore } from "../../src/gpu/sharedInt8/sgm.js"
import { INT8_WORKGROUP_BYTES } from "../../src/gpu/sharedInt8/int8Mma.js"
import { sharedInt8Wgsl, sharedInt8WorkgroupBytes, type SharedInt8Options } from "../../src/gpu/sharedInt8/sharedInt8.wgsl.js"

// The int8 tensor-core kernel cannot compile on lavapipe (no subgroup matrices), so these check its
// generator without a GPU: what it declares, how it spells matrix accesses, and its memory budget.

/** Bytes of every `var<workgroup>` the WGSL declares (i32/f32: 4 bytes, vec2<f32>: 8). */
const declaredWorkgroupBytes = (wgsl: string): number => {
  let total = 0
  for (const m of wgsl.matchAll(/var<workgroup> \w+: array<(i32|f32|vec2<f32>), (\d+)>;/g)) total += Number(m[2]) * (m[1] === "vec2<f32>" ? 8 : 4)
  return total
}

const base: SharedInt8Options = { stage: "kv", spelling: "template", prefetch: false, oStride: 136, rows: 64, transposeS: false, pStride: 64, threads: 128 }
const variants: SharedInt8Options[] = [
  base,
  { ...base, prefetch: true },
  { ...base, oStride: 132, pStride: 80 },
  { ...base, rows: 32 },
  { ...base, rows: 32, transposeS: true },
  { ...base, transposeS: true },
  { ...base, stage: "none", oStride: 128 },
  { ...base, stage: "none", oStride: 128, transposeS: true, spelling: "legacy" },
  { ...base, ablate: "softmax" },
  { ...base, threads: 256 },
  { ...base, threads: 256, prefetch: true, transposeS: true },
  { ...base, ablate: "stage" },
]

describe("int8 shared-attention WGSL generator", () => {
  it.each(variants.map((v) => [JSON.stringify(v), v] as const))("declares exactly the workgroup memory it accounts for: %s", (_, v) => {
    const wgsl = sharedInt8Wgsl(8, v)
    expect(declaredWorkgroupBytes(wgsl)).toBe(sharedInt8WorkgroupBytes(v))
  })

  it("fits the default (staged) kernel in the H200's 48 KiB, and the unstaged fallback below it", () => {
    expect(sharedInt8WorkgroupBytes(base)).toBeLessThanOrEqual(48 * 1024)
    expect(INT8_WORKGROUP_BYTES).toBe(sharedInt8WorkgroupBytes({ ...base, stage: "none", oStride: 128 }))
    expect(INT8_WORKGROUP_BYTES).toBeLessThan(sharedInt8WorkgroupBytes(base))
  })

  it("spells every matrix access in the chosen form only (template: no bool layout argument)", () => {
    const t = sharedInt8Wgsl(8, base)
    expect(t).not.toMatch(/subgroupMatrixLoad<subgroup_matrix_\w+<[^>]*>>\(/)
    expect(t).not.toMatch(/subgroupMatrixStore\(/)
    expect(t).toMatch(/subgroupMatrixStore<row_major>\(/)
    const l = sharedInt8Wgsl(8, { ...base, spelling: "legacy" })
    expect(l).not.toMatch(/_major>/)
  })

  it("counts i8 offsets and strides in 32-bit words in the template spelling, in bytes in the legacy one", () => {
    expect(sgmLoad("template", "subgroup_matrix_left<i8, 32, 16>", "&a", "x + 32u", false, "144u")).toBe(
      "subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>, row_major>(&a, (x + 32u) / 4u, (144u) / 4u)",
    )
    expect(sgmLoad("legacy", "subgroup_matrix_right<i8, 16, 32>", "&a", "x", true, "144u")).toBe("subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&a, x, true, 144u)")
    expect(sgmLoad("template", "subgroup_matrix_result<i32, 16, 16>", "&a", "x", true, "72u")).toBe("subgroupMatrixLoad<subgroup_matrix_result<i32, 16, 16>, col_major>(&a, x, 72u)")
    expect(sgmStore("template", "&big", "o", "c0", false, "72u")).toBe("subgroupMatrixStore<row_major>(&big, o, c0, 72u)")
    expect(sgmStore("legacy", "&big", "o", "c0", false, "72u")).toBe("subgroupMatrixStore(&big, o, c0, false, 72u)")
  })

  it("keys every staged K/V row load to a clamped key, so reads past the unit's keys stay in bounds", () => {
    const wgsl = sharedInt8Wgsl(8, base)
    const loads = [...wgsl.matchAll(/[kv]r\d = [kv]\[([^\]]+)\]/g)].map((m) => m[1]!)
    expect(loads.length).toBeGreaterThanOrEqual(8)
    for (const idx of loads) expect(idx).toMatch(/min\(.*, nkeys - 1u\)/)
  })
})
