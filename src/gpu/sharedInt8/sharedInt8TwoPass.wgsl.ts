import { INT8_DIM, INT8_KEY_TILE, INT8_S_STRIDE, INT8_STAGE_STRIDE } from "./sharedInt8.wgsl.js"
import { sgmLoad, sgmStore, type SgmSpelling } from "./sgm.js"

/** Row stride (i32 words) of the O tile written once at the end of the two-pass kernel. */
const O_STRIDE = 136
/** Keys a two-pass work item may hold: P·V sums up to 127·127 per key in i32 without rescaling. */
export const TWO_PASS_MAX_KEYS = 131072

/**
 * Workgroup arrays of the two-pass kernel, in 32-bit words: `big` (Q as i8, then the staged K tile at 0,
 * the staged V tile after it and the S tile after both; at the end the whole O tile), `pb` (P as i8),
 * the per-key scales of two tiles and the per-row (l, m).
 */
export const twoPassLayout = () => {
  const stage = (INT8_KEY_TILE * INT8_STAGE_STRIDE) / 4
  const s = 64 * INT8_S_STRIDE
  return { vOff: stage, sOff: 2 * stage, big: Math.max(2 * stage + s, 64 * O_STRIDE), pb: (64 * 64) / 4, perKey: 2 * INT8_KEY_TILE, perRow: 64 }
}

/** Workgroup memory of the two-pass kernel, in bytes. */
export const twoPassWorkgroupBytes = (): number => {
  const L = twoPassLayout()
  return 4 * (L.big + L.pb + 2 * L.perKey + 4) + 8 * L.perRow
}

const unroll = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join("\n")

/**
 * Shared (stacked) attention on int8 subgroup matrices in two passes over the work item's keys, so that
 * P·V accumulates in subgroup-matrix registers for the whole key range (one workgroup of four subgroups,
 * ≤ 64 stacked rows, staged K/V as in `sharedInt8Wgsl`):
 * - pass 1: S = Q·Kᵀ per 64-key tile, and each row's exact maximum score m over the whole range;
 * - pass 2: S again, p = exp(s − m) ≤ 1, P = p·v_scale quantized to i8 with one fixed scale per work item
 *   (127 / the range's largest V scale), and O += P·V on the tensor cores with no per-tile rescale;
 * - O leaves the registers once, through workgroup memory, divided by the row sum l (f32, unquantized p).
 * Against the one-pass kernel this pays S twice and a fixed (not per-tile) P scale, and drops the per-tile
 * softmax correction, the per-tile O round trip through workgroup memory and the rescale phase.
 */
