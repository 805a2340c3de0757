/**
 * A kernel's binding layout, declared once: the WGSL declarations, the bind group layout and the
 * bind groups are all generated from it, so shader and host cannot disagree on slots or access.
 * @example const L = defineBindings({ q: "read<f32>", out: "rw<f32>", params: "uniform" }, "struct Params { n: u32 }")
 */
export type BindingKind = `read<${string}>` | `rw<${string}>` | "uniform"

export interface BindingLayout<N extends string> {
  readonly names: readonly N[]
  /** WGSL `@group(0) @binding(i) var<...>` lines (uniform bindings use `struct Params`). */
  readonly wgsl: string
  /** The explicit layout for `device.createPipelineLayout`. */
  layout(device: GPUDevice): GPUBindGroupLayout
  /** A bind group with one (buffer, offset, size) per name. */
  group(device: GPUDevice, layout: GPUBindGroupLayout, buffers: Record<N, GPUBufferBinding>): GPUBindGroup
}

export const defineBindings = <N extends string>(decl: Record<N, BindingKind>): BindingLayout<N> => {
  const names = Object.keys(decl) as N[]
  const wgsl = names
    .map((n, i) => {
      const k = decl[n]
      if (k === "uniform") return `@group(0) @binding(${i}) var<uniform> ${n}: Params;`
      const m = /^(read|rw)<(.+)>$/.exec(k)
      if (m === null) throw new Error(`binding ${n}: bad kind ${k}`)
      return `@group(0) @binding(${i}) var<storage, ${m[1] === "rw" ? "read_write" : "read"}> ${n}: array<${m[2]}>;`
    })
    .join("\n")
  const cache = new WeakMap<GPUDevice, GPUBindGroupLayout>()
  return {
    names,
    wgsl,
    layout(device) {
      let l = cache.get(device)
      if (l === undefined) {
        l = device.createBindGroupLayout({
          entries: names.map((n, i) => ({
            binding: i,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: decl[n] === "uniform" ? "uniform" : decl[n].startsWith("rw") ? "storage" : "read-only-storage" },
          })),
        })
        cache.set(device, l)
      }
      return l
    },
    group(device, layout, buffers) {
      return device.createBindGroup({ layout, entries: names.map((n, i) => ({ binding: i, resource: buffers[n] })) })
    },
  }
}
