import { defineBindings } from "../bindings.js"
import { SHARED_BINDING_KINDS, SHARED_PARAMS } from "../shared/shared.wgsl.js"
import { sgmLoad, sgmStore, type SgmSpelling } from "./sgm.js"
import { unrollWgsl as unroll } from "../unrollWgsl.js"

/**
 * Bindings of the unstaged int8 tensor-core kernel: as the f32 kernel's, but K/V bound as `array<i32>`
 * because it matrix-loads i8 from them. The staged kernel reads K/V as 16-byte vectors, with the f32
 * kernel's bindings (`SHARED_BINDINGS`).
 */
export const SHARED_INT8_BINDINGS = defineBindings({ ...SHARED_BINDING_KINDS, k: "read<i32>", v: "read<i32>" })

/** Keys per tile (four subgroups × 16 key columns). */
export const INT8_KEY_TILE = 64
/** Head dim the kernel is written for (one column per invocation in the rescale step). */
export const INT8_DIM = 128
/** Row stride, in bytes, of a K or V tile staged in workgroup memory: 128 + 16 so rows start on different banks. */
export const INT8_STAGE_STRIDE = 144

/** Where the narrow kernel reads K and V from: straight from storage by matrix loads, or staged through workgroup memory. */
export type Int8Stage = "none" | "kv"

export interface SharedInt8Options {
  readonly stage: Int8Stage
  readonly spelling: SgmSpelling
  /** Staged only: issue the next tile's K/V loads one phase ahead (held in registers). */
  readonly prefetch: boolean
  /** Row stride (i32 words) of the O tile in workgroup memory: 128 + 8 (default) or + 4, against bank conflicts. */
  readonly oStride: number
  /** Stacked rows per workgroup: 64 (four 16-row blocks) or 32 (two; for units with few rows). */
  readonly rows: 32 | 64
  /** Compute Sᵀ = K·Qᵀ (K as a row-major left matrix) instead of S = Q·Kᵀ (K column-major). */
  readonly transposeS: boolean
  /** Row stride of the i8 P tile in bytes: 64 (unpadded) or 80. */
  readonly pStride: 64 | 80
  /** Invocations per workgroup: 128 (four subgroups over all rows) or 256 (eight: two row halves, half the registers each). */
  readonly threads: 128 | 256
  /**
   * "vec4": the i8 workgroup arrays (Q / staged K and V, P) are declared array<vec4<u32>> (the probe's exact type)
   * and their matrix loads count 16-byte vectors: bench/sgm-ops-probe2.mjs timed i8 matrix loads from such an
   * array as fast with Dawn's robustness on as from array<i32> with it off (sgm.ts). Absent: array<i32>, the
   * session-7 kernel.
   */
  readonly wsm?: "vec4"
  /** Profiling only, wrong results: leave out one phase of the key loop to time the others. */
  readonly ablate?: "stage" | "s" | "softmax" | "pv" | "rescale"
}

/** Row stride (i32 words) of the S tile in workgroup memory (64 + 8: rows start 8 banks apart). */
export const INT8_S_STRIDE = 72

/**
 * Workgroup arrays of the kernel for these options, in elements: `qb` (i32: Q as i8, or a staged K/V tile),
 * `big` (i32: the S tile, then the O tile), `pb` (i32: P as i8), and the f32 per-key `skw`/`svw` and the
 * vec2<f32> per-row `apw`. The kernel declares exactly these, and the host checks their bytes against the limit.
 */
export const sharedInt8Layout = (opts: Pick<SharedInt8Options, "stage" | "oStride" | "rows" | "transposeS" | "pStride">) => {
  const D = INT8_DIM
  const RT = opts.rows
  const KT = INT8_KEY_TILE
  const st = opts.stage === "kv"
  const oStride = st ? opts.oStride : D
  const sStride = st ? INT8_S_STRIDE : KT
  return {
    qb: Math.max((RT * D) / 4, st ? (KT * INT8_STAGE_STRIDE) / 4 : 0),
    big: Math.max(RT * oStride, (opts.transposeS ? KT : RT) * sStride),
    pb: (RT * opts.pStride) / 4,
    perKey: KT,
    perRow: RT,
  }
}

