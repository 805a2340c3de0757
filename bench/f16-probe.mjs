// Issue 14's first lead: does Dawn's `vulkan_enable_f16_on_nvidia` adapter toggle expose shader-f16
// and f16 subgroup-matrix configs on the H200, and is f16 arithmetic right there?
//   bash .gpu/on-host.sh node bench/f16-probe.mjs
// Prints, with and without the toggle: the adapter's features and subgroup-matrix configs; with
// shader-f16, a 4096-element f16 dot product per thread checked against float64 (relative error).
import { create, globals } from "webgpu"
Object.assign(globalThis, globals)
const keep = []
for (const toggles of ["allow_unsafe_apis", "allow_unsafe_apis,vulkan_enable_f16_on_nvidia"]) {
  const gpu = create(["backend=vulkan", `enable-dawn-features=${toggles}`])
  keep.push(gpu)
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" })
  if (!adapter) { console.log(`${toggles}: no adapter`); continue }
  const cfgs = [...(adapter.info.subgroupMatrixConfigs ?? [])].map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`)
  console.log(`toggles ${toggles}\n  shader-f16: ${adapter.features.has("shader-f16")}\n  subgroup-matrix configs: ${cfgs.join(", ") || "none"}`)
  if (!adapter.features.has("shader-f16")) continue
  const device = await adapter.requestDevice({ requiredFeatures: ["shader-f16"] })
  const n = 4096, threads = 256
  const a = new Float32Array(threads * n), b = new Float32Array(threads * n)
  let s = 1
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1
  for (let i = 0; i < a.length; i++) { a[i] = rnd(); b[i] = rnd() }
  const buf = (data, usage) => { const g = device.createBuffer({ size: data.byteLength, usage, mappedAtCreation: true }); new Float32Array(g.getMappedRange()).set(data); g.unmap(); return g }
  const A = buf(a, GPUBufferUsage.STORAGE), Bb = buf(b, GPUBufferUsage.STORAGE)
  const out = device.createBuffer({ size: threads * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC })
  const read = device.createBuffer({ size: threads * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
  const code = `enable f16;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var acc: f32 = 0.0;
  for (var k = 0u; k < ${n}u; k++) { let p: f16 = f16(a[g.x * ${n}u + k]) * f16(b[g.x * ${n}u + k]); acc += f32(p); }
  o[g.x] = acc;
}`
  const p = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } })
  const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [A, Bb, out].map((x, i) => ({ binding: i, resource: { buffer: x } })) })
  const e = device.createCommandEncoder(); const c = e.beginComputePass(); c.setPipeline(p); c.setBindGroup(0, bg); c.dispatchWorkgroups(threads / 64); c.end()
  e.copyBufferToBuffer(out, 0, read, 0, threads * 4); device.queue.submit([e.finish()])
  await read.mapAsync(GPUMapMode.READ); const got = new Float32Array(read.getMappedRange().slice(0))
  // reference: the same f16-rounded products summed in float64
  let worst = 0
  for (let t = 0; t < threads; t++) {
    let ref = 0, mag = 0
    for (let k = 0; k < n; k++) { const v = a[t * n + k] * b[t * n + k]; ref += v; mag += Math.abs(v) }
    worst = Math.max(worst, Math.abs(got[t] - ref) / mag)
  }
  console.log(`  f16 dot products (f16 operands and products, f32 sums), worst |got − float64| / Σ|a·b|: ${worst.toExponential(2)} (f16 rounding alone is ≤ ~1e-3)`)
  device.destroy()
}
