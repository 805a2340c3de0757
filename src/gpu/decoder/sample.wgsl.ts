import { defineBindings } from "../bindings.js"
import { decoderHash } from "./decoderHash.js"

/** Sampling bindings: logits [rows, V], per-row (temperature bits, seed, counter, 0), token ids out, step counts. */
export const SAMPLE_BINDINGS = defineBindings({ logits: "read<f32>", sp: "read<u32>", out: "rw<i32>", counts: "read<u32>", params: "uniform" })

/**
 * One workgroup per sampled row: argmax over the vocabulary of logit / T + Gumbel(seed, counter, v)
 * (Gumbel-max: an exact draw from softmax(logits / T), reproducible from the request's seed and the
 * position it samples for), or of the logit itself when T ≤ 0 (greedy). Ties go to the lower token
 * id. A row whose scores are all NaN yields −1.
 */
export const sampleWgsl = (): string => /* wgsl */ `
struct Params { V: u32, countWord: u32, _a: u32, _b: u32 }
${decoderHash.PCG_WGSL}
${decoderHash.GUMBEL_WGSL}
var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wg.x + wg.y * nw.x;
  if (row >= counts[params.countWord]) { return; }
  let temp = bitcast<f32>(sp[row * 4u]);
  let seed = sp[row * 4u + 1u];
  let ctr = sp[row * 4u + 2u];
  var best = -3.0e38;
  var idx = 0xffffffffu;
  for (var v = t; v < params.V; v += 256u) {
    var s = logits[row * params.V + v];
    if (temp > 0.0) { s = s / temp + gumbel(seed, ctr, v); }
    if (s > best) { best = s; idx = v; }
  }
  bv[t] = best;
  bi[t] = idx;
  workgroupBarrier();
  for (var st = 128u; st > 0u; st >>= 1u) {
    if (t < st) {
      let ov = bv[t + st];
      let oi = bi[t + st];
      if (ov > bv[t] || (ov == bv[t] && oi < bi[t])) { bv[t] = ov; bi[t] = oi; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { out[row] = bitcast<i32>(bi[0]); }
}
`
