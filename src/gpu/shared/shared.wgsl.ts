import { defineBindings, type BindingKind } from "../bindings.js"
import { elemsPerVec, kvWgsl, type KvFormat } from "../kvFormat.js"

/** Binding kinds of shared attention: queries, stacked row lists, work items, one KV segment, partials. */
export const SHARED_BINDING_KINDS = {
  q: "read<f32>",
  rows: "read<u32>",
  items: "read<u32>",
  k: "read<vec4<u32>>",
  v: "read<vec4<u32>>",
  ks: "read<f32>",
  vs: "read<f32>",
  po: "rw<f32>",
  pl: "rw<f32>",
  params: "uniform",
} as const satisfies Record<string, BindingKind>

/** Shared (stacked) attention bindings (also the staged int8 kernel's, which reads K/V as 16-byte vectors). */
export const SHARED_BINDINGS = defineBindings(SHARED_BINDING_KINDS)

/** The uniform Params of the shared kernels (f32 and int8), as `sharedAttention` writes them. */
export const SHARED_PARAMS = "struct Params { Hkv: u32, nitems: u32, scale: f32, srow0: u32 }"

/** Words per work item: rowList0, nrows, key0, nkeys, kvHead, slot0, 0, 0. */
export const SHARED_ITEM_WORDS = 8
/** Keys per tile. */
export const SHARED_KEY_TILE = 64

export interface SharedVariant {
  readonly dim: number
  readonly format: KvFormat
  /** Rows per thread: 1 (16-row tiles, for few stacked rows) or 4 (64-row tiles). */
  readonly rowsPerThread: 1 | 4
  /** Head-dim slice staged per step (16 or 32), bounded by workgroup memory. */
  readonly dk: 16 | 32
}

/** Workgroup memory the variant needs, in bytes (checked against the device limit by the host). */
export const sharedWorkgroupBytes = (x: SharedVariant): number => {
  const RT = 16 * x.rowsPerThread
  return 4 * (x.dk * RT + x.dk * SHARED_KEY_TILE + RT * (SHARED_KEY_TILE + 1) + RT * 16)
}

/**
 * One workgroup (16×16 threads) per work item: up to RT stacked query rows (requests × GQA heads
 * routed to one chunk and KV head) against a key range of that chunk, as two tiled GEMMs with an
 * online softmax between them: S = Q·Kᵀ (64-key tiles, head dim staged DK at a time), P = e^(S−m),
 * O += P·V (V staged in sub-tiles in the same workgroup memory). Thread (ty, tx) owns RI rows, keys
 * tx + 16j and output columns tx + 16c, so workgroup-memory reads are conflict-free.
 */
