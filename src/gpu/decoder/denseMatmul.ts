import type { BindingLayout } from "../bindings.js"
import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"
import { GEMM_BINDINGS, GEMM_ROW_TILES, GEMM_TN, gemmWgsl, type GemmRowTile } from "./gemm.wgsl.js"
import { MATMUL_BINDINGS, MATMUL_ROW_TILES, MATMUL_TN, matmulWgsl, type MatmulRowTile } from "./matmul.wgsl.js"
import { MATVEC_BINDINGS, MATVEC_ROW_BOUNDS, matvecColsPerWorkgroup, matvecWgsl, matvecWorkgroupBytes, type MatvecRows } from "./matvec.wgsl.js"

type DenseNames = "x" | "w" | "y" | "counts" | "params"

/** One compiled dense-layer kernel and how to launch it over a weight part of `nPart` rows. */
export interface DenseVariant {
  /** Pipeline cache key, also naming the binding layout family (bind groups are made per family). */
  readonly key: string
  readonly family: "matvec" | "gemm" | "tiled"
  readonly pipeline: GPUComputePipeline
  readonly bindings: BindingLayout<DenseNames>
  workgroups(nPart: number, rows: number): [number, number]
}

/** Most rows the matvec kernel takes (where the device's workgroup memory allows); above it the register-blocked GEMM. */
export const MATVEC_MAX_ROWS = 16

const smallestAtLeast = <T extends number>(options: readonly T[], n: number): T => options.find((o) => o >= n) ?? options[options.length - 1]!

/**
 * The dense-layer kernels of a decoder and the rule that picks one per (rows, K): K % 4 == 0 (every
 * Llama projection) takes the vec4 kernels — matvec for ≤ 16 rows (decode; ≤ 8 where workgroup memory
 * is WebGPU's 16 KiB minimum), the 32- or 64-row GEMM above (prefill); other K take the scalar tiled kernel. Every variant a step can pick for rows in
 * [1, maxRows] is compiled in `create` (cached in `gpu.pipelines`), so `pick` never compiles mid-run.
 * @example const mm = await DenseMatmul.create(gpu, 256, [4096, 14336]); const v = mm.pick(1, 4096)
 */
export class DenseMatmul {
  private constructor(
    private readonly gpu: GpuContext,
    private readonly variants: ReadonlyMap<string, DenseVariant>,
    /** Largest matvec row bound that fits the device's workgroup memory. */
    private readonly matvecMax: number,
  ) {}

  /** Compiles the variants reachable for rows in [1, maxRows] and the given K values. */
  static async create(gpu: GpuContext, maxRows: number, ks: readonly number[]): Promise<DenseMatmul> {
    const fits = MATVEC_ROW_BOUNDS.filter((b) => b <= MATVEC_MAX_ROWS && matvecWorkgroupBytes(b) <= gpu.limits.maxComputeWorkgroupStorageSize)
    const matvecMax = fits[fits.length - 1] ?? 0
    const keys = new Set<string>()
    for (const k of new Set(ks)) for (let rows = 1; rows <= maxRows; rows = nextRowsBoundary(rows, k)) keys.add(variantKey(rows, k, matvecMax))
    const variants = new Map<string, DenseVariant>()
    for (const key of keys) variants.set(key, await compile(gpu, key))
    return new DenseMatmul(gpu, variants, matvecMax)
  }

  /** The kernel for a product of `rows` activation rows with a weight of K columns (must be within create's maxRows and K values). */
  pick(rows: number, k: number): DenseVariant {
    const key = variantKey(rows, k, this.matvecMax)
    const v = this.variants.get(key)
    if (v === undefined) throw new Error(`DenseMatmul: ${key} (rows ${rows}, K ${k}) was not compiled at create`)
    return v
  }

  /** A bind group of `v`'s layout. */
  group(v: DenseVariant, entries: Record<DenseNames, GPUBufferBinding>): GPUBindGroup {
    return v.bindings.group(this.gpu.device, v.bindings.layout(this.gpu.device), entries)
  }
}

const variantKey = (rows: number, k: number, matvecMax: number): string => {
  if (k % 4 !== 0) return `decoder.matmul:${smallestAtLeast(MATMUL_ROW_TILES, rows)}`
  if (rows <= matvecMax) return `decoder.matvec:${smallestAtLeast(MATVEC_ROW_BOUNDS, rows)}`
  return `decoder.gemm:${smallestAtLeast(GEMM_ROW_TILES, rows)}`
}

/** The next row count that may pick a different variant than `rows` (walks the row bounds, not every row). */
const nextRowsBoundary = (rows: number, k: number): number => {
  const bounds: readonly number[] = k % 4 !== 0 ? MATMUL_ROW_TILES : [...MATVEC_ROW_BOUNDS, ...GEMM_ROW_TILES]
  const b = bounds.find((x) => x >= rows)
  return b === undefined ? Number.POSITIVE_INFINITY : b + 1
}

const compile = async (gpu: GpuContext, key: string): Promise<DenseVariant> => {
  const [name, arg] = key.split(":") as [string, string]
  const n = Number(arg)
  if (name === "decoder.matvec") {
    const rm = n as MatvecRows
    const per = matvecColsPerWorkgroup(rm)
    return { key, family: "matvec", bindings: MATVEC_BINDINGS, pipeline: await gpuOps.pipeline(gpu, key, MATVEC_BINDINGS, matvecWgsl(rm)), workgroups: (nPart) => gpuOps.grid(gpu, Math.ceil(nPart / per)) }
  }
  if (name === "decoder.gemm") {
    const bm = n as GemmRowTile
    return { key, family: "gemm", bindings: GEMM_BINDINGS, pipeline: await gpuOps.pipeline(gpu, key, GEMM_BINDINGS, gemmWgsl(bm)), workgroups: (nPart, rows) => [Math.ceil(nPart / GEMM_TN), Math.ceil(rows / bm)] }
  }
  const tm = n as MatmulRowTile
  return { key, family: "tiled", bindings: MATMUL_BINDINGS, pipeline: await gpuOps.pipeline(gpu, key, MATMUL_BINDINGS, matmulWgsl(tm)), workgroups: (nPart, rows) => [Math.ceil(nPart / MATMUL_TN), Math.ceil(rows / tm)] }
}
