import { defineBindings } from "../bindings.js"
import { decoderHash } from "./decoderHash.js"

/** Synthetic weight fill bindings: one weight part (written from `dstOffset`). */
export const WEIGHT_FILL_BINDINGS = defineBindings({ dst: "rw<f32>", params: "uniform" })

/**
 * dst[dstOffset + i] = weightValue(seed, elem0 + i, kind) for i < count: element elem0 + i of the
 * named tensor, the value `decoderHash.weight` gives on the host.
 */
export const weightFillWgsl = (): string => /* wgsl */ `
struct Params { count: u32, dstOffset: u32, elem0: u32, seed: u32, kind: u32, _a: u32, _b: u32, _c: u32 }
${decoderHash.WEIGHT_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nw.x) * 256u + t;
  if (i >= params.count) { return; }
  dst[params.dstOffset + i] = weightValue(params.seed, params.elem0 + i, params.kind);
}
`
