import { CapacityExceeded } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"
import { kvEntries, kvSegments } from "../kvBuffers.js"
import { MERGE_BINDINGS, mergeWgsl } from "../merge/merge.wgsl.js"
import { SHARED_BINDINGS, SHARED_ITEM_WORDS, sharedWgsl } from "../shared/shared.wgsl.js"
import { checkCorpusFile, destroyCorpus, loadCorpus, type GpuCorpus } from "./corpusKv.js"
import type { DecoderConfig } from "./llamaDecoder.js"
import { openSafetensors } from "./safetensors.js"
import { planRows, sharedVariantFor, sharedWorkItems, type SharedReply, type SharedRequest } from "./sharedPort.js"

/** What a shared server needs of a decoder's config: the corpus (same dims, seed or file) and the batch sizes that bound a plan. */
export type SharedServerConfig = Pick<DecoderConfig, "dims" | "corpus" | "seed" | "corpusFile" | "slots" | "maxBatchTokens" | "memoryBudgetBytes" | "microBatches">

/** One request's scratch: query rows, plan, partials, merge lists, readback staging, and the bind groups over them. */
interface Lane {
  readonly buf: {
    readonly q: GPUBuffer; readonly rows: GPUBuffer; readonly items: GPUBuffer; readonly po: GPUBuffer; readonly pl: GPUBuffer; readonly stage: GPUBuffer; readonly params: readonly GPUBuffer[]
    readonly mSlots: GPUBuffer; readonly mOffs: GPUBuffer; readonly mOut: GPUBuffer; readonly mLse: GPUBuffer; readonly mParams: GPUBuffer
  }
  /** [layer][corpus segment] */
  readonly groups: readonly GPUBindGroup[][]
  readonly mergeGroup: GPUBindGroup
}

const align = (x: number, a: number): number => Math.ceil(x / a) * a

/**
 * The Shared-KV side of a MoSKA decoder: holds the shared corpus (built from the same dims and
 * seed as the decoder's, or the same corpus file, so both sides hold the same K/V) and answers a
 * `SharedRequest` by running the decoder's shared kernel on the same work items (`sharedWorkItems`)
 * over the uploaded query rows, returning the partials (with `merge`, LSE-merged per query row by
 * the decoder's merge kernel first). Each request in flight holds a lane (a set of buffers):
 * one by default, so requests run one at a time; with `microBatches` 2, two, so a pipelined
 * decoder's second micro-batch is planned, uploaded and submitted while the first's readback is
 * pending (the GPU still runs them in submission order). Capacity is the decoder's for the same
 * `slots` and `maxBatchTokens`.
 * @example
 * const server = await SharedServer.create(gpu, cfg)
 * const { o, lse } = await server.attend({ layer: 0, q, rows, units: [{ chunk: 3, kvHead: 0, rows: 4 }], splits: 1, rowTile: 16 })
 */
export class SharedServer {
  private destroyed = false
  /** Lanes not held by a request, and requests waiting for one (first come, first served). */
  private readonly free: number[]
  private readonly waiting: Array<(lane: number) => void> = []
  /** Most requests in flight at once so far (a worker's facts: 2 shows the pipelining happened). */
  maxInFlight = 0
  // error scopes are a device-wide stack and gpuOps.checked awaits between its two pops: two requests
  // in flight must not interleave their scopes (first request of a shape, lazy compiles), so those run one at a time
  private scopes: Promise<unknown> = Promise.resolve()
  /** Requests answered (a worker's facts). */
  requests = 0
  /** Where `attend`'s time went, ns (a worker's facts): planning and encoding, the error-scope round trips, the readback wait. */
  readonly phaseNs = { encode: 0, scopes: 0, readback: 0 }
  // (row tile, merge) shapes whose submission passed the error scopes once; later ones skip the scopes' two
  // round trips per layer, and an error still fails the context through its uncaptured-error handler (assertAlive)
  private readonly validated = new Set<string>()
  // compiled kernels held here so a layer request does not wait on an await per kernel (~0.5 ms each measured)
  private readonly compiled = new Map<16 | 64, GPUComputePipeline>()
  private mergePipeline: GPUComputePipeline | undefined

  private constructor(
    private readonly gpu: GpuContext,
    readonly cfg: SharedServerConfig,
    private readonly corpus: GpuCorpus,
    private readonly segs: ReadonlyArray<{ unit0: number; units: number; offset: number; size: number }>,
    private readonly cap: { readonly qRows: number; readonly slots: number; readonly itemsPerSeg: number },
    private readonly lanes: readonly Lane[],
  ) {
    this.free = lanes.map((_, i) => i)
  }

