import { defineBindings } from "../bindings.js"
import type { KvFormat } from "../kvFormat.js"

/** Fill bindings: the packed rows being generated (one segment), per-row scales (int8). */
export const FILL_BINDINGS = defineBindings({
  dst: "rw<u32>",
  scales: "rw<f32>",
  params: "uniform",
})

/** WGSL and JS share this hash (lowbias32), so the host can recompute any element it samples. */
export const FILL_HASH_WGSL = `fn hash(x0: u32) -> u32 { var x = x0; x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u; return x; }`

/**
 * Deterministic pseudo-random tensors generated on the GPU (benchmarks need gigabytes the host
 * should not upload). Element d of row r is a function of (seed, r, d) only, exactly representable
 * in the format: f32/f16 (k − 512)/512 with k in [0, 1024); int8 a byte in [−128, 127], scale 1/128.
 */
export const fillWgsl = (format: KvFormat): string => /* wgsl */ `
${FILL_HASH_WGSL}
struct Params { row0: u32, words: u32, seed: u32, wpr: u32, gridX: u32, _a: u32, _b: u32, _c: u32 }
fn rowHash(row: u32) -> u32 { return hash((row * 0x9e3779b1u) ^ params.seed); }
fn val(rh: u32, d: u32) -> f32 { return (f32(hash(rh + d) & 1023u) - 512.0) / 512.0; }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let w = (wg.x + wg.y * params.gridX) * 256u + t;
  if (w >= params.words) { return; }
  let lr = w / params.wpr;
  let j = w % params.wpr;
  let row = params.row0 + lr;
  let rh = rowHash(row);
  ${
    format === "f32"
      ? "dst[w] = bitcast<u32>(val(rh, j));"
      : format === "f16"
        ? "dst[w] = pack2x16float(vec2<f32>(val(rh, 2u * j), val(rh, 2u * j + 1u)));"
        : `var b: vec4<i32>;
  for (var e = 0u; e < 4u; e++) { b[e] = i32(hash(rh + 4u * j + e) & 255u) - 128; }
  dst[w] = pack4xI8(b);
  if (j == 0u) { scales[row] = 1.0 / 128.0; }`
  }
}
`
