import { defineBindings } from "../bindings.js"

/** RMSNorm bindings: input rows, weight [H], output rows, source-row map, step counts. */
export const RMS_NORM_BINDINGS = defineBindings({ x: "read<f32>", w: "read<f32>", y: "rw<f32>", map: "read<u32>", counts: "read<u32>", params: "uniform" })

/**
 * One workgroup per output row r: y[r] = x[map[r]] · rsqrt(mean(x²) + eps) · w. The map lets the
 * final norm gather only the rows that are sampled (identity elsewhere).
 */
export const rmsNormWgsl = (): string => /* wgsl */ `
struct Params { H: u32, eps: f32, countWord: u32, _a: u32 }
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let r = wg.x + wg.y * nw.x;
  if (r >= counts[params.countWord]) { return; }
  let src = map[r] * params.H;
  var s = 0.0;
  for (var i = t; i < params.H; i += 256u) { let v = x[src + i]; s = fma(v, v, s); }
  red[t] = s;
  workgroupBarrier();
  for (var st = 128u; st > 0u; st >>= 1u) {
    if (t < st) { red[t] += red[t + st]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(params.H) + params.eps);
  for (var i = t; i < params.H; i += 256u) { y[r * params.H + i] = x[src + i] * inv * w[i]; }
}
`
