import { sgmLoad, sgmStore, type SgmSpelling } from "./sgm.js"
import { INT8_DIM, INT8_ROW_TILE } from "./sharedInt8.wgsl.js"

/** Keys per tile of the wide kernel (eight subgroups × 16 key columns). */
export const INT8_WIDE_KEY_TILE = 128

/**
 * The int8 tensor-core shared attention with eight subgroups (256 invocations) and 128-key tiles:
 * same math as `sharedInt8Wgsl` (i8 Q with per-row scale, K/V per-token scales, P·diag(v scale)
 * quantized per row and tile), but twice the warps per workgroup to hide latency, half the barriers
 * per key, and the softmax/rescale work split four ways per row. Q's 16 matrices stay in registers;
 * its workgroup copy is then reused for P. Keys past `nkeys` in the last tile are masked (p = 0).
 * @example const code = sharedInt8WideWgsl(8, gpu.sgmSpelling)
 */
export const sharedInt8WideWgsl = (kvHeads: number, sp: SgmSpelling): string => {
  const D = INT8_DIM
  const RT = INT8_ROW_TILE
  const KT = INT8_WIDE_KEY_TILE
  const KS = kvHeads * D
  const qm = Array.from({ length: 16 }, (_, i) => `  let qm${i} = ${sgmLoad(sp, "subgroup_matrix_left<i8, 32, 16>", "&qp", `${(i % 4) * 16}u * D + ${Math.floor(i / 4) * 32}u`, false, "D")};`).join("\n")
  const sMma = Array.from({ length: 4 }, (_, d) => {
    const lines = [`      let b${d} = ${sgmLoad(sp, "subgroup_matrix_right<i8, 16, 32>", "&k", `kb + ${d * 32}u`, true, "KS")};`]
    for (let rb = 0; rb < 4; rb++) lines.push(`      c${rb} = subgroupMatrixMultiplyAccumulate(qm${d * 4 + rb}, b${d}, c${rb});`)
    return lines.join("\n")
  }).join("\n")
  return /* wgsl */ `
enable subgroups;
enable chromium_experimental_subgroup_matrix;
struct Params { Hkv: u32, nitems: u32, scale: f32, srow0: u32 }
const D: u32 = ${D}u;
const RT: u32 = ${RT}u;
const KT: u32 = ${KT}u;
const KS: u32 = ${KS}u;
const NEG: f32 = -1e30;
var<workgroup> qp: array<i32, ${(RT * KT) / 4}>;
var<workgroup> big: array<i32, ${RT * D}>;
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

@compute @workgroup_size(256)
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
  // Softmax / quantization role: row r, quarter qq of its keys (or head dims), lanes 4r..4r+3.
  let r = t / 4u;
  let qq = t % 4u;
  {
    var amax = 0.0;
    let qbase = rows[row0 + min(r, nrows - 1u)] * D + qq * 32u;
    for (var i = 0u; i < 32u; i++) { amax = max(amax, abs(q[qbase + i])); }
    amax = max(amax, subgroupShuffleXor(amax, 1u));
    amax = max(amax, subgroupShuffleXor(amax, 2u));
    let inv = select(0.0, 127.0 / amax, amax > 0.0 && r < nrows);
    for (var w = 0u; w < 8u; w++) {
      let b = qbase + 4u * w;
      qp[r * (D / 4u) + qq * 8u + w] = packQ(q[b] * inv, q[b + 1u] * inv, q[b + 2u] * inv, q[b + 3u] * inv);
    }
    if (qq == 0u) { sq[r] = select(0.0, amax / 127.0 * params.scale, r < nrows); }
  }
  workgroupBarrier();
${qm}
  // Rescale role: output column c, rows 32·rh .. 32·rh + 31.
  let c = t % D;
  let rh = t / D;
  var mrun = NEG;
  var lrun = 0.0;
  var o: array<f32, 32>;
  for (var i = 0u; i < 32u; i++) { o[i] = 0.0; }
  let kbase = (key0 * params.Hkv + h) * D;
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    if (t < KT) {
      let kr = params.srow0 + (key0 + min(k0 + t, nkeys - 1u)) * params.Hkv + h;
      skw[t] = ks[kr];
      svw[t] = vs[kr];
    }
    {
      var c0 = subgroup_matrix_result<i32, 16, 16>();
      var c1 = subgroup_matrix_result<i32, 16, 16>();
      var c2 = subgroup_matrix_result<i32, 16, 16>();
      var c3 = subgroup_matrix_result<i32, 16, 16>();
      let kb = kbase + (k0 + sg * 16u) * KS;
${sMma}
      ${sgmStore(sp, "&big", "0u * KT + sg * 16u", "c0", false, "KT")};
      ${sgmStore(sp, "&big", "16u * KT + sg * 16u", "c1", false, "KT")};
      ${sgmStore(sp, "&big", "32u * KT + sg * 16u", "c2", false, "KT")};
      ${sgmStore(sp, "&big", "48u * KT + sg * 16u", "c3", false, "KT")};
    }
    workgroupBarrier();
    {
      var sc: array<f32, 32>;
      var mx = NEG;
      let sr = sq[r];
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        for (var e = 0u; e < 4u; e++) {
          let key = qq * 32u + gg * 4u + e;
          var s = f32(big[r * KT + key]) * sr * skw[key];
          if (k0 + key >= nkeys) { s = NEG; }
          sc[g * 4u + e] = s;
          mx = max(mx, s);
        }
      }
      mx = max(mx, subgroupShuffleXor(mx, 1u));
      mx = max(mx, subgroupShuffleXor(mx, 2u));
      let mn = max(mrun, mx);
      let alpha = exp(mrun - mn);
      mrun = mn;
      lrun *= alpha;
      var pmax = 0.0;
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        for (var e = 0u; e < 4u; e++) {
          let key = qq * 32u + gg * 4u + e;
          let p = select(exp(sc[g * 4u + e] - mn), 0.0, k0 + key >= nkeys);
          lrun += p;
          let pv = p * svw[key];
          sc[g * 4u + e] = pv;
          pmax = max(pmax, pv);
        }
      }
      pmax = max(pmax, subgroupShuffleXor(pmax, 1u));
      pmax = max(pmax, subgroupShuffleXor(pmax, 2u));
      let inv = select(0.0, 127.0 / pmax, pmax > 0.0);
      for (var g = 0u; g < 8u; g++) {
        let gg = (g + r) % 8u;
        qp[r * (KT / 4u) + qq * 8u + gg] = packQ(sc[g * 4u] * inv, sc[g * 4u + 1u] * inv, sc[g * 4u + 2u] * inv, sc[g * 4u + 3u] * inv);
      }
      if (qq == 0u) { aw[r] = alpha; pw[r] = pmax / 127.0; }
    }
    workgroupBarrier();
    {
      var c0 = subgroup_matrix_result<i32, 16, 16>();
      var c1 = subgroup_matrix_result<i32, 16, 16>();
      var c2 = subgroup_matrix_result<i32, 16, 16>();
      var c3 = subgroup_matrix_result<i32, 16, 16>();
      for (var j0 = 0u; j0 < KT; j0 += 32u) {
        let b = ${sgmLoad(sp, "subgroup_matrix_right<i8, 16, 32>", "&v", "kbase + (k0 + j0) * KS + sg * 16u", false, "KS")};
        c0 = subgroupMatrixMultiplyAccumulate(${sgmLoad(sp, "subgroup_matrix_left<i8, 32, 16>", "&qp", "0u * KT + j0", false, "KT")}, b, c0);
        c1 = subgroupMatrixMultiplyAccumulate(${sgmLoad(sp, "subgroup_matrix_left<i8, 32, 16>", "&qp", "16u * KT + j0", false, "KT")}, b, c1);
        c2 = subgroupMatrixMultiplyAccumulate(${sgmLoad(sp, "subgroup_matrix_left<i8, 32, 16>", "&qp", "32u * KT + j0", false, "KT")}, b, c2);
        c3 = subgroupMatrixMultiplyAccumulate(${sgmLoad(sp, "subgroup_matrix_left<i8, 32, 16>", "&qp", "48u * KT + j0", false, "KT")}, b, c3);
      }
      ${sgmStore(sp, "&big", "0u * D + sg * 16u", "c0", false, "D")};
      ${sgmStore(sp, "&big", "16u * D + sg * 16u", "c1", false, "D")};
      ${sgmStore(sp, "&big", "32u * D + sg * 16u", "c2", false, "D")};
      ${sgmStore(sp, "&big", "48u * D + sg * 16u", "c3", false, "D")};
    }
    workgroupBarrier();
    for (var i = 0u; i < 32u; i++) {
      let row = rh * 32u + i;
      o[i] = fma(o[i], aw[row], pw[row] * f32(big[row * D + c]));
    }
    workgroupBarrier();
  }
  var lt = lrun + subgroupShuffleXor(lrun, 1u);
  lt += subgroupShuffleXor(lt, 2u);
  if (qq == 0u) { lw[r] = lt; mw[r] = mrun; }
  workgroupBarrier();
  for (var i = 0u; i < 32u; i++) {
    let row = rh * 32u + i;
    if (row < nrows) {
      let l = lw[row];
      po[(slot0 + row) * D + c] = select(0.0, o[i] / l, l > 0.0);
      if (c == 0u) { pl[slot0 + row] = select(NEG, mw[row] + log(l), l > 0.0); }
    }
  }
}
`
}
