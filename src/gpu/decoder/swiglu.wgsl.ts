import { defineBindings } from "../bindings.js"

/** SwiGLU bindings: fused gate|up rows [rows, 2I], activations [rows, I], step counts. */
export const SWIGLU_BINDINGS = defineBindings({ gu: "read<f32>", act: "rw<f32>", counts: "read<u32>", params: "uniform" })

/** act[r, j] = silu(gate[r, j]) · up[r, j], silu(x) = x / (1 + e^(−x)); one thread per element. */
export const swigluWgsl = (): string => /* wgsl */ `
struct Params { I: u32, countWord: u32, _a: u32, _b: u32 }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = (wg.x + wg.y * nw.x) * 256u + t;
  if (g >= counts[params.countWord] * params.I) { return; }
  let r = g / params.I;
  let j = g % params.I;
  let a = gu[r * 2u * params.I + j];
  act[g] = a / (1.0 + exp(-a)) * gu[r * 2u * params.I + params.I + j];
}
`