/** Workgroup memory of the kernel for these options, in bytes. */
export const sharedInt8WorkgroupBytes = (opts: Pick<SharedInt8Options, "stage" | "oStride" | "rows" | "transposeS" | "pStride">): number => {
  const L = sharedInt8Layout(opts)
  return 4 * (L.qb + L.big + L.pb + 2 * L.perKey) + 8 * L.perRow
}

/**
 * Shared (stacked) attention on int8 subgroup matrices (tensor cores), one workgroup of four
 * subgroups per work item (≤ 64 stacked rows × a key range of one chunk and KV head):
 * - Q rows are quantized to i8 once (per-row scale, 1/√D folded in); the 16 Q matrices (4 row blocks ×
 *   4 head-dim steps) stay in registers for the whole key loop;
 * - S = Q·Kᵀ: subgroup s multiplies all 64 rows by keys 16s..16s+15 (per-token K scales applied after, in f32);
 * - online softmax in f32, two invocations per row; P·diag(v scale) is quantized to i8 per row and
 *   tile (scale = row max / 127), since V's per-token scale cannot leave the key sum otherwise;
 * - O_tile = P·V on subgroup matrices into i32, then each invocation (one output column) rescales
 *   its 64 f32 accumulators by the softmax correction and adds the dequantized tile.
 * `stage: "kv"` (the default): K and V tiles are read with coalesced 16-byte loads (optionally one
 * phase ahead, in registers) and written to workgroup memory with 144-byte rows; the matrix loads read
 * them there, and S/O are stored with padded rows (72 / oStride words). On the H200 a column-major matrix
 * load from storage costs ~8× one from padded workgroup memory and unpadded 64-word rows cost ~4× on
 * stores (bench/sgm-ops-probe.mjs); staging made the kernel 1.8× faster (docs/kernels-h200.md).
 * "none" is the first version (K/V matrix-loaded from storage, rows unpadded), kept for devices with
 * less than 48 KiB of workgroup memory. The other options were timed and did not help on the H200.
 * Only for D = 128, subgroup size 32, and a device with i8 16×16×32 subgroup matrices.
 */