export const sharedInt8TwoPassWgsl = (kvHeads: number, sp: SgmSpelling): string => {
  const D = INT8_DIM
  const KT = INT8_KEY_TILE
  const SST = INT8_STAGE_STRIDE
  const SS = INT8_S_STRIDE
  const L = twoPassLayout()
  const left = "subgroup_matrix_left<i8, 32, 16>"
  const right = "subgroup_matrix_right<i8, 16, 32>"
  // Staging: invocation t moves 16-byte column t % 8 of keys t / 8 + 16j (j < 4) of a 64-key tile into big at word `off`.
  const gidx = (j: number): string => `((key0 + min(k0 + t / 8u + ${16 * j}u, nkeys - 1u)) * params.Hkv + h) * 8u + t % 8u`
  const stage = (buf: string, off: number): string =>
    unroll(4, (j) => `    { let x = ${buf}[${gidx(j)}]; let so = ${off}u + (t / 8u + ${16 * j}u) * ${SST / 4}u + (t % 8u) * 4u; big[so] = bitcast<i32>(x.x); big[so + 1u] = bitcast<i32>(x.y); big[so + 2u] = bitcast<i32>(x.z); big[so + 3u] = bitcast<i32>(x.w); }`)
  // S tile: subgroup kbk multiplies all 64 rows by keys 16·kbk.. (K staged at word 0) and stores into big at sOff.
  const sTile = `    {
${unroll(4, (rb) => `      var c${rb} = subgroup_matrix_result<i32, 16, 16>();`)}
${unroll(4, (d) => [`      let b${d} = ${sgmLoad(sp, right, "&big", `kbk * 16u * SST + ${d * 32}u`, true, "SST")};`, ...Array.from({ length: 4 }, (_, rb) => `      c${rb} = subgroupMatrixMultiplyAccumulate(qm${d * 4 + rb}, b${d}, c${rb});`)].join("\n"))}
${unroll(4, (rb) => `      ${sgmStore(sp, "&big", `${L.sOff}u + ${rb * 16}u * SS + kbk * 16u`, `c${rb}`, false, "SS")};`)}
    }`
  const scales = (both: boolean): string =>
    `    if (t < KT) { let kr = params.srow0 + (key0 + min(k0 + t, nkeys - 1u)) * params.Hkv + h; skw[par + t] = ks[kr];${both ? " svw[par + t] = vs[kr] * pq;" : ""} }`
  // Scores of row r, keys hf·32.. in groups of 4 rotated by row (bank spread), from the S tile.
  const score = (g: number, e: number): string => `f32(big[${L.sOff}u + r * SS + hf * 32u + ((${g}u + r) % 8u) * 4u + ${e}u]) * skw[par + hf * 32u + ((${g}u + r) % 8u) * 4u + ${e}u]`
  const keyOf = (g: number, e: number): string => `k0 + hf * 32u + ((${g}u + r) % 8u) * 4u + ${e}u`
  return /* wgsl */ `
enable subgroups;
enable chromium_experimental_subgroup_matrix;
struct Params { Hkv: u32, nitems: u32, scale: f32, srow0: u32 }
const D: u32 = ${D}u;
const KT: u32 = ${KT}u;
const SST: u32 = ${SST}u;
const SS: u32 = ${SS}u;
const OS: u32 = ${O_STRIDE}u;
const NEG: f32 = -1e30;
var<workgroup> big: array<i32, ${L.big}>;
var<workgroup> pb: array<i32, ${L.pb}>;
var<workgroup> skw: array<f32, ${L.perKey}>;
var<workgroup> svw: array<f32, ${L.perKey}>;
var<workgroup> red: array<f32, 4>;
// Per row at the end: (l, m).
var<workgroup> lmw: array<vec2<f32>, ${L.perRow}>;

fn packQ(a: f32, b: f32, c: f32, d: f32) -> i32 {
  let x = vec4<i32>(round(vec4<f32>(a, b, c, d)));
  return bitcast<i32>((u32(x.x) & 255u) | ((u32(x.y) & 255u) << 8u) | ((u32(x.z) & 255u) << 16u) | ((u32(x.w) & 255u) << 24u));
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) sgi: u32) {
  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nitems) { return; }
  let it = wid * 8u;
  let row0 = items[it];
  let nrows = items[it + 1u];
  let key0 = items[it + 2u];
  let nkeys = items[it + 3u];
  let h = items[it + 4u];
  let slot0 = items[it + 5u];
  let kbk = sg % 4u;
  // Softmax role: row r, keys (and head dims) half hf.
  let r = t / 2u;
  let hf = t % 2u;
  // The range's largest V scale sets the one P scale of the work item.
  var svm = 0.0;
  for (var i = t; i < nkeys; i += 128u) { svm = max(svm, vs[params.srow0 + (key0 + i) * params.Hkv + h]); }
  svm = subgroupMax(svm);
  if (sgi == 0u) { red[sg] = svm; }
  var sr = 0.0;
  {
    var amax = 0.0;
    let qbase = rows[row0 + min(r, nrows - 1u)] * D + hf * 64u;
    for (var i = 0u; i < 64u; i++) { amax = max(amax, abs(q[qbase + i])); }
    amax = max(amax, subgroupShuffleXor(amax, 1u));
    let inv = select(0.0, 127.0 / amax, amax > 0.0 && r < nrows);
    for (var w = 0u; w < 16u; w++) {
      let b = qbase + 4u * w;
      big[r * (D / 4u) + hf * 16u + w] = packQ(q[b] * inv, q[b + 1u] * inv, q[b + 2u] * inv, q[b + 3u] * inv);
    }
    sr = select(0.0, amax / 127.0 * params.scale, r < nrows);
  }
  workgroupBarrier();
  let svmax = max(max(red[0], red[1]), max(red[2], red[3]));
  let pq = select(0.0, 127.0 / svmax, svmax > 0.0);
${unroll(16, (i) => `  let qm${i} = ${sgmLoad(sp, left, "&big", `${i % 4}u * 16u * D + ${Math.floor(i / 4) * 32}u`, false, "D")};`)}
  workgroupBarrier();
  // Pass 1: each row's largest f32(S)·k_scale (×sr ≥ 0 later) over the range.
  var mx = NEG;
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    let par = (k0 / KT) % 2u * KT;
${scales(false)}
${stage("k", 0)}
    workgroupBarrier();
${sTile}
    workgroupBarrier();
${unroll(8, (g) => unroll(4, (e) => `    mx = max(mx, select(${score(g, e)}, NEG, ${keyOf(g, e)} >= nkeys));`))}
  }
  mx = max(mx, subgroupShuffleXor(mx, 1u));
  let m = mx * sr;
  workgroupBarrier();
  // Pass 2: P·V accumulates in registers across all tiles (p ≤ 1 and one P scale: no rescale).
${unroll(4, (rb) => `  var o${rb}0 = subgroup_matrix_result<i32, 16, 16>();\n  var o${rb}1 = subgroup_matrix_result<i32, 16, 16>();`)}
  var l = 0.0;
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
    let par = (k0 / KT) % 2u * KT;
${scales(true)}
${stage("k", 0)}
    workgroupBarrier();
${sTile}
    workgroupBarrier();
${unroll(8, (g) => {
  const ps = Array.from({ length: 4 }, (_, e) => `let p${e} = select(exp(${score(g, e)} * sr - m), 0.0, ${keyOf(g, e)} >= nkeys); l += p${e};`).join(" ")
  const kk = (e: number): string => `par + hf * 32u + ((${g}u + r) % 8u) * 4u + ${e}u`
  return `    { ${ps}\n      pb[r * 16u + hf * 8u + (${g}u + r) % 8u] = packQ(p0 * svw[${kk(0)}], p1 * svw[${kk(1)}], p2 * svw[${kk(2)}], p3 * svw[${kk(3)}]); }`
})}
${stage("v", L.vOff)}
    workgroupBarrier();
    for (var j0 = 0u; j0 < KT; j0 += 32u) {
      let b0 = ${sgmLoad(sp, right, "&big", `${L.vOff * 4}u + j0 * SST + kbk * 32u`, false, "SST")};
      let b1 = ${sgmLoad(sp, right, "&big", `${L.vOff * 4}u + j0 * SST + kbk * 32u + 16u`, false, "SST")};
${unroll(4, (rb) => `      let a${rb} = ${sgmLoad(sp, left, "&pb", `${rb * 16 * 64}u + j0`, false, "64u")};`)}
${unroll(4, (rb) => `      o${rb}0 = subgroupMatrixMultiplyAccumulate(a${rb}, b0, o${rb}0);\n      o${rb}1 = subgroupMatrixMultiplyAccumulate(a${rb}, b1, o${rb}1);`)}
    }
    // The next tile's stores into big (K stage, S) and pb come after its first barrier, past these reads.
  }
  l += subgroupShuffleXor(l, 1u);
  if (hf == 0u) { lmw[r] = vec2<f32>(l, m); }
  workgroupBarrier();
${unroll(4, (rb) => `  ${sgmStore(sp, "&big", `${rb * 16}u * OS + kbk * 32u`, `o${rb}0`, false, "OS")};\n  ${sgmStore(sp, "&big", `${rb * 16}u * OS + kbk * 32u + 16u`, `o${rb}1`, false, "OS")};`)}
  workgroupBarrier();
  // Invocation t writes column t of every row: O / (P scale · l).
  for (var row = 0u; row < nrows; row++) {
    let lm = lmw[row];
    po[(slot0 + row) * D + t] = select(0.0, f32(big[row * OS + t]) / (pq * lm.x), lm.x > 0.0 && pq > 0.0);
  }
  if (t < nrows) { let lm = lmw[t]; pl[slot0 + t] = select(NEG, lm.y + log(lm.x), lm.x > 0.0); }
}
`
}
