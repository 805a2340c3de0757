import { defineBindings } from "../bindings.js"

/** Dense matmul bindings: activations [rows, K], one row-part of a weight [N, K], output rows, step counts. */
export const MATMUL_BINDINGS = defineBindings({ x: "read<f32>", w: "read<f32>", y: "rw<f32>", counts: "read<u32>", params: "uniform" })

/** Output columns per workgroup and the K slice staged per step. */
export const MATMUL_TN = 64
export const MATMUL_TK = 32

/** Row tiles the host picks from by batch rows; this scalar kernel only serves weights whose K is not a multiple of 4 (see denseMatmul.ts). */
export const MATMUL_ROW_TILES = [4, 16, 64] as const
export type MatmulRowTile = (typeof MATMUL_ROW_TILES)[number]

/**
 * Tiled y[r, n0 + j] (+)= Σ_k x[r, k] · W[j, k] for W in `nn.Linear` layout ([out, in], so the
 * staged W tile reads K-contiguous, coalesced). One workgroup (256 threads) per TM × 64 output
 * tile; thread (rg, c) owns column c and rows rg + 4i; the W tile is padded by one word per row so
 * column reads do not share banks. Any rows, K and N: out-of-range loads are zeros, stores are
 * skipped. With `acc` the product is added to y (the residual connection, fused).
 */
export const matmulWgsl = (tm: MatmulRowTile): string => /* wgsl */ `
struct Params { K: u32, ldy: u32, n0: u32, nPart: u32, acc: u32, countWord: u32, _a: u32, _b: u32 }
const TM: u32 = ${tm}u;
const TN: u32 = ${MATMUL_TN}u;
const TK: u32 = ${MATMUL_TK}u;
const RPT: u32 = ${tm / 4}u;
var<workgroup> xs: array<f32, ${tm * MATMUL_TK}>;
var<workgroup> ws: array<f32, ${MATMUL_TN * (MATMUL_TK + 1)}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let rows = counts[params.countWord];
  let r0 = wg.y * TM;
  if (r0 >= rows) { return; }
  let j0 = wg.x * TN;
  let c = t % TN;
  let rg = t / TN;
  var acc: array<f32, RPT>;
  for (var i = 0u; i < RPT; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < params.K; k0 += TK) {
    for (var i = t; i < TM * TK; i += 256u) {
      let r = r0 + i / TK;
      let k = k0 + i % TK;
      var v = 0.0;
      if (r < rows && k < params.K) { v = x[r * params.K + k]; }
      xs[i] = v;
    }
    for (var i = t; i < TN * TK; i += 256u) {
      let j = j0 + i / TK;
      let k = k0 + i % TK;
      var v = 0.0;
      if (j < params.nPart && k < params.K) { v = w[j * params.K + k]; }
      ws[(i / TK) * (TK + 1u) + i % TK] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let wv = ws[c * (TK + 1u) + kk];
      for (var i = 0u; i < RPT; i++) { acc[i] = fma(xs[(rg + 4u * i) * TK + kk], wv, acc[i]); }
    }
    workgroupBarrier();
  }
  let j = j0 + c;
  if (j >= params.nPart) { return; }
  for (var i = 0u; i < RPT; i++) {
    let r = r0 + rg + 4u * i;
    if (r < rows) {
      let o = r * params.ldy + params.n0 + j;
      if (params.acc != 0u) { y[o] = y[o] + acc[i]; } else { y[o] = acc[i]; }
    }
  }
}
`
