import { defineBindings } from "../bindings.js"
import { elemsPerVec, kvWgsl, type KvFormat } from "../kvFormat.js"

/** Unique (per-request) attention bindings: queries, one segment of K/V (+ int8 row scales), valid lengths, partials. */
export const UNIQUE_BINDINGS = defineBindings({
  q: "read<f32>",
  k: "read<vec4<u32>>",
  v: "read<vec4<u32>>",
  ks: "read<f32>",
  vs: "read<f32>",
  lens: "read<u32>",
  po: "rw<f32>",
  pl: "rw<f32>",
  params: "uniform",
})

/** Threads per workgroup = keys per tile. */
export const UNIQUE_TILE = 128

/** The uniform Params of the unique kernels (the hosts write them in this order: uniqueAttention, perRequestAttention). */
export const UNIQUE_PARAMS = "struct Params { b0: u32, U: u32, Hkv: u32, nsplit: u32, splitLen: u32, nwg: u32, scale: f32, srow0: u32, reqStride: u32, s0: u32, nsplitLocal: u32, _p: u32 }"

/**
 * Decoding of a workgroup's split, shared by the tile and lane-group kernels: splits [s0, s0 + nsplitLocal)
 * of each request are in this dispatch; the bound K/V starts at token s0·splitLen of request b0 and holds
 * reqStride tokens per request (0: one corpus shared by all). Defines wid, sl, s, h, bl, b, Hq, len,
 * start, end and base; returns early for padding workgroups. `headsInner`: consecutive workgroups take the
 * KV heads of one (request, split) instead of the splits of one (request, KV head).
 */
export const uniqueSplitPrologue = (headsInner = false): string => `  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nwg) { return; }
${
  headsInner
    ? `  let h = wid % params.Hkv;
  let sl = (wid / params.Hkv) % params.nsplitLocal;
  let s = params.s0 + sl;
  let bl = wid / params.Hkv / params.nsplitLocal;`
    : `  let sl = wid % params.nsplitLocal;
  let s = params.s0 + sl;
  let bh = wid / params.nsplitLocal;
  let h = bh % params.Hkv;
  let bl = bh / params.Hkv;`
}
  let b = params.b0 + bl;
  let Hq = params.Hkv * G;
  let len = min(lens[b], params.U);
  let start = s * params.splitLen;
  let end = min(start + params.splitLen, len);
  let base = params.s0 * params.splitLen;
`

/** The prologue with workgroups ordered split-major (consecutive workgroups: consecutive splits of one KV head). */
export const UNIQUE_SPLIT_PROLOGUE = uniqueSplitPrologue()

/**
 * Flash-decoding split: one workgroup per (request, KV head, split) attends the GQA group's G query
 * rows over its key range, one 128-key tile at a time. Phase A: thread j scores key j for all G
 * rows (K row read once for the group). Online softmax with a workgroup max per tile. Phase B:
 * threads split the V row in vec4 columns and the tile's keys in lanes, so V reads are coalesced.
 * int8 scores use dot4I8Packed against the row-quantized query.
 */
