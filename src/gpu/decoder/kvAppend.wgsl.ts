import { defineBindings } from "../bindings.js"

/**
 * KV append bindings: fused q|k|v rows, per-row (slot, kv index, q index, rope position), the
 * attention queries, one segment of the per-slot K and V caches, step counts.
 */
export const KV_APPEND_BINDINGS = defineBindings({
  qkv: "read<f32>",
  info: "read<u32>",
  qAttn: "rw<f32>",
  kc: "rw<f32>",
  vc: "rw<f32>",
  counts: "read<u32>",
  params: "uniform",
})

/**
 * One thread per element of a row's q|k|v: k and v go to the row's slot region at its kv index, as
 * rows [slot, maxContext, Hkv] of D f32 (the unique kernel's f32 layout), in the bound segment of
 * slots [unit0, unit0 + units); with `writeQ`, q goes to query row `qIndex` (slot-indexed in decode,
 * so the unique kernel can run over all slots at once; row-indexed in prefill).
 */
export const kvAppendWgsl = (): string => /* wgsl */ `
struct Params { D: u32, Hq: u32, Hkv: u32, maxCtx: u32, unit0: u32, units: u32, writeQ: u32, countWord: u32 }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = (wg.x + wg.y * nw.x) * 256u + t;
  let qw = params.Hq * params.D;
  let kw = params.Hkv * params.D;
  let W = qw + 2u * kw;
  if (g >= counts[params.countWord] * W) { return; }
  let r = g / W;
  let j = g % W;
  let x = qkv[g];
  if (j < qw) {
    if (params.writeQ != 0u) { qAttn[info[r * 4u + 2u] * qw + j] = x; }
    return;
  }
  let slot = info[r * 4u];
  if (slot < params.unit0 || slot >= params.unit0 + params.units) { return; }
  let o = ((slot - params.unit0) * params.maxCtx + info[r * 4u + 1u]) * kw;
  if (j < qw + kw) { kc[o + j - qw] = x; } else { vc[o + j - qw - kw] = x; }
}
`
