import { describe, expect, it } from "vitest"
import { rewriteSgmCalls } from "./sgmRewrite.js"
import { sgmLoad, sgmStore } from "../../src/gpu/sharedInt8/sgm.js"
import { INT8_WORKGROUP_BYTES } from "../../src/gpu/sharedInt8/int8Mma.js"
import { SHARED_BINDINGS } from "../../src/gpu/shared/shared.wgsl.js"
import { SHARED_INT8_BINDINGS, sharedInt8Wgsl, sharedInt8WorkgroupBytes, type SharedInt8Options } from "../../src/gpu/sharedInt8/sharedInt8.wgsl.js"
import { useGpu } from "./gpuFixture.js"

// The int8 tensor-core kernel cannot compile on lavapipe (no subgroup matrices), so these check its
// generator without a GPU: what it declares, how it spells matrix accesses, and its memory budget.

/** Bytes of every `var<workgroup>` the WGSL declares (i32/f32: 4 bytes, vec2<f32>: 8). */
const declaredWorkgroupBytes = (wgsl: string): number => {
  let total = 0
  const size: Record<string, number> = { i32: 4, f32: 4, "vec2<f32>": 8, "vec4<u32>": 16 }
  for (const m of wgsl.matchAll(/var<workgroup> \w+: array<(i32|f32|vec2<f32>|vec4<u32>), (\d+)>;/g)) total += Number(m[2]) * size[m[1]!]!
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
  { ...base, wsm: "vec4" },
  { ...base, wsm: "vec4", pStride: 80, rows: 32 },
  { ...base, wsm: "vec4", transposeS: true, threads: 256 },
  { ...base, wsm: "vec4", stage: "none", oStride: 128 },
  { ...base, wsm: "vec4", ablate: "softmax" },
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

  it("with wsm vec4 declares qb / pb as vec4<u32> arrays, loads from them in 16-byte units and writes whole vectors or components", () => {
    expect(sgmLoad("template", "subgroup_matrix_right<i8, 16, 32>", "&qb", "x + 16u", false, "SST", true)).toBe("subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>, row_major>(&qb, (x + 16u) / 16u, (SST) / 16u)")
    for (const v of variants.filter((x) => x.wsm === "vec4")) {
      const w = sharedInt8Wgsl(8, v)
      expect(w).toMatch(/var<workgroup> qb: array<vec4<u32>, \d+>;/)
      expect(w).toMatch(/var<workgroup> pb: array<vec4<u32>, \d+>;/)
      const loads = [...w.matchAll(/subgroupMatrixLoad<[^>]+>, \w+_major>\(&(qb|pb), ([^;]+)\);/g)]
      expect(loads.length).toBeGreaterThan(0)
      for (const m of loads) expect(m[2]).toMatch(/\) \/ 16u, \([^)]+\) \/ 16u$/)
      // No scalar-indexed word writes remain: each is a vec4 store or a component of one.
      expect(w).not.toMatch(/\b(qb|pb)\[[^\]]+\] = (packQ|bitcast<i32>|0x)/)
    }
    // The byte-offset multiples the vec4 form needs: 144-byte K/V rows, 64- or 80-byte P rows, 128-byte Q rows.
    for (const b of [144, 64, 80, 128]) expect(b % 16).toBe(0)
  })

  it("keys every staged K/V row load to a clamped key, so reads past the unit's keys stay in bounds", () => {
    const wgsl = sharedInt8Wgsl(8, base)
    const loads = [...wgsl.matchAll(/[kv]r\d = [kv]\[([^\]]+)\]/g)].map((m) => m[1]!)
    expect(loads.length).toBeGreaterThanOrEqual(8)
    for (const idx of loads) expect(idx).toMatch(/min\(.*, nkeys - 1u\)/)
  })
})

/**
 * The kernel's WGSL with each subgroup-matrix type and builtin replaced by a stand-in struct and function that
 * index the same array the same way (one element each: this checks types and indexing, not results), so Dawn's
 * compiler on lavapipe checks everything else: the vec4 arrays' whole-vector and component writes, bitcasts,
 * offsets. The matrix builtins themselves only compile on the H200 (`moska bench kernels --kv int8`, err column).
 */
const stubSgm = (wgsl: string): string => {
  const { s, loads, stores } = rewriteSgmCalls(wgsl, { "subgroup_matrix_left<i8, 32, 16>": "M8L", "subgroup_matrix_right<i8, 16, 32>": "M8R", "subgroup_matrix_result<i32, 16, 16>": "M32" })
  const vec4 = new Set([...s.matchAll(/var<workgroup> (\w+): array<vec4<u32>/g)].map((m) => m[1]!))
  const helpers = [
    ...["M8L", "M8R", "M32"].map((T) => `struct ${T} { v: array<i32, 4> }`),
    ...[...loads].map((x) => {
      const [T, arr] = x.split(":") as [string, string]
      return `fn load${T}_${arr}(cm: bool, off: u32, stride: u32) -> ${T} { var m: ${T}; m.v[0] = ${vec4.has(arr) ? `bitcast<i32>(${arr}[select(off, off + stride, cm)].x)` : `${arr}[select(off, off + stride, cm)]`}; return m; }`
    }),
    ...[...stores].map((arr) => `fn store_${arr}(cm: bool, off: u32, m: M32, stride: u32) { ${arr}[select(off, off + stride, cm)] = m.v[0]; }`),
    "fn mma(a: M8L, b: M8R, c: M32) -> M32 { var r = c; r.v[0] += a.v[0] * b.v[0]; return r; }",
  ]
  return `${s}\n${helpers.join("\n")}\n`
}

describe("int8 kernel WGSL compiles on Dawn with the matrix builtins stubbed (lavapipe)", () => {
  const gpu = useGpu()
  it.each(variants.filter((v) => v.spelling === "template").map((v) => [JSON.stringify(v), v] as const))("%s", async (_, v) => {
    const g = gpu()
    const lines = stubSgm(sharedInt8Wgsl(8, v)).split("\n")
    const bindings = v.stage === "none" ? SHARED_INT8_BINDINGS : SHARED_BINDINGS
    const full = [...lines.filter((l) => /^\s*enable\s/.test(l)), bindings.wgsl, ...lines.filter((l) => !/^\s*enable\s/.test(l))].join("\n")
    g.device.pushErrorScope("validation")
    const info = await g.device.createShaderModule({ code: full }).getCompilationInfo()
    const err = await g.device.popErrorScope()
    expect(info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}: ${m.message}`)).toEqual([])
    expect(err?.message).toBeUndefined()
  })
})