export const uniqueWgsl = (dim: number, group: number, format: KvFormat, subgroups = false, coalescedScores = false): string => {
  const E = elemsPerVec(format)
  const NV = dim / E
  const int8 = format === "int8"
  const phaseA = int8
    ? `var ia = array<i32, G>();
      for (var c = 0u; c < NV; c++) {
        let w = k[r * NV + c];
        for (var g = 0u; g < G; g++) {
          let o = g * (D / 4u) + c * 4u;
          ia[g] += dot4I8Packed(w.x, qi[o]) + dot4I8Packed(w.y, qi[o + 1u]) + dot4I8Packed(w.z, qi[o + 2u]) + dot4I8Packed(w.w, qi[o + 3u]);
        }
      }
      let kscale = ks[params.srow0 + r];
      for (var g = 0u; g < G; g++) { sv[g] = f32(ia[g]) * qsc[g] * kscale; }`
    : `for (var c = 0u; c < NV; c++) {
        let x = unpackVec(k[r * NV + c]);
        for (var e = 0u; e < E; e++) {
          for (var g = 0u; g < G; g++) { sv[g] = fma(qs[g * D + c * E + e], x[e], sv[g]); }
        }
      }`
  // Coalesced scoring (float formats, when a key row's NV vec4 columns fit in one subgroup): threads
  // take the same (token lane, column) layout as phase B, so a row is read as NV consecutive 16-byte
  // loads by NV lanes, and the partial dots are summed with subgroupShuffleXor.
  const coalesced = coalescedScores && subgroups && !int8 // tested on lavapipe; slower on the H200 (run 3)
  const scoreTile = coalesced
    ? `for (var i = 0u; i < T / TL; i++) {
      let j = tl + i * TL;
      let tk = t0 + j;
      var pv: array<f32, G>;
      for (var g = 0u; g < G; g++) { pv[g] = 0.0; }
      if (tk < end) {
        let r = (bl * params.reqStride + tk - base) * params.Hkv + h;
        let x = unpackVec(k[r * NV + vcol]);
        for (var e = 0u; e < E; e++) { for (var g = 0u; g < G; g++) { pv[g] = fma(qr[g * E + e], x[e], pv[g]); } }
      }
      for (var off = NV / 2u; off > 0u; off >>= 1u) { for (var g = 0u; g < G; g++) { pv[g] += subgroupShuffleXor(pv[g], off); } }
      if (vcol == 0u) { for (var g = 0u; g < G; g++) { sc[g * T + j] = select(NEG, pv[g], tk < end); } }
    }
    workgroupBarrier();
    var sv: array<f32, G>;
    for (var g = 0u; g < G; g++) { sv[g] = sc[g * T + t]; }`
    : `let tok = t0 + t;
    var sv = array<f32, G>();
    for (var g = 0u; g < G; g++) { sv[g] = 0.0; }
    if (tok < end) {
      let r = (bl * params.reqStride + tok - base) * params.Hkv + h;
      PHASE_A
    } else {
      for (var g = 0u; g < G; g++) { sv[g] = NEG; }
    }`
  // With subgroups, a tile's max is one subgroupMax plus one exchange of per-subgroup maxima
  // (2 barriers) instead of a 7-step workgroup tree (7 barriers); subgroups are assumed to be
  // consecutive invocation ranges, as on NVIDIA and lavapipe.
  const tileMax = subgroups
    ? `for (var g = 0u; g < G; g++) {
      let sm = subgroupMax(sv[g]);
      if (sgi == 0u) { red[g * T + t / sgs] = sm; }
    }
    workgroupBarrier();
    var tm: array<f32, G>;
    for (var g = 0u; g < G; g++) {
      var x = NEG;
      for (var i = 0u; i < T / sgs; i++) { x = max(x, red[g * T + i]); }
      tm[g] = x;
    }`
    : `for (var g = 0u; g < G; g++) { red[g * T + t] = sv[g]; }
    workgroupBarrier();
    for (var st = T / 2u; st > 0u; st >>= 1u) {
      if (t < st) { for (var g = 0u; g < G; g++) { red[g * T + t] = max(red[g * T + t], red[g * T + t + st]); } }
      workgroupBarrier();
    }
    var tm: array<f32, G>;
    for (var g = 0u; g < G; g++) { tm[g] = red[g * T]; }`
  return /* wgsl */ `
${subgroups ? "enable subgroups;" : ""}
${kvWgsl(format)}
${UNIQUE_PARAMS}
const D: u32 = ${dim}u;
const G: u32 = ${group}u;
const T: u32 = ${UNIQUE_TILE}u;
const E: u32 = ${E}u;
const NV: u32 = ${NV}u;
const TL: u32 = ${UNIQUE_TILE / NV}u;
const NEG: f32 = -1e30;
var<workgroup> qs: array<f32, ${group * dim}>;
${int8 ? `var<workgroup> qi: array<u32, ${(group * dim) / 4}>;\nvar<workgroup> qsc: array<f32, ${group}>;` : ""}
var<workgroup> sc: array<f32, ${group * UNIQUE_TILE}>;
var<workgroup> red: array<f32, ${group * UNIQUE_TILE}>;
var<workgroup> oacc: array<f32, ${group * dim}>;

@compute @workgroup_size(${UNIQUE_TILE})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32${subgroups ? ", @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32" : ""}) {
${UNIQUE_SPLIT_PROLOGUE}  for (var i = t; i < G * D; i += T) { qs[i] = q[(b * Hq + h * G) * D + i] * params.scale; oacc[i] = 0.0; }
  workgroupBarrier();
  ${
    int8
      ? `if (t < G) {
    var amax = 0.0;
    for (var d = 0u; d < D; d++) { amax = max(amax, abs(qs[t * D + d])); }
    let qscale = select(1.0, amax / 127.0, amax > 0.0);
    qsc[t] = qscale;
    for (var w = 0u; w < D / 4u; w++) {
      let x = vec4<f32>(qs[t * D + 4u * w], qs[t * D + 4u * w + 1u], qs[t * D + 4u * w + 2u], qs[t * D + 4u * w + 3u]);
      qi[t * (D / 4u) + w] = pack4xI8(vec4<i32>(round(x / qscale)));
    }
  }
  workgroupBarrier();`
      : ""
  }
  var m = array<f32, G>();
  var l = array<f32, G>();
  var acc = array<f32, ${group * E}>();
  for (var g = 0u; g < G; g++) { m[g] = NEG; }
  let vcol = t % NV;
  let tl = t / NV;
  ${coalesced ? `var qr: array<f32, ${group * E}>;
  for (var g = 0u; g < G; g++) { for (var e = 0u; e < E; e++) { qr[g * E + e] = qs[g * D + vcol * E + e]; } }` : ""}
  for (var t0 = start; t0 < end; t0 += T) {
    ${scoreTile.replace("PHASE_A", phaseA)}
    ${tileMax}
    for (var g = 0u; g < G; g++) {
      let mn = max(m[g], tm[g]);
      let alpha = exp(m[g] - mn);
      m[g] = mn;
      let p = exp(sv[g] - mn);
      l[g] = l[g] * alpha + p;
      sc[g * T + t] = p;
      for (var e = 0u; e < E; e++) { acc[g * E + e] *= alpha; }
    }
    workgroupBarrier();
    for (var j = tl; j < T; j += TL) {
      let tk = t0 + j;
      if (tk >= end) { break; }
      let r = (bl * params.reqStride + tk - base) * params.Hkv + h;
      let x = unpackVec(v[r * NV + vcol]);
      let vscale = ${int8 ? "vs[params.srow0 + r]" : "1.0"};
      for (var g = 0u; g < G; g++) {
        let p = sc[g * T + j] * vscale;
        for (var e = 0u; e < E; e++) { acc[g * E + e] = fma(p, x[e], acc[g * E + e]); }
      }
    }
    workgroupBarrier();
  }
  // Combine the lanes: sums of l by a tree, the V accumulators lane by lane.
  for (var g = 0u; g < G; g++) { red[g * T + t] = l[g]; }
  workgroupBarrier();
  for (var st = T / 2u; st > 0u; st >>= 1u) {
    if (t < st) { for (var g = 0u; g < G; g++) { red[g * T + t] += red[g * T + t + st]; } }
    workgroupBarrier();
  }
  for (var lane = 0u; lane < TL; lane++) {
    if (tl == lane) {
      for (var g = 0u; g < G; g++) { for (var e = 0u; e < E; e++) { oacc[g * D + vcol * E + e] += acc[g * E + e]; } }
    }
    workgroupBarrier();
  }
  for (var i = t; i < G * D; i += T) {
    let g = i / D;
    let d = i % D;
    let lt = red[g * T];
    let slot = ((b * Hq + h * G + g) * params.nsplit + s);
    po[slot * D + d] = select(0.0, oacc[i] / lt, lt > 0.0);
    if (d == 0u) { pl[slot] = select(NEG, m[g] + log(lt), lt > 0.0); }
  }
}
`
}