  /** Device bytes it holds (corpus K/V and centroids, scratch). */
  get bytes(): number {
    const { kvHeads: Hkv, headDim: D, layers } = this.cfg.dims
    return layers * (2 * this.corpus.tokens + this.corpus.chunks) * Hkv * D * 4 + this.lanes.reduce((a, l) => a + Object.values(l.buf).flat().reduce((x, b) => x + b.size, 0), 0)
  }

  static async create(gpu: GpuContext, cfg: SharedServerConfig): Promise<SharedServer> {
    const c = cfg.corpus
    if (c === null) throw new Error("SharedServer needs a corpus { tokens, chunkTokens, topK }")
    const { qHeads: Hq, kvHeads: Hkv, headDim: D, layers } = cfg.dims
    const R = Math.max(cfg.slots, cfg.maxBatchTokens ?? 256)
    // The decoder's bound on a layer's partial slots (LlamaDecoder's planShape), so any plan it sends fits.
    const slots = Math.max(R, 4 * cfg.slots) * Hq * c.topK
    const qRows = R * Hq
    const itemsPerSeg = align(slots + 8, 8)
    const corpusBytes = layers * 2 * c.tokens * Hkv * D * 4
    // q and merged rows, row and merge lists, partials and their staging copy
    const nLanes = cfg.microBatches === 2 ? 2 : 1
    const scratch = nLanes * (2 * qRows * (D + 1) * 4 + 2 * slots * 4 + 2 * slots * (D + 1) * 4)
    for (const [what, bytes] of [[`shared partials (${slots} slots × ${D} f32; lower maxBatchTokens or slots)`, slots * D * 4], [`query rows (${qRows} × ${D} f32)`, qRows * D * 4]] as const)
      if (bytes > gpu.limits.maxStorageBufferBindingSize) throw new CapacityExceeded({ what: `${what}: over the device's maxStorageBufferBindingSize`, needBytes: bytes, capacityBytes: gpu.limits.maxStorageBufferBindingSize })
    const layerBytes = c.tokens * Hkv * D * 4
    if (layerBytes > gpu.limits.maxBufferSize) throw new CapacityExceeded({ what: `shared corpus K of one layer (${c.tokens} tokens × ${Hkv} KV heads × ${D} f32): over the device's maxBufferSize`, needBytes: layerBytes, capacityBytes: gpu.limits.maxBufferSize })
    if (cfg.memoryBudgetBytes !== undefined && corpusBytes + scratch > cfg.memoryBudgetBytes) throw new CapacityExceeded({ what: "shared server total (corpus K/V, scratch) over memoryBudgetBytes", needBytes: corpusBytes + scratch, capacityBytes: cfg.memoryBudgetBytes })
    const file = cfg.corpusFile === undefined ? undefined : openSafetensors(cfg.corpusFile)
    let corpus: GpuCorpus
    try {
      if (file !== undefined) checkCorpusFile(file, cfg.dims, c.tokens)
      corpus = await loadCorpus(gpu, cfg.dims, c, cfg.seed, file)
    } finally {
      file?.close()
    }
    const segs = kvSegments(gpu, corpus.kv[0]!, c.chunkTokens * Hkv, corpus.chunks)
    const layout = SHARED_BINDINGS.layout(gpu.device)
    const lanes = Array.from({ length: nLanes }, (): Lane => {
      const buf = {
        q: gpuOps.buffer(gpu, qRows * D * 4, "shared.q"),
        rows: gpuOps.buffer(gpu, slots * 4, "shared.rows"),
        items: gpuOps.buffer(gpu, segs.length * itemsPerSeg * SHARED_ITEM_WORDS * 4, "shared.items"),
        po: gpuOps.buffer(gpu, slots * D * 4, "shared.po"),
        pl: gpuOps.buffer(gpu, slots * 4, "shared.pl"),
        stage: gpu.device.createBuffer({ label: "shared.stage", size: align(slots * (D + 1) * 4, 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
        params: segs.map(() => gpuOps.uniform(gpu, [0, 0, 0, 0], "shared.params")),
        mSlots: gpuOps.buffer(gpu, slots * 4, "shared.merge.slots"),
        mOffs: gpuOps.buffer(gpu, (qRows + 1) * 4, "shared.merge.offs"),
        mOut: gpuOps.buffer(gpu, qRows * D * 4, "shared.merge.o"),
        mLse: gpuOps.buffer(gpu, qRows * 4, "shared.merge.lse"),
        mParams: gpuOps.uniform(gpu, [0, 0, 0xff800000, 0], "shared.merge.params"),
      }
      const mergeGroup = MERGE_BINDINGS.group(gpu.device, MERGE_BINDINGS.layout(gpu.device), {
        po: { buffer: buf.po }, pl: { buffer: buf.pl }, slots: { buffer: buf.mSlots }, offs: { buffer: buf.mOffs }, out: { buffer: buf.mOut }, lse: { buffer: buf.mLse }, params: { buffer: buf.mParams },
      })
      const groups = corpus.kv.map((x) =>
        segs.map((seg, i) =>
          SHARED_BINDINGS.group(gpu.device, layout, {
            q: { buffer: buf.q },
            rows: { buffer: buf.rows },
            items: { buffer: buf.items, offset: i * itemsPerSeg * SHARED_ITEM_WORDS * 4, size: itemsPerSeg * SHARED_ITEM_WORDS * 4 },
            ...kvEntries(x, seg),
            po: { buffer: buf.po },
            pl: { buffer: buf.pl },
            params: { buffer: buf.params[i]! },
          }),
        ),
      )
      return { buf, groups, mergeGroup }
    })
    return new SharedServer(gpu, cfg, corpus, segs, { qRows, slots, itemsPerSeg }, lanes)
  }

  /** Compiles the kernel for a row tile now (a worker does this before it says it is ready). */
  async warm(rowTile: 16 | 64): Promise<void> {
    await this.pipeline(rowTile)
  }

  /** One layer's shared attention for a plan; waits for a free lane (behind the requests before it when all are held). */
  async attend(req: SharedRequest): Promise<SharedReply> {
    const lane = this.free.shift() ?? (await new Promise<number>((resolve) => this.waiting.push(resolve)))
    this.maxInFlight = Math.max(this.maxInFlight, this.lanes.length - this.free.length)
    try {
      return await this.run(req, this.lanes[lane]!)
    } finally {
      const next = this.waiting.shift()
      if (next !== undefined) next(lane)
      else this.free.push(lane)
    }
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    destroyCorpus(this.corpus)
    for (const { buf: b } of this.lanes) for (const x of [b.q, b.rows, b.items, b.po, b.pl, b.stage, ...b.params, b.mSlots, b.mOffs, b.mOut, b.mLse, b.mParams]) x.destroy()
  }

  /** Runs `f` after every scoped call before it has settled. */
  private scoped<A>(f: () => Promise<A>): Promise<A> {
    const p = this.scopes.then(f, f)
    this.scopes = p.catch(() => undefined)
    return p
  }

  private async pipeline(rowTile: 16 | 64): Promise<GPUComputePipeline> {
    const v = sharedVariantFor(this.gpu, this.cfg.dims.headDim, rowTile)
    // the decoder's cache key: on one device both share the compiled kernel
    const p = await gpuOps.pipeline(this.gpu, `shared:${v.dim}:${v.format}:${v.rowsPerThread}:${v.dk}`, SHARED_BINDINGS, sharedWgsl(v))
    this.compiled.set(rowTile, p)
    return p
  }

  private check(req: SharedRequest): string | undefined {
    const { dims } = this.cfg
    const D = dims.headDim
    const n = planRows(req.units)
    if (this.destroyed) return "the shared server was destroyed"
    if (!Number.isInteger(req.layer) || req.layer < 0 || req.layer >= dims.layers) return `layer ${req.layer} is outside [0, ${dims.layers})`
    if (req.rowTile !== 16 && req.rowTile !== 64) return `rowTile must be 16 or 64 (got ${String(req.rowTile)})`
    if (!Number.isInteger(req.splits) || req.splits < 1) return `splits must be a positive integer (got ${req.splits})`
    if (req.q.length % D !== 0) return `q holds ${req.q.length} floats, not whole rows of ${D}`
    const nq = req.q.length / D
    if (nq > this.cap.qRows) return `${nq} query rows exceed the server's ${this.cap.qRows} (start it with the decoder's slots and maxBatchTokens)`
    if (req.rows.length !== n) return `the plan's units hold ${n} rows but the row list has ${req.rows.length}`
    if (n * req.splits > this.cap.slots) return `${n * req.splits} partial slots exceed the server's ${this.cap.slots} (start it with the decoder's slots and maxBatchTokens)`
    for (const u of req.units) {
      if (!Number.isInteger(u.chunk) || u.chunk < 0 || u.chunk >= this.corpus.chunks) return `chunk ${u.chunk} is outside the corpus's [0, ${this.corpus.chunks})`
      if (!Number.isInteger(u.kvHead) || u.kvHead < 0 || u.kvHead >= dims.kvHeads) return `KV head ${u.kvHead} is outside [0, ${dims.kvHeads})`
    }
    for (const r of req.rows) if (r >= nq) return `row ${r} is outside the ${nq} query rows sent`
    return undefined
  }

  private async run(req: SharedRequest, lane: Lane): Promise<SharedReply> {
    const { buf } = lane
    const bad = this.check(req)
    if (bad !== undefined) throw new Error(`SharedServer: ${bad}`)
    const gpu = this.gpu
    gpuOps.assertAlive(gpu)
    const t0 = process.hrtime.bigint()
    const D = this.cfg.dims.headDim
    const n = planRows(req.units) * req.splits
    const pipeline = this.compiled.get(req.rowTile) ?? (await this.scoped(() => this.pipeline(req.rowTile)))
    const q = gpu.device.queue
    const c = this.cfg.corpus!
    const items = sharedWorkItems({ units: req.units, splits: req.splits, rowTile: req.rowTile, chunkTokens: c.chunkTokens, corpusTokens: c.tokens, segments: this.segs, slotBase: 0 })
    if (req.q.length > 0) gpuOps.write(gpu, buf.q, req.q)
    if (req.rows.length > 0) gpuOps.write(gpu, buf.rows, req.rows)
    const passes: Array<{ pipeline: GPUComputePipeline; group: GPUBindGroup; workgroups: readonly [number, number?] }> = []
    items.forEach((w, i) => {
      const nitems = w.length / SHARED_ITEM_WORDS
      if (nitems > this.cap.itemsPerSeg) throw new Error(`SharedServer: ${nitems} work items exceed the preallocated ${this.cap.itemsPerSeg} (a sizing defect)`)
      if (nitems === 0) return
      q.writeBuffer(buf.items, i * this.cap.itemsPerSeg * SHARED_ITEM_WORDS * 4, new Uint32Array(w))
      q.writeBuffer(buf.params[i]!, 0, Uint32Array.of(this.cfg.dims.kvHeads, nitems, gpuOps.f32Bits(1 / Math.sqrt(D)), this.segs[i]!.unit0 * c.chunkTokens * this.cfg.dims.kvHeads))
      passes.push({ pipeline, group: lane.groups[req.layer]![i]!, workgroups: gpuOps.grid(gpu, nitems) })
    })
    const nq = req.q.length / D
    // merged: one partial per query row, its slots listed in unit, split, row order (CSR for the merge kernel)
    const out = req.merge ? { o: buf.mOut, lse: buf.mLse, n: nq } : { o: buf.po, lse: buf.pl, n }
    if (req.merge) {
      // CSR in two typed-array passes (count, then fill in the same unit, split, row order): per-row JS
      // arrays cost about 1 ms a layer request at a decode step's 4K stacked rows
      const offs = new Uint32Array(nq + 1)
      for (const r of req.rows) offs[r + 1]! += req.splits
      for (let r = 0; r < nq; r++) offs[r + 1]! += offs[r]!
      const slots = new Uint32Array(n)
      const next = offs.slice(0, nq)
      let base = 0
      let rb = 0
      for (const u of req.units) {
        for (let sp = 0; sp < req.splits; sp++) for (let i = 0; i < u.rows; i++) slots[next[req.rows[rb + i]!]!++] = base + sp * u.rows + i
        base += req.splits * u.rows
        rb += u.rows
      }
      if (n > 0) gpuOps.write(gpu, buf.mSlots, slots)
      gpuOps.write(gpu, buf.mOffs, offs)
      q.writeBuffer(buf.mParams, 0, Uint32Array.of(nq, 0, 0xff800000, 0))
      const merge = this.mergePipeline ?? (this.mergePipeline = await this.scoped(() => gpuOps.pipeline(gpu, `merge:${D}`, MERGE_BINDINGS, mergeWgsl(D))))
      passes.push({ pipeline: merge, group: lane.mergeGroup, workgroups: gpuOps.grid(gpu, nq) })
    }
    if (out.n === 0) return { o: new Float32Array(0), lse: new Float32Array(0) }
    const record = (): void => {
      const e = gpu.device.createCommandEncoder({ label: "shared server" })
      gpuOps.encode(e, passes)
      e.copyBufferToBuffer(out.o, 0, buf.stage, 0, out.n * D * 4)
      e.copyBufferToBuffer(out.lse, 0, buf.stage, out.n * D * 4, out.n * 4)
      q.submit([e.finish()])
    }
    const shape = `${req.rowTile}:${req.merge === true}`
    const t1 = process.hrtime.bigint()
    if (this.validated.has(shape)) record()
    else {
      await this.scoped(() => gpuOps.checked(gpu, "shared server attention", record))
      this.validated.add(shape)
    }
    const t2 = process.hrtime.bigint()
    const lseAt = out.n * D * 4
    await buf.stage.mapAsync(GPUMapMode.READ)
    const mapped = buf.stage.getMappedRange()
    const o = new Float32Array(mapped.slice(0, out.n * D * 4))
    const lse = new Float32Array(mapped.slice(lseAt, lseAt + out.n * 4))
    buf.stage.unmap()
    gpuOps.assertAlive(gpu)
    const t3 = process.hrtime.bigint()
    this.phaseNs.encode += Number(t1 - t0)
    this.phaseNs.scopes += Number(t2 - t1)
    this.phaseNs.readback += Number(t3 - t2)
    this.requests++
    return { o, lse }
  }
}
