import type { GpuContext } from "../device.js"

/** Most timestamp queries one step may write (the WebGPU cap on a query set's count). */
const MAX_QUERIES = 4096

/**
 * Per-pass GPU timing of a step with timestamp queries: every compute pass gets a begin/end pair
 * (as long as the query set has room) and a kind; after the step's last pass the set is resolved
 * into a buffer the caller copies back with the step's results. Without `timestamp-query` it hands
 * out plain passes and the decoder times the step on the wall clock instead.
 * @example const t = new StepTimer(gpu, 400); const pass = enc.beginComputePass(t.pass("dense"))
 */
export class StepTimer {
  readonly enabled: boolean
  readonly capacity: number
  private readonly querySet: GPUQuerySet | undefined
  /** Resolved timestamps (u64 ns), copied back by the caller. */
  readonly resolved: GPUBuffer | undefined
  private kinds: string[] = []

  constructor(gpu: GpuContext, passes: number) {
    this.enabled = gpu.features.has("timestamp-query")
    this.capacity = Math.min(MAX_QUERIES, 2 * passes)
    if (this.enabled) {
      this.querySet = gpu.device.createQuerySet({ type: "timestamp", count: this.capacity })
      this.resolved = gpu.device.createBuffer({ label: "decoder.timestamps", size: this.capacity * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC })
    }
  }

  /** Starts a step. */
  reset(): void {
    this.kinds = []
  }

  /** Passes timed so far this step. */
  get count(): number {
    return this.kinds.length
  }

  /** Whether some pass of this step ran untimed (more passes than queries). */
  overflowed = false

  /** The descriptor of the next compute pass, of `kind`. */
  pass(kind: string): GPUComputePassDescriptor {
    if (this.querySet === undefined) return {}
    const i = this.kinds.length
    if (2 * i + 2 > this.capacity) {
      this.overflowed = true
      return {}
    }
    this.kinds.push(kind)
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } }
  }

  /** Encodes the resolve of this step's queries into `resolved`. */
  resolve(enc: GPUCommandEncoder): void {
    if (this.querySet !== undefined && this.resolved !== undefined && this.kinds.length > 0) enc.resolveQuerySet(this.querySet, 0, 2 * this.kinds.length, this.resolved, 0)
  }

  /** Sums the pass durations of this step: total busy GPU ns and per kind (in first-seen order). */
  totals(stamps: BigUint64Array): { gpuNs: number; kernels: Array<{ kind: string; gpuNs: number }> } {
    const byKind = new Map<string, number>()
    let total = 0
    this.kinds.forEach((k, i) => {
      const a = stamps[2 * i]!
      const b = stamps[2 * i + 1]!
      const d = b > a ? Number(b - a) : 0
      total += d
      byKind.set(k, (byKind.get(k) ?? 0) + d)
    })
    return { gpuNs: total, kernels: [...byKind].map(([kind, gpuNs]) => ({ kind, gpuNs })) }
  }

  destroy(): void {
    this.querySet?.destroy()
    this.resolved?.destroy()
  }
}
