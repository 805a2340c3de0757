import { readFileSync } from "node:fs"
import { create, globals } from "webgpu"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { GpuUnavailable } from "../core/errors.js"
import { SGM_TEMPLATE_PROBE, type SgmSpelling } from "./sharedInt8/sgm.js"

/** What the acquired device offers, read once so kernels can pick a path. */
export interface GpuContext {
  readonly device: GPUDevice
  /** Adapter description, e.g. `nvidia | hopper | NVIDIA H200`. */
  readonly name: string
  readonly backend: string
  readonly features: ReadonlySet<string>
  readonly limits: GPUSupportedLimits
  /** True when subgroup matrices with i8·i8→i32 16×16×32 (or 16×8×32) configs are usable. */
  readonly int8SubgroupMatrix: boolean
  /** True when subgroup matrices with an f16·f16→f32 16×16×16 config are usable (sharedF16/). */
  readonly f16SubgroupMatrix: boolean
  readonly subgroupMinSize: number
  /** How this compiler wants subgroup-matrix loads/stores spelled (see sharedInt8/sgm.ts). */
  readonly sgmSpelling: SgmSpelling
  /** Pipelines cached per device by the kernel hosts (key: kernel name + template parameters). */
  readonly pipelines: Map<string, GPUComputePipeline>
  /** Set when the device is lost; every submission checks it. */
  lostReason: string | undefined
}

/**
 * The machine's own Debian mirror (the deb822 stanza for `bookworm`, else sources.list), so the
 * hint below works on whatever mirror it is set up with; deb.debian.org when none is found.
 */
const debianMirror = (): string => {
  const read = (f: string): string => {
    try {
      return readFileSync(f, "utf8")
    } catch {
      return ""
    }
  }
  for (const stanza of read("/etc/apt/sources.list.d/debian.sources").split(/\n\s*\n/)) {
    if (/^Suites:.*\bbookworm(\s|$)/m.test(stanza) && !/security/.test(stanza)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1]
      if (uri !== undefined) return uri
    }
  }
  const line = /^deb\s+(\S+)\s+bookworm\s/m.exec(read("/etc/apt/sources.list"))
  return line?.[1] ?? "http://deb.debian.org/debian"
}

const lavapipeHint = (): string =>
  "install Mesa's lavapipe (see ../shared/gpu/README.md): " +
  `echo 'deb ${debianMirror()} bookworm-backports main' > /etc/apt/sources.list.d/backports.list; ` +
  "apt-get update && apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers"

// Dawn's Node binding exposes the WebGPU globals (GPUBufferUsage, ...) only through `globals`.
let globalsInstalled = false
const installGlobals = (): void => {
  if (!globalsInstalled) Object.assign(globalThis, globals)
  globalsInstalled = true
}

interface SubgroupMatrixConfig {
  readonly componentType: string
  readonly resultComponentType: string
  readonly M: number
  readonly N: number
  readonly K: number
}

const instances = new Map<string, GPU>()

const WANTED_FEATURES = ["shader-f16", "subgroups", "timestamp-query", "chromium-experimental-subgroup-matrix"]

/** "template" when the compiler accepts `subgroupMatrixLoad<T, row_major>(...)`, else "legacy". */
const probeSgmSpelling = async (device: GPUDevice): Promise<SgmSpelling> => {
  device.pushErrorScope("validation")
  const module = device.createShaderModule({ code: SGM_TEMPLATE_PROBE })
  const info = await module.getCompilationInfo()
  const err = await device.popErrorScope()
  return err === null && !info.messages.some((m) => m.type === "error") ? "template" : "legacy"
}

