import { defineBindings } from "../bindings.js"

/**
 * Bindings of the int8 tensor-core shared attention: as the f32 kernel's, but K/V bound as
 * `array<i32>` because subgroup-matrix loads of i8 count offsets and strides in i8 elements.
 */
export const SHARED_INT8_BINDINGS = defineBindings({
  q: "read<f32>",
  rows: "read<u32>",
  items: "read<u32>",
  k: "read<i32>",
  v: "read<i32>",
  ks: "read<f32>",
  vs: "read<f32>",
  po: "rw<f32>",
  pl: "rw<f32>",
  params: "uniform",
})

/** Stacked rows per workgroup (four 16-row matrix tiles). */
export const INT8_ROW_TILE = 64
/** Keys per tile (four subgroups × 16 key columns). */
export const INT8_KEY_TILE = 64
/** Head dim the kernel is written for (one column per invocation in the rescale step). */
export const INT8_DIM = 128

/**
 * Shared (stacked) attention on int8 subgroup matrices (tensor cores), one workgroup of four
 * subgroups per work item (≤ 64 stacked rows × a key range of one chunk and KV head):
 * - Q rows are quantized to i8 once (per-row scale, 1/√D folded in) into workgroup memory;
 * - S = Q·Kᵀ: subgroup s multiplies all 64 rows by keys 16s..16s+15, K read straight from storage
 *   as a column-major right matrix (per-token K scales applied after, in f32);
 * - online softmax in f32, two invocations per row; P·diag(v scale) is quantized to i8 per row and
 *   tile (scale = row max / 127), since V's per-token scale cannot leave the key sum otherwise;
 * - O_tile = P·V on subgroup matrices into i32, then each invocation (one output column) rescales
 *   its 64 f32 accumulators by the softmax correction and adds the dequantized tile.
 * With `qInRegisters` the 16 Q matrices (4 row blocks × 4 head-dim steps) are loaded once before the
 * key loop instead of once per key tile (i8 matrix loads, not the multiplies, were the cost on the H200).
 * Only for D = 128, subgroup size 32, and a device with i8 16×16×32 subgroup matrices.
 */