export const sharedInt8Wgsl = (kvHeads: number, opts: SharedInt8Options): string => {
  const D = INT8_DIM
  const RT = opts.rows
  const NT = opts.threads
  // Subgroups 4g..4g+3 own row group g (RG rows, RBg row blocks); within it subgroup s % 4 owns key block / dim block s % 4.
  const RG = RT / (NT / 128)
  const RBg = RG / 16
  // Softmax role: TPR invocations per row, each over KPT keys in NG groups of 4.
  const TPR = NT / RT
  const KT = INT8_KEY_TILE
  const KPT = KT / TPR
  const NG = KPT / 4
  const KS = kvHeads * D
  const SST = INT8_STAGE_STRIDE
  const sp = opts.spelling
  const v4 = opts.wsm === "vec4"
  // Matrix loads from the workgroup arrays qb / pb, and single-word writes into them (a component of a vec4).
  const wld = (type: string, ptr: string, offset: string, col: boolean, stride: string): string => sgmLoad(sp, type, ptr, offset, col, stride, v4)
  const wput = (arr: string, word: string, value: string): string => (v4 ? `${arr}[(${word}) / 4u][(${word}) % 4u] = bitcast<u32>(${value})` : `${arr}[${word}] = ${value}`)
  const lanes = [1, 2, 4].filter((m) => m < TPR)
  const xor = (v: string): string => lanes.map((m) => `${v} = max(${v}, subgroupShuffleXor(${v}, ${m}u));`).join("\n      ")
  const st = opts.stage === "kv"
  const SS = st ? INT8_S_STRIDE : KT
  const OS = st ? opts.oStride : D
  const pre = st && opts.prefetch
  // Profiling only (results are wrong): drop one phase of the key loop to time the rest.
  const ab = opts.ablate
  // Per-row and per-key code is emitted unrolled with constant indices, so o[] and sc[] cannot end up
  // in local memory on a compiler that only partly unrolls (the H200's driver timed the same either way).
  const left = "subgroup_matrix_left<i8, 32, 16>"
  const right = "subgroup_matrix_right<i8, 16, 32>"
  // Q matrices: left (rows × head dims) for S = Q·Kᵀ, or right (head dims × rows, i.e. Q read
  // column-major) for Sᵀ = K·Qᵀ, where K is a row-major left matrix (key rows are contiguous).
  const tr = opts.transposeS
  const rowBlock = (rb: number): string => (NT === 128 ? `${rb}u` : `(grp * ${RBg}u + ${rb}u)`)
  const qm = unroll(4 * RBg, (i) => `  let qm${i} = ${wld(tr ? right : left, "&qb", `${rowBlock(i % RBg)} * 16u * D + ${Math.floor(i / RBg) * 32}u`, tr, "D")};`)
  const sMma = unroll(4, (d) => {
    const kType = tr ? left : right
    const b = st ? wld(kType, "&qb", `kbk * 16u * SST + ${d * 32}u`, !tr, "SST") : sgmLoad(sp, kType, "&k", `kbase + (k0 + kbk * 16u) * KS + ${d * 32}u`, !tr, "KS")
    const lines = [`      let b${d} = ${b};`]
    for (let rb = 0; rb < RBg; rb++) lines.push(`      c${rb} = subgroupMatrixMultiplyAccumulate(${tr ? `b${d}, qm${d * RBg + rb}` : `qm${d * RBg + rb}, b${d}`}, c${rb});`)
    return lines.join("\n")
  })
  // Where score (row r, key) sits in workgroup memory: S rows, or Sᵀ rows (one per key).
  const sAt = (key: string): string => (tr ? `big[${key} * SS + r]` : `big[r * SS + ${key}]`)
  const vLoad = (j0: string, plus: string): string =>
    st ? wld(right, "&qb", `${j0} * SST + kbk * 32u${plus}`, false, "SST") : sgmLoad(sp, right, "&v", `kbase + (k0 + ${j0}) * KS + kbk * 32u${plus}`, false, "KS")
  // Staging: invocation t moves 16-byte column t % 8 of keys t / 8 + (NT / 8)·j (j < NV) of a 64-key tile.
  const NV = (KT * 8) / NT
  const gidx = (j: number, k0: string): string => `((key0 + min(${k0} + t / 8u + ${(NT / 8) * j}u, nkeys - 1u)) * params.Hkv + h) * 8u + t % 8u`
  const fetch = (reg: string, buf: string, k0: string): string => Array.from({ length: NV }, (_, j) => `${reg}${j} = ${buf}[${gidx(j, k0)}];`).join(" ")
  const put = (reg: string): string =>
    Array.from({ length: NV }, (_, j) => {
      const o = `(t / 8u + ${(NT / 8) * j}u) * ${SST / 4}u + (t % 8u) * 4u`
      // so is a multiple of 4 words (SST / 4 and the column are), so the vec4 form writes one whole vector.
      if (v4) return `{ qb[(${o}) / 4u] = ${reg}${j}; }`
      return `{ let so = ${o}; qb[so] = bitcast<i32>(${reg}${j}.x); qb[so + 1u] = bitcast<i32>(${reg}${j}.y); qb[so + 2u] = bitcast<i32>(${reg}${j}.z); qb[so + 3u] = bitcast<i32>(${reg}${j}.w); }`
    }).join("\n    ")
  // Without prefetch the tile is loaded right where it is written (latency hidden by other workgroups).
  const stageK = !st ? "" : pre ? `    ${put("kr")}\n` : `    ${fetch("kr", "k", "k0")}\n    ${put("kr")}\n`
  const nextK = pre ? `    if (k0 + KT < nkeys) { ${fetch("kr", "k", "k0 + KT")} }\n` : ""
  const stageV = !st ? "" : pre ? `    ${put("vr")}\n    if (k0 + KT < nkeys) { ${fetch("vr", "v", "k0 + KT")} }\n` : `    ${fetch("vr", "v", "k0")}\n    ${put("vr")}\n`
  const layout = sharedInt8Layout(opts)
  // P row stride in bytes: 64, or 80 (its matrix loads were 3× faster in bench/sgm-ops-probe.mjs).
  const PST = opts.pStride
  const store = (off: string, m: string, stride: string): string => `${sgmStore(sp, "&big", off, m, false, stride)};`
  return /* wgsl */ `
enable subgroups;
enable chromium_experimental_subgroup_matrix;
${SHARED_PARAMS}
const D: u32 = ${D}u;
const RT: u32 = ${RT}u;
const KT: u32 = ${KT}u;
const KS: u32 = ${KS}u;
const SST: u32 = ${SST}u;
const SS: u32 = ${SS}u;
const OS: u32 = ${OS}u;
const NEG: f32 = -1e30;
var<workgroup> qb: array<${v4 ? `vec4<u32>, ${layout.qb / 4}` : `i32, ${layout.qb}`}>;
var<workgroup> big: array<i32, ${layout.big}>;
var<workgroup> pb: array<${v4 ? `vec4<u32>, ${layout.pb / 4}` : `i32, ${layout.pb}`}>;
var<workgroup> skw: array<f32, ${layout.perKey}>;
var<workgroup> svw: array<f32, ${layout.perKey}>;
// Per row: (softmax correction, P scale) of the current tile; (l, m) at the end.
var<workgroup> apw: array<vec2<f32>, ${layout.perRow}>;

fn packQ(a: f32, b: f32, c: f32, d: f32) -> i32 {
  let x = vec4<i32>(round(vec4<f32>(a, b, c, d)));
  return bitcast<i32>((u32(x.x) & 255u) | ((u32(x.y) & 255u) << 8u) | ((u32(x.z) & 255u) << 16u) | ((u32(x.w) & 255u) << 24u));
}

@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_id) sg: u32) {
  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nitems) { return; }
  let it = wid * 8u;
  let row0 = items[it];
  let nrows = items[it + 1u];
  let key0 = items[it + 2u];
  let nkeys = items[it + 3u];
  let h = items[it + 4u];
  let slot0 = items[it + 5u];
${st ? `  ${unroll(NV, (j) => `var kr${j}: vec4<u32>; var vr${j}: vec4<u32>;`)}` : ""}
  // Row group of this subgroup (matrix work) and of this invocation (output column c, rescale).
  let grp = sg / 4u;
  let kbk = sg % 4u;
  let c = t % 128u;
  let g2 = t / 128u;
${pre ? `  ${fetch("kr", "k", "0u")}\n  ${fetch("vr", "v", "0u")}` : ""}
  // Softmax / quantization role: row r, part hf of its keys (or of its head dims), ${TPR} invocations per row.
  let r = t / ${TPR}u;
  let hf = t % ${TPR}u;
  var sr = 0.0;
  {
    var amax = 0.0;
    let qbase = rows[row0 + min(r, nrows - 1u)] * D + hf * ${D / TPR}u;
    for (var i = 0u; i < ${D / TPR}u; i++) { amax = max(amax, abs(q[qbase + i])); }
    ${xor("amax")}
    let inv = select(0.0, 127.0 / amax, amax > 0.0 && r < nrows);
    for (var w = 0u; w < ${D / TPR / 4}u; w++) {
      let b = qbase + 4u * w;
      ${wput("qb", `r * (D / 4u) + hf * ${D / TPR / 4}u + w`, "packQ(q[b] * inv, q[b + 1u] * inv, q[b + 2u] * inv, q[b + 3u] * inv)")};
    }
    sr = select(0.0, amax / 127.0 * params.scale, r < nrows);
  }
  workgroupBarrier();
${qm}
${st ? "  workgroupBarrier();\n" : ""}  var mrun = NEG;
  var lrun = 0.0;
  var o: array<f32, ${RG}>;
${unroll(RG, (i) => `  o[${i}] = 0.0;`)}
  let kbase = (key0 * params.Hkv + h) * D;
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    if (t < KT) {
      let kr = params.srow0 + (key0 + min(k0 + t, nkeys - 1u)) * params.Hkv + h;
      skw[t] = ks[kr];
      svw[t] = vs[kr];
    }
${ab === "stage" ? "" : stageK}    workgroupBarrier();
${nextK}${ab === "s" ? "" : `    {
${unroll(RBg, (rb) => `      var c${rb} = subgroup_matrix_result<i32, 16, 16>();`)}
${sMma}
${unroll(RBg, (rb) => `      ${tr ? store(`kbk * 16u * SS + ${rowBlock(rb)} * 16u`, `c${rb}`, "SS") : store(`${rowBlock(rb)} * 16u * SS + kbk * 16u`, `c${rb}`, "SS")}`)}
    }
`}    workgroupBarrier();
${ab === "softmax" ? `${unroll(NG, (g) => `    ${wput("pb", `r * ${PST / 4}u + hf * ${NG}u + ${g}u`, "0x01010101")};`)}\n    if (hf == 0u) { apw[r] = vec2<f32>(1.0, 0.001); }\n` : ""}    ${ab === "softmax" ? "if (false)" : ""} {
      // Key groups rotated by row so the 32 invocations of a subgroup spread over the banks.
      var sc: array<f32, ${KPT}>;
      var mx = NEG;
${unroll(NG, (g) => `      { let kb = hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u;\n${unroll(4, (e) => `        { let key = kb + ${e}u; let s = select(f32(${sAt("key")}) * sr * skw[key], NEG, k0 + key >= nkeys); sc[${g * 4 + e}] = s; mx = max(mx, s); }`)}\n      }`)}
      ${xor("mx")}
      let mn = max(mrun, mx);
      let alpha = exp(mrun - mn);
      mrun = mn;
      lrun *= alpha;
      var pmax = 0.0;
${unroll(NG, (g) => `      { let kb = hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u;\n${unroll(4, (e) => `        { let p = exp(sc[${g * 4 + e}] - mn); lrun += p; let pv = p * svw[kb + ${e}u]; sc[${g * 4 + e}] = pv; pmax = max(pmax, pv); }`)}\n      }`)}
      ${xor("pmax")}
      let inv = select(0.0, 127.0 / pmax, pmax > 0.0);
${unroll(NG, (g) => `      ${wput("pb", `r * ${PST / 4}u + hf * ${NG}u + (${g}u + r) % ${NG}u`, `packQ(sc[${4 * g}] * inv, sc[${4 * g + 1}] * inv, sc[${4 * g + 2}] * inv, sc[${4 * g + 3}] * inv)`)};`)}
      if (hf == 0u) { apw[r] = vec2<f32>(alpha, pmax / 127.0); }
    }
${ab === "stage" ? "" : stageV}    workgroupBarrier();
    ${ab === "pv" ? "if (false)" : ""} {
${unroll(RBg, (rb) => `      var c${rb}0 = subgroup_matrix_result<i32, 16, 16>();\n      var c${rb}1 = subgroup_matrix_result<i32, 16, 16>();`)}
      for (var j0 = 0u; j0 < KT; j0 += 32u) {
        let b0 = ${vLoad("j0", "")};
        let b1 = ${vLoad("j0", " + 16u")};
${unroll(RBg, (rb) => `        let a${rb} = ${wld(left, "&pb", `${rowBlock(rb)} * ${16 * PST}u + j0`, false, `${PST}u`)};`)}
${unroll(RBg, (rb) => `        c${rb}0 = subgroupMatrixMultiplyAccumulate(a${rb}, b0, c${rb}0);\n        c${rb}1 = subgroupMatrixMultiplyAccumulate(a${rb}, b1, c${rb}1);`)}
      }
      let ob = kbk * 32u;
${unroll(RBg, (rb) => `      ${store(`${rowBlock(rb)} * 16u * OS + ob`, `c${rb}0`, "OS")}\n      ${store(`${rowBlock(rb)} * 16u * OS + ob + 16u`, `c${rb}1`, "OS")}`)}
    }
    workgroupBarrier();
${ab === "rescale" ? "" : unroll(RG, (i) => `    { let row = g2 * ${RG}u + ${i}u; let f = apw[row]; o[${i}] = fma(o[${i}], f.x, f.y * f32(big[row * OS + c])); }`)}
    // No barrier here: the next tile's first barrier orders these reads before its S stores into big.
  }
  workgroupBarrier();
  var lt = lrun + subgroupShuffleXor(lrun, 1u);
${lanes.slice(1).map((m) => `  lt += subgroupShuffleXor(lt, ${m}u);`).join("\n")}
  if (hf == 0u) { apw[r] = vec2<f32>(lt, mrun); }
  workgroupBarrier();
${unroll(RG, (i) => `  { let row = g2 * ${RG}u + ${i}u; if (row < nrows) { let lm = apw[row]; po[(slot0 + row) * D + c] = select(0.0, o[${i}] / lm.x, lm.x > 0.0); if (c == 0u) { pl[slot0 + row] = select(NEG, lm.y + log(lm.x), lm.x > 0.0); } } }`)}
}
`
}