const open = async (backend: string): Promise<GpuContext> => {
  installGlobals()
  // allow_unsafe_apis unlocks chromium-experimental-subgroup-matrix on Vulkan; harmless elsewhere.
  // One Dawn instance per backend for the whole process: if the instance object is garbage
  // collected while a device lives, Dawn tears down under it and Node crashes (seen on lavapipe).
  // MOSKA_GPU_ROBUSTNESS=0 turns off Dawn's bounds clamping of every buffer and workgroup-array access
  // (as CUDA kernels run); the kernels clamp their own indices. On the H200 it made workgroup-memory
  // matrix loads 3× faster (bench/sgm-ops-probe.mjs).
  // vulkan_enable_f16_on_nvidia: Dawn hides shader-f16, and with it the f16 subgroup-matrix configs, on
  // NVIDIA Vulkan unless this adapter toggle is set (docs/kernels-h200-f16-probe.txt: with it the H200
  // offers f16·f16→f32 16×16×16, and f16 dot products were right to 3e-5). Other adapters ignore it.
  // MOSKA_GPU_F16=0 leaves it out (the device then has no shader-f16 on the H200, as before).
  const env = process.env
  const toggles = [
    "allow_unsafe_apis",
    ...(env.MOSKA_GPU_F16 === "0" ? [] : ["vulkan_enable_f16_on_nvidia"]),
    ...(env.MOSKA_GPU_ROBUSTNESS === "0" ? ["disable_robustness"] : []),
  ].join(",")
  const key = `${backend}|${toggles}`
  let gpu = instances.get(key)
  if (gpu === undefined) {
    // Without timestamp_quantization disabled, Dawn rounds timestamp queries to 65,536 ns.
    gpu = create([`backend=${backend}`, `enable-dawn-features=${toggles}`, "disable-dawn-features=timestamp_quantization"])
    instances.set(key, gpu)
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" })
  if (adapter === null) throw new GpuUnavailable({ message: `no WebGPU adapter on backend '${backend}'; ${lavapipeHint()}` })
  const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig>; subgroupMinSize?: number }
  const configs = [...(info.subgroupMatrixConfigs ?? [])]
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[]
  const L = adapter.limits
  // Without these the device gets WebGPU's small defaults (128 MiB bindings, 16 KiB workgroup memory).
  const requiredLimits: Record<string, number> = {
    maxBufferSize: L.maxBufferSize,
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits })
  const hasSgm = device.features.has("chromium-experimental-subgroup-matrix")
  const hasConfig = (component: string, result: string, K: number): boolean =>
    hasSgm && configs.some((c) => c.componentType === component && c.resultComponentType === result && c.M === 16 && c.N === 16 && c.K === K)
  const sgmSpelling = hasSgm ? await probeSgmSpelling(device) : "legacy"
  const ctx: GpuContext = {
    device,
    name: [info.vendor, info.architecture, info.device, info.description].filter((s) => s !== "").join(" | "),
    backend,
    features: new Set([...device.features]),
    limits: device.limits,
    int8SubgroupMatrix: hasConfig("i8", "i32", 32),
    // f16 WGSL also needs shader-f16 on the device (the configs come with it on the H200, but check both).
    f16SubgroupMatrix: device.features.has("shader-f16") && hasConfig("f16", "f32", 16),
    subgroupMinSize: info.subgroupMinSize ?? 0,
    sgmSpelling,
    pipelines: new Map(),
    lostReason: undefined,
  }
  void device.lost.then((l) => {
    ctx.lostReason = `${l.reason}: ${l.message}`
  })
  device.addEventListener("uncapturederror", (e) => {
    // Errors outside an error scope: record them as a loss so the next check fails loudly.
    ctx.lostReason ??= `uncaptured: ${(e as GPUUncapturedErrorEvent).error.message}`
  })
  return ctx
}

/** Backend from `MOSKA_WEBGPU_BACKEND` (vulkan, opengl, ...), default vulkan. */
export const gpuBackendFromEnv = (): string => process.env.MOSKA_WEBGPU_BACKEND ?? "vulkan"

/**
 * The WebGPU device as a scoped resource: acquired with every feature moska can use and the
 * adapter's own limits, destroyed when the scope closes so Node can exit.
 * @example await Effect.runPromise(Effect.scoped(Effect.flatMap(acquireGpu(), (gpu) => runKernels(gpu))))
 */
export const acquireGpu = (backend: string = gpuBackendFromEnv()): Effect.Effect<GpuContext, GpuUnavailable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => open(backend),
      catch: (e) => (e instanceof GpuUnavailable ? e : new GpuUnavailable({ message: `WebGPU device request failed: ${String(e)}` })),
    }),
    (ctx) => Effect.sync(() => ctx.device.destroy()),
  )

/** Runs `f` with a device that is destroyed afterwards, as a Promise (for tests and the CLI); failures keep their tags. */
export const withGpu = async <A>(f: (gpu: GpuContext) => Promise<A>, backend?: string): Promise<A> => {
  const exit = await Effect.runPromiseExit(
    Effect.scoped(Effect.flatMap(acquireGpu(backend), (gpu) => Effect.tryPromise({ try: () => f(gpu), catch: (e) => e }))),
  )
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}