export const sharedWgsl = (x: SharedVariant): string => {
  const { dim: D, format, rowsPerThread: RI, dk: DK } = x
  const E = elemsPerVec(format)
  const RT = 16 * RI
  const KT = SHARED_KEY_TILE
  const tileFloats = DK * RT + DK * KT
  let VSUB = 1
  while (VSUB * 2 <= Math.min(KT, Math.floor(tileFloats / D))) VSUB *= 2
  const int8 = format === "int8"
  return /* wgsl */ `
${kvWgsl(format)}
${SHARED_PARAMS}
const D: u32 = ${D}u;
const RI: u32 = ${RI}u;
const RT: u32 = ${RT}u;
const KT: u32 = ${KT}u;
const DK: u32 = ${DK}u;
const E: u32 = ${E}u;
const NVR: u32 = ${D / E}u;
const NVK: u32 = ${DK / E}u;
const NC: u32 = ${D / 16}u;
const VSUB: u32 = ${VSUB}u;
const NEG: f32 = -1e30;
var<workgroup> tile: array<f32, ${tileFloats}>;
var<workgroup> ps: array<f32, ${RT * (KT + 1)}>;
var<workgroup> red: array<f32, ${RT * 16}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nitems) { return; }
  let it = wid * ${SHARED_ITEM_WORDS}u;
  let row0 = items[it];
  let nrows = items[it + 1u];
  let key0 = items[it + 2u];
  let nkeys = items[it + 3u];
  let h = items[it + 4u];
  let slot0 = items[it + 5u];
  let tx = t % 16u;
  let ty = t / 16u;
  // Private arrays are zeroed by explicit loops: lavapipe was seen not re-zeroing a \`var\` declared in a loop.
  var m: array<f32, RI>;
  var l: array<f32, RI>;
  var o: array<f32, ${RI * (D / 16)}>;
  for (var i = 0u; i < RI; i++) { m[i] = NEG; l[i] = 0.0; }
  for (var i = 0u; i < RI * NC; i++) { o[i] = 0.0; }
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    var s: array<f32, ${RI * 4}>;
    for (var i = 0u; i < RI * 4u; i++) { s[i] = 0.0; }
    for (var d0 = 0u; d0 < D; d0 += DK) {
      for (var i = t; i < RT * DK; i += 256u) {
        let r = i / DK;
        let dd = i % DK;
        var xq = 0.0;
        if (r < nrows) { xq = q[rows[row0 + r] * D + d0 + dd] * params.scale; }
        tile[dd * RT + r] = xq;
      }
      for (var i = t; i < KT * NVK; i += 256u) {
        let kk = i / NVK;
        let c = i % NVK;
        if (k0 + kk < nkeys) {
          let r = (key0 + k0 + kk) * params.Hkv + h;
          let xk = unpackVec(k[r * NVR + d0 / E + c]);
          let sk = ${int8 ? "ks[params.srow0 + r]" : "1.0"};
          for (var e = 0u; e < E; e++) { tile[DK * RT + (c * E + e) * KT + kk] = xk[e] * sk; }
        } else {
          for (var e = 0u; e < E; e++) { tile[DK * RT + (c * E + e) * KT + kk] = 0.0; }
        }
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DK; dd++) {
        var a: array<f32, RI>;
        var b: array<f32, 4>;
        for (var i = 0u; i < RI; i++) { a[i] = tile[dd * RT + ty * RI + i]; }
        for (var j = 0u; j < 4u; j++) { b[j] = tile[DK * RT + dd * KT + tx + 16u * j]; }
        for (var i = 0u; i < RI; i++) { for (var j = 0u; j < 4u; j++) { s[i * 4u + j] = fma(a[i], b[j], s[i * 4u + j]); } }
      }
      workgroupBarrier();
    }
    for (var i = 0u; i < RI; i++) {
      var mx = NEG;
      for (var j = 0u; j < 4u; j++) {
        if (k0 + tx + 16u * j >= nkeys) { s[i * 4u + j] = NEG; }
        mx = max(mx, s[i * 4u + j]);
      }
      red[(ty * RI + i) * 16u + tx] = mx;
    }
    workgroupBarrier();
    for (var i = 0u; i < RI; i++) {
      var mt = NEG;
      for (var x = 0u; x < 16u; x++) { mt = max(mt, red[(ty * RI + i) * 16u + x]); }
      let mn = max(m[i], mt);
      let alpha = exp(m[i] - mn);
      m[i] = mn;
      l[i] *= alpha;
      for (var c = 0u; c < NC; c++) { o[i * NC + c] *= alpha; }
      for (var j = 0u; j < 4u; j++) {
        let p = exp(s[i * 4u + j] - mn);
        l[i] += p;
        ps[(ty * RI + i) * (KT + 1u) + tx + 16u * j] = p;
      }
    }
    workgroupBarrier();
    for (var v0 = 0u; v0 < KT; v0 += VSUB) {
      for (var i = t; i < VSUB * NVR; i += 256u) {
        let kk = i / NVR;
        let c = i % NVR;
        if (k0 + v0 + kk < nkeys) {
          let r = (key0 + k0 + v0 + kk) * params.Hkv + h;
          let xv = unpackVec(v[r * NVR + c]);
          let sv = ${int8 ? "vs[params.srow0 + r]" : "1.0"};
          for (var e = 0u; e < E; e++) { tile[kk * D + c * E + e] = xv[e] * sv; }
        } else {
          for (var e = 0u; e < E; e++) { tile[kk * D + c * E + e] = 0.0; }
        }
      }
      workgroupBarrier();
      for (var kk = 0u; kk < VSUB; kk++) {
        for (var i = 0u; i < RI; i++) {
          let p = ps[(ty * RI + i) * (KT + 1u) + v0 + kk];
          for (var c = 0u; c < NC; c++) { o[i * NC + c] = fma(p, tile[kk * D + tx + 16u * c], o[i * NC + c]); }
        }
      }
      workgroupBarrier();
    }
  }
  for (var i = 0u; i < RI; i++) { red[(ty * RI + i) * 16u + tx] = l[i]; }
  workgroupBarrier();
  for (var i = 0u; i < RI; i++) {
    let r = ty * RI + i;
    if (r < nrows) {
      var lt = 0.0;
      for (var x = 0u; x < 16u; x++) { lt += red[r * 16u + x]; }
      let slot = slot0 + r;
      for (var c = 0u; c < NC; c++) { po[slot * D + tx + 16u * c] = select(0.0, o[i * NC + c] / lt, lt > 0.0); }
      if (tx == 0u) { pl[slot] = select(NEG, m[i] + log(lt), lt > 0.0); }
    }
  }
}
`
}