export const sharedInt8Wgsl = (kvHeads: number, qInRegisters: boolean): string => {
  const D = INT8_DIM
  const RT = INT8_ROW_TILE
  const KT = INT8_KEY_TILE
  const KS = kvHeads * D
  const qLoadMma = `      for (var d0 = 0u; d0 < D; d0 += 32u) {
        let b = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&k, kb + d0, true, KS);
        c0 = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&qb, 0u * D + d0, false, D), b, c0);
        c1 = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&qb, 16u * D + d0, false, D), b, c1);
        c2 = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&qb, 32u * D + d0, false, D), b, c2);
        c3 = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&qb, 48u * D + d0, false, D), b, c3);
      }
`
  const qRegMma = Array.from({ length: 4 }, (_, d) => {
    const lines = [`      let b${d} = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&k, kb + ${d * 32}u, true, KS);`]
    for (let rb = 0; rb < 4; rb++) lines.push(`      c${rb} = subgroupMatrixMultiplyAccumulate(qm${d * 4 + rb}, b${d}, c${rb});`)
    return lines.join("\n")
  }).join("\n") + "\n"
  return /* wgsl */ `
enable subgroups;
enable chromium_experimental_subgroup_matrix;
struct Params { Hkv: u32, nitems: u32, scale: f32, srow0: u32 }
const D: u32 = ${D}u;
const RT: u32 = ${RT}u;
const KT: u32 = ${KT}u;
const KS: u32 = ${KS}u;
const NEG: f32 = -1e30;
var<workgroup> qb: array<i32, ${(RT * D) / 4}>;
var<workgroup> big: array<i32, ${RT * D}>;
var<workgroup> pb: array<i32, ${(RT * KT) / 4}>;
var<workgroup> sq: array<f32, ${RT}>;
var<workgroup> skw: array<f32, ${KT}>;
var<workgroup> svw: array<f32, ${KT}>;
var<workgroup> aw: array<f32, ${RT}>;
var<workgroup> pw: array<f32, ${RT}>;
var<workgroup> lw: array<f32, ${RT}>;
var<workgroup> mw: array<f32, ${RT}>;

fn packQ(a: f32, b: f32, c: f32, d: f32) -> i32 {
  let x = vec4<i32>(round(vec4<f32>(a, b, c, d)));
  return bitcast<i32>((u32(x.x) & 255u) | ((u32(x.y) & 255u) << 8u) | ((u32(x.z) & 255u) << 16u) | ((u32(x.w) & 255u) << 24u));
}

@compute @workgroup_size(128)
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
  // Softmax / quantization role: row r, half hf of its keys (or of its head dims).
  let r = t / 2u;
  let hf = t % 2u;
  {
    var amax = 0.0;
    let qbase = rows[row0 + min(r, nrows - 1u)] * D + hf * 64u;
    for (var i = 0u; i < 64u; i++) { amax = max(amax, abs(q[qbase + i])); }
    amax = max(amax, subgroupShuffleXor(amax, 1u));
    let inv = select(0.0, 127.0 / amax, amax > 0.0 && r < nrows);
    for (var w = 0u; w < 16u; w++) {
      let b = qbase + 4u * w;
      qb[r * (D / 4u) + hf * 16u + w] = packQ(q[b] * inv, q[b + 1u] * inv, q[b + 2u] * inv, q[b + 3u] * inv);
    }
    if (hf == 0u) { sq[r] = select(0.0, amax / 127.0 * params.scale, r < nrows); }
  }
  workgroupBarrier();
${qInRegisters ? Array.from({ length: 16 }, (_, i) => `  let qm${i} = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&qb, ${(i % 4) * 16}u * D + ${Math.floor(i / 4) * 32}u, false, D);`).join("\n") : ""}
  var mrun = NEG;
  var lrun = 0.0;
  var o: array<f32, ${RT}>;
  for (var i = 0u; i < RT; i++) { o[i] = 0.0; }
  let kbase = (key0 * params.Hkv + h) * D;
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    if (t < KT) {
      let kr = params.srow0 + (key0 + min(k0 + t, nkeys - 1u)) * params.Hkv + h;
      skw[t] = ks[kr];
      svw[t] = vs[kr];
    }
    workgroupBarrier();
    {
      var c0 = subgroup_matrix_result<i32, 16, 16>();
      var c1 = subgroup_matrix_result<i32, 16, 16>();
      var c2 = subgroup_matrix_result<i32, 16, 16>();
      var c3 = subgroup_matrix_result<i32, 16, 16>();
      let kb = kbase + (k0 + sg * 16u) * KS;
${qInRegisters ? qRegMma : qLoadMma}      subgroupMatrixStore(&big, 0u * KT + sg * 16u, c0, false, KT);
      subgroupMatrixStore(&big, 16u * KT + sg * 16u, c1, false, KT);
      subgroupMatrixStore(&big, 32u * KT + sg * 16u, c2, false, KT);
      subgroupMatrixStore(&big, 48u * KT + sg * 16u, c3, false, KT);
    }
    workgroupBarrier();
    {
      // Key groups rotated by row so the 32 invocations of a subgroup spread over the banks.
      var sc: array<f32, 32>;
      var mx = NEG;
      let sr = sq[r];
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        for (var e = 0u; e < 4u; e++) {
          let key = hf * 32u + gg * 4u + e;
          var s = f32(big[r * KT + key]) * sr * skw[key];
          if (k0 + key >= nkeys) { s = NEG; }
          sc[g * 4u + e] = s;
          mx = max(mx, s);
        }
      }
      mx = max(mx, subgroupShuffleXor(mx, 1u));
      let mn = max(mrun, mx);
      let alpha = exp(mrun - mn);
      mrun = mn;
      lrun *= alpha;
      var pmax = 0.0;
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        for (var e = 0u; e < 4u; e++) {
          let p = exp(sc[g * 4u + e] - mn);
          lrun += p;
          let pv = p * svw[hf * 32u + gg * 4u + e];
          sc[g * 4u + e] = pv;
          pmax = max(pmax, pv);
        }
      }
      pmax = max(pmax, subgroupShuffleXor(pmax, 1u));
      let inv = select(0.0, 127.0 / pmax, pmax > 0.0);
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        pb[r * (KT / 4u) + hf * 8u + gg] = packQ(sc[g * 4u] * inv, sc[g * 4u + 1u] * inv, sc[g * 4u + 2u] * inv, sc[g * 4u + 3u] * inv);
      }
      if (hf == 0u) { aw[r] = alpha; pw[r] = pmax / 127.0; }
    }
    workgroupBarrier();
    {
      var c00 = subgroup_matrix_result<i32, 16, 16>();
      var c01 = subgroup_matrix_result<i32, 16, 16>();
      var c10 = subgroup_matrix_result<i32, 16, 16>();
      var c11 = subgroup_matrix_result<i32, 16, 16>();
      var c20 = subgroup_matrix_result<i32, 16, 16>();
      var c21 = subgroup_matrix_result<i32, 16, 16>();
      var c30 = subgroup_matrix_result<i32, 16, 16>();
      var c31 = subgroup_matrix_result<i32, 16, 16>();
      for (var j0 = 0u; j0 < KT; j0 += 32u) {
        let vb = kbase + (k0 + j0) * KS + sg * 32u;
        let b0 = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&v, vb, false, KS);
        let b1 = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&v, vb + 16u, false, KS);
        let a0 = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&pb, 0u * KT + j0, false, KT);
        let a1 = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&pb, 16u * KT + j0, false, KT);
        let a2 = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&pb, 32u * KT + j0, false, KT);
        let a3 = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&pb, 48u * KT + j0, false, KT);
        c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
        c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
        c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
        c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
        c20 = subgroupMatrixMultiplyAccumulate(a2, b0, c20);
        c21 = subgroupMatrixMultiplyAccumulate(a2, b1, c21);
        c30 = subgroupMatrixMultiplyAccumulate(a3, b0, c30);
        c31 = subgroupMatrixMultiplyAccumulate(a3, b1, c31);
      }
      let ob = sg * 32u;
      subgroupMatrixStore(&big, 0u * D + ob, c00, false, D);
      subgroupMatrixStore(&big, 0u * D + ob + 16u, c01, false, D);
      subgroupMatrixStore(&big, 16u * D + ob, c10, false, D);
      subgroupMatrixStore(&big, 16u * D + ob + 16u, c11, false, D);
      subgroupMatrixStore(&big, 32u * D + ob, c20, false, D);
      subgroupMatrixStore(&big, 32u * D + ob + 16u, c21, false, D);
      subgroupMatrixStore(&big, 48u * D + ob, c30, false, D);
      subgroupMatrixStore(&big, 48u * D + ob + 16u, c31, false, D);
    }
    workgroupBarrier();
    for (var i = 0u; i < RT; i++) { o[i] = fma(o[i], aw[i], pw[i] * f32(big[i * D + t])); }
    workgroupBarrier();
  }
  let lt = lrun + subgroupShuffleXor(lrun, 1u);
  if (hf == 0u) { lw[r] = lt; mw[r] = mrun; }
  workgroupBarrier();
  for (var i = 0u; i < RT; i++) {
    if (i < nrows) {
      let l = lw[i];
      po[(slot0 + i) * D + t] = select(0.0, o[i] / l, l > 0.0);
      if (t == 0u) { pl[slot0 + i] = select(NEG, mw[i] + log(l), l > 0.0); }
    }
  }
}
`
}
