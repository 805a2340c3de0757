import { defineBindings } from "../bindings.js"

/** GEMM bindings: activations [rows, K] and one row-part of a weight [N, K] read as vec4 (K % 4 == 0), output rows, step counts. */
export const GEMM_BINDINGS = defineBindings({ x: "read<vec4<f32>>", w: "read<vec4<f32>>", y: "rw<f32>", counts: "read<u32>", params: "uniform" })

/** Row tiles the host compiles: 32 for batches of 17–32 rows (half the idle work of a 64-row tile), 64 for prefill. */
export const GEMM_ROW_TILES = [32, 64] as const
export type GemmRowTile = (typeof GEMM_ROW_TILES)[number]

/** Output columns per workgroup and the K slice staged per step. */
export const GEMM_TN = 64
export const GEMM_TK = 16

/**
 * Register-blocked y[r, n0 + j] (+)= Σ_k x[r, k] · W[j, k] for many rows (prefill). A workgroup owns a
 * BM × 64 output tile with BM·4 threads, each holding a 4 × 4 block in registers; per 16-wide K step
 * the x and W tiles are staged transposed in workgroup memory ([k][m], [k][n], rows padded by one vec4
 * so the transposing stores hit at most 2 banks at once), so the inner loop is two vec4 loads per 16
 * FMAs. The next step's tiles are fetched into registers while the current one is multiplied (one
 * workgroup-memory buffer, loads overlapped with math). Any rows, K (a multiple of 4) and N: loads past
 * the edges are zeros, stores are skipped. With `acc` the product is added to y (the residual, fused).
 */
export const gemmWgsl = (bm: GemmRowTile): string => {
  const threads = bm * 4
  const wPerThread = (GEMM_TN * GEMM_TK) / 4 / threads
  return /* wgsl */ `
struct Params { K: u32, ldy: u32, n0: u32, nPart: u32, acc: u32, countWord: u32, _a: u32, _b: u32 }
const BM: u32 = ${bm}u;
const BN: u32 = ${GEMM_TN}u;
const BK: u32 = ${GEMM_TK}u;
const WG: u32 = ${threads}u;
const WPT: u32 = ${wPerThread}u;
// Padded row lengths of the transposed tiles, in vec4.
const AP4: u32 = BM / 4u + 1u;
const BP4: u32 = BN / 4u + 1u;
var<workgroup> As: array<vec4<f32>, ${GEMM_TK * (bm / 4 + 1)}>;
var<workgroup> Bs: array<vec4<f32>, ${GEMM_TK * (GEMM_TN / 4 + 1)}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let rows = counts[params.countWord];
  let r0 = wg.y * BM;
  if (r0 >= rows) { return; }
  let j0 = wg.x * BN;
  let K4 = params.K / 4u;
  let tm = t / 16u;
  let tn = t % 16u;
  // Loader roles: x tile vec4 t is (row t / 4, k-vec4 t % 4); W tile vec4s t + i·WG likewise.
  let xm = t / 4u;
  let xk = t % 4u;
  let xOk = r0 + xm < rows;
  let xBase = min(r0 + xm, rows - 1u) * K4;
  var wm: array<u32, WPT>;
  var wOk: array<bool, WPT>;
  var wBase: array<u32, WPT>;
  for (var i = 0u; i < WPT; i++) {
    wm[i] = (t + i * WG) / 4u;
    wOk[i] = j0 + wm[i] < params.nPart;
    wBase[i] = min(j0 + wm[i], params.nPart - 1u) * K4;
  }
  var xr: vec4<f32>;
  var wr: array<vec4<f32>, WPT>;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  let steps = (K4 + BK / 4u - 1u) / (BK / 4u);
  // Prefetch of step 0.
  {
    let kv = xk;
    xr = select(vec4<f32>(0.0), x[xBase + min(kv, K4 - 1u)], xOk && kv < K4);
    for (var i = 0u; i < WPT; i++) { wr[i] = select(vec4<f32>(0.0), w[wBase[i] + min(kv, K4 - 1u)], wOk[i] && kv < K4); }
  }
  for (var st = 0u; st < steps; st++) {
    for (var c = 0u; c < 4u; c++) {
      let kk = xk * 4u + c;
      As[kk * AP4 + xm / 4u][xm % 4u] = xr[c];
      for (var i = 0u; i < WPT; i++) { Bs[kk * BP4 + wm[i] / 4u][wm[i] % 4u] = wr[i][c]; }
    }
    workgroupBarrier();
    if (st + 1u < steps) {
      let kv = (st + 1u) * (BK / 4u) + xk;
      xr = select(vec4<f32>(0.0), x[xBase + min(kv, K4 - 1u)], xOk && kv < K4);
      for (var i = 0u; i < WPT; i++) { wr[i] = select(vec4<f32>(0.0), w[wBase[i] + min(kv, K4 - 1u)], wOk[i] && kv < K4); }
    }
    for (var kk = 0u; kk < BK; kk++) {
      let a = As[kk * AP4 + tm];
      let b = Bs[kk * BP4 + tn];
      for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4<f32>(a[i]), b, acc[i]); }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + tm * 4u + i;
    if (r < rows) {
      for (var c = 0u; c < 4u; c++) {
        let j = j0 + tn * 4u + c;
        if (j < params.nPart) {
          let o = r * params.ldy + params.n0 + j;
          if (params.acc != 0u) { y[o] = y[o] + acc[i][c]; } else { y[o] = acc[i][c]; }
        }
      }
    }
  }
}
`
}
