import { defineBindings } from "../bindings.js"

/**
 * Matvec bindings: activations [rows, K] and one row-part of a weight [N, K] read as vec4 (K % 4 == 0,
 * parts are whole buffers so every row starts 16-byte aligned), output rows, step counts.
 */
export const MATVEC_BINDINGS = defineBindings({ x: "read<vec4<f32>>", w: "read<vec4<f32>>", y: "rw<f32>", counts: "read<u32>", params: "uniform" })

/** Row bounds the host compiles (a variant serves any rows up to its bound) and weight rows per thread for each. */
export const MATVEC_ROW_BOUNDS = [1, 2, 4, 8, 16] as const
export type MatvecRows = (typeof MATVEC_ROW_BOUNDS)[number]

/**
 * Weight rows (output columns) per thread: 2 once there are ≥ 4 activation rows, so each activation
 * vec4 fetched from L1 feeds two weight rows; 1 below that keeps the workgroup count high (N / 4).
 */
export const matvecColsPerThread = (rm: MatvecRows): 1 | 2 => (rm >= 4 ? 2 : 1)

/** Row-sets per workgroup and the threads (lanes) that split K within one row-set. */
export const MATVEC_SETS = 4
export const MATVEC_LANES = 64

/** Workgroup memory of a variant (the 16-row one needs 20 KiB, over WebGPU's 16 KiB minimum limit). */
export const matvecWorkgroupBytes = (rm: MatvecRows): number => (256 * rm + matvecColsPerThread(rm) * MATVEC_SETS * rm * 8) * 4

/** Output columns one workgroup covers. */
export const matvecColsPerWorkgroup = (rm: MatvecRows): number => MATVEC_SETS * matvecColsPerThread(rm)

/**
 * Reduction of weight row n of each row-set over its 64 lanes, then the store of its RM rows: thread
 * t's partials go to red[r][t]; item (r, s, g) sums lanes g + 8l (consecutive items read consecutive
 * words, conflict-free); thread (s, r) then adds its 8 items.
 */
const reduceRound = (n: number): string => /* wgsl */ `
  for (var r = 0u; r < RM; r++) { red[r * 256u + t] = acc[${n}u * RM + r]; }
  workgroupBarrier();
  for (var i = t; i < S * RM * 8u; i += 256u) {
    let base = (i / (S * 8u)) * 256u + ((i / 8u) % S) * L + i % 8u;
    var p = 0.0;
    for (var l = 0u; l < 8u; l++) { p += red[base + 8u * l]; }
    red8[${n}u * S * RM * 8u + i] = p;
  }
  workgroupBarrier();
  if (t < S * RM) {
    // Thread t stores row t / S of row-set t % S.
    let r = t / S;
    let j = (wgi * S + t % S) * NT + ${n}u;
    if (r < rows && j < params.nPart) {
      var v = 0.0;
      for (var g = 0u; g < 8u; g++) { v += red8[${n}u * S * RM * 8u + t * 8u + g]; }
      let o = r * params.ldy + params.n0 + j;
      if (params.acc != 0u) { y[o] = y[o] + v; } else { y[o] = v; }
    }
  }
`

/**
 * y[r, n0 + j] (+)= Σ_k x[r, k] · W[j, k] for few rows (decode): memory bound on W, so W is read once
 * with coalesced vec4 loads and every loaded vec4 is used for all rows. A workgroup of 256 threads is
 * 4 row-sets × 64 lanes; a row-set owns NT weight rows and its lanes stride K (two vec4 per step, so
 * each thread keeps 2·NT loads in flight); partial sums are reduced over the 64 lanes in workgroup
 * memory in two barrier-separated stages (8 lanes, then 8 partials; barriers inside loops made lavapipe's
 * compile minutes long). Rows beyond the step's count read a clamped row (their
 * result is not stored), so the inner loops have constant bounds and stay in registers. With `acc` the
 * product is added to y (the residual connection, fused).
 */
export const matvecWgsl = (rm: MatvecRows): string => {
  const nt = matvecColsPerThread(rm)
  return /* wgsl */ `
struct Params { K: u32, ldy: u32, n0: u32, nPart: u32, acc: u32, countWord: u32, _a: u32, _b: u32 }
const RM: u32 = ${rm}u;
const NT: u32 = ${nt}u;
const S: u32 = ${MATVEC_SETS}u;
const L: u32 = ${MATVEC_LANES}u;
var<workgroup> red: array<f32, ${256 * rm}>;
// Per round: S·RM outputs × 8 partial sums (own slice per round, so a round needs no barrier before the next).
var<workgroup> red8: array<f32, ${nt * MATVEC_SETS * rm * 8}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let rows = counts[params.countWord];
  // The grid may be 2-D for large N; the early exit is uniform over the workgroup (before any barrier).
  let wgi = wg.x + wg.y * nwg.x;
  if (rows == 0u || wgi * S * NT >= params.nPart) { return; }
  let K4 = params.K / 4u;
  let s = t / L;
  let lane = t % L;
  let j0 = (wgi * S + s) * NT;
  var wrow: array<u32, NT>;
  for (var n = 0u; n < NT; n++) { wrow[n] = min(j0 + n, params.nPart - 1u) * K4; }
  var xrow: array<u32, RM>;
  for (var r = 0u; r < RM; r++) { xrow[r] = min(r, rows - 1u) * K4; }
  var acc: array<f32, ${nt * rm}>;
  for (var i = 0u; i < NT * RM; i++) { acc[i] = 0.0; }
  var k = lane;
  var w0: array<vec4<f32>, NT>;
  var w1: array<vec4<f32>, NT>;
  for (; k + L < K4; k += 2u * L) {
    for (var n = 0u; n < NT; n++) { w0[n] = w[wrow[n] + k]; w1[n] = w[wrow[n] + k + L]; }
    for (var r = 0u; r < RM; r++) {
      let x0 = x[xrow[r] + k];
      let x1 = x[xrow[r] + k + L];
      for (var n = 0u; n < NT; n++) { acc[n * RM + r] += dot(w0[n], x0) + dot(w1[n], x1); }
    }
  }
  if (k < K4) {
    for (var n = 0u; n < NT; n++) { w0[n] = w[wrow[n] + k]; }
    for (var r = 0u; r < RM; r++) {
      let x0 = x[xrow[r] + k];
      for (var n = 0u; n < NT; n++) { acc[n * RM + r] += dot(w0[n], x0); }
    }
  }
${Array.from({ length: nt }, (_, n) => reduceRound(n)).join("")}}
`
}
