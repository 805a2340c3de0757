import { bytesPer, type DType } from "../../core/dtype.js"
import type { GpuSpec } from "../../core/hardware.js"
import type {
  DecodeAttentionSpec, GemmSpec, KernelSpec, MergeSpec, RouterSpec, SharedAttentionSpec,
} from "../../core/kernels.js"
import type { Launch, TileGroup, Tiling } from "./launch.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "./modelParams.js"
import { torchTopkLaunches } from "./torchTopk.js"

/**
 * Tiling strategies: how each kernel kind is split into thread-block tiles. Every kind has a
 * `default` (the kernel moska would run); measured library kernels have their own names so a
 * measurement is priced with the tiling that actually ran:
 * - gemm: `default` / `cublas` / `cublaslt` (128×256, 256×128 or 128×128 tiles, bf16 `cublas` nvjet's measured tiles; 64×64 for skinny M (32×64 for bf16 `cublas` where that avoids split-K), split-K + a reduce launch when the tiles fill <= half the SMs)
 * - decodeAttention: `default` / `sdpa` (flash-decoding: split-K over tokens + reduce)
 * - sharedAttention: `default` (moska's kernels: GQA group packed as 64-row tiles, KV split as moska's host splits it
 *   plus a reduce launch, one dispatch per KV binding: kvSegmentUnits), `sdpa-cudnn` (packed rows, one tile covers the whole chunk), `sdpa-flash` (the same, or
 *   64-row tiles over a KV split + a combine launch where FlashAttention-2's heuristic splits: flashNumSplits),
 *   `sdpa-unpacked` (one tile per query head: rows = queries, the GQA group not packed)
 * - router: `default` (scores GEMM + fused group-sum/top-k), `torch-eager` (bmm, sum, and topk's own launches: torchTopk.ts)
 * - merge: `default` (one fused pass), `torch-eager` (amax, exp, mul, sum, sum, div)
 * Transfers are not tiled (see cycleCostModel).
 * @example tileKernel({ kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "bf16", count: 32 }, GPU_PRESETS.H200)
 */
export const tileKernel = (spec: KernelSpec, gpu: GpuSpec, impl = "default", p: ModelParams = DEFAULT_MODEL_PARAMS): Tiling => {
  switch (spec.kind) {
    case "gemm": return gemmTiling(spec, gpu, impl, p)
    case "decodeAttention": return decodeTiling(spec, gpu, impl, p)
    case "sharedAttention": return sharedTiling(spec, gpu, impl, p)
    case "router": return routerTiling(spec, gpu, impl, p)
    case "merge": return mergeTiling(spec, gpu, impl, p)
    case "transfer": throw new RangeError("transfers are priced by the link model, not tiled")
  }
}

/** Implementations each kind knows, for `--impl` validation and docs. */
export const IMPLS: Record<Exclude<KernelSpec["kind"], "transfer">, readonly string[]> = {
  gemm: ["default", "cublas", "cublaslt"],
  decodeAttention: ["default", "sdpa"],
  sharedAttention: ["default", "sdpa-flash", "sdpa-cudnn", "sdpa-unpacked"],
  router: ["default", "torch-eager"],
  merge: ["default", "torch-eager"],
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b)
const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x))
const klassOf = (kind: string, impl: string, dtype?: DType): string => `${kind}.${impl}${dtype ? `.${dtype}` : ""}`

interface GemmShape { readonly m: number; readonly n: number; readonly k: number; readonly batch: number }

// Output tiles a library GEMM chooses among for M > 64 (cuBLAS/CUTLASS Hopper configurations).
const GEMM_TILES: ReadonlyArray<readonly [number, number]> = [[128, 256], [256, 128], [128, 128]]

/**
 * The output tile with the fewest wave-quantised tile-FLOPs: waves (⌈tiles / SMs⌉) × tile area, the
 * larger tile on ties. A fixed 128×256 tile ran 1024×6144 in 2 waves of 192 tiles (the second 45%
 * full) and was priced 41% above its measurement; libraries pick a tile that fills the waves.
 */
const gemmTile = (s: GemmShape, gpu: GpuSpec): readonly [number, number] => {
  let best: readonly [number, number] = GEMM_TILES[0]!
  let bestCost = Infinity
  for (const t of GEMM_TILES) {
    if (t[1] === 256 && s.n < 256) continue
    if (t[0] === 256 && s.m < 256) continue
    const tiles = cdiv(s.m, t[0]) * cdiv(s.n, t[1]) * s.batch
    const cost = Math.ceil(tiles / gpu.sms) * t[0] * t[1]
    if (cost < bestCost) { best = t; bestCost = cost }
  }
  return best
}

// The M×N output tiles cuBLAS's nvjet kernels used for bf16 GEMMs with M > 64 on the H200
// (data/measurements/h200-torch-fidelity2.json meta.gemmKernels: `nvjet_sm90_tst_<N>x<M>_...`, the first
// number along torch's N since cuBLAS computes the transposed product). Never 256 rows along M.
const NVJET_BF16_TILES: ReadonlyArray<readonly [number, number]> = [
  [64, 64], [64, 96], [64, 128], [64, 448], [128, 96], [128, 128], [128, 192], [128, 256], [128, 320], [192, 128], [192, 192],
]

/**
 * cuBLAS's bf16 tile for M > 64: the fewest wave-quantised tile-FLOPs, each tile's weighted by 1/√ of its
 * arithmetic intensity (tm·tn / (tm + tn): a small tile re-reads more operand bytes per FLOP), the first in
 * the list on ties. It names the tile nvjet ran for 34 of the 40 bf16 shapes with M > 64 in meta.gemmKernels;
 * the misses: two split-K choices (down M=128, 256), one transpose (128×192 for 192×128 at o M=768), two
 * shapes of 11-25 waves where nvjet's tile costs < 3% more by this rule (qkv M=8192, gateup M=4096), and
 * gateup M=128 (nvjet's 64×448, 8% more by this rule). The fewest-waves × area rule alone named 21.
 */
const nvjetBf16Tile = (s: GemmShape, gpu: GpuSpec): readonly [number, number] => {
  let best: readonly [number, number] = NVJET_BF16_TILES[0]!
  let bestCost = Infinity
  for (const t of NVJET_BF16_TILES) {
    const tiles = cdiv(s.m, t[0]) * cdiv(s.n, t[1]) * s.batch
    const intensity = (t[0] * t[1]) / (t[0] + t[1])
    const cost = (Math.ceil(tiles / gpu.sms) * t[0] * t[1]) / Math.sqrt(intensity)
    if (cost < bestCost) { best = t; bestCost = cost }
  }
  return best
}

/**
 * Tiles of a (batched) GEMM: the library tile that fills the waves best for M > 64; 64×64 when M ≤ 64,
 * split-K only when those tiles fill at most half the SMs. Both from the cuBLAS kernels the H200 ran
 * (data/measurements/h200-torch-fidelity2.json meta.gemmKernels): at M ≤ 64 nvjet picks a 64-wide N
 * tile (`tst_64x8`, `64x16`, `64x64`) and splits K for 16-64 such tiles (o, kv, down projections) but
 * not for 96 or 128 (qkv, 8192²). A split-K GEMM is two launches, as cuBLAS runs it (the profiler names in
 * data/measurements/h200-torch-fidelity2.json meta.gemmKernels: every `_splitK_` nvjet kernel is
 * followed by a `cublasLt::splitKreduce_kernel`): the tiles write fp32 partials, the reduction
 * reads them and writes the output, and pays its own launch.
 */
const gemmLaunches = (s: GemmShape, dtype: DType, gpu: GpuSpec, label: string, klass: string, repeat: number, p: ModelParams, nvjet = false): Launch[] => {
  const e = bytesPer[dtype]
  const skinny = s.m <= 64
  // nvjet's bf16 kernels halve the row tile to 32 where that fills the SMs and so avoids split-K: o at M = 64 ran
  // `tst_64x32` on 128 tiles, no splitKreduce (meta.gemmKernels); 64-row tiles and a split priced it 20% high
  const halfRows = nvjet && s.m > 32 && 2 * cdiv(s.m, 64) * cdiv(s.n, 64) * s.batch <= gpu.sms && 2 * cdiv(s.m, 32) * cdiv(s.n, 64) * s.batch > gpu.sms
  const [tm, tn] = skinny ? [halfRows ? 32 : 64, 64] : nvjet ? nvjetBf16Tile(s, gpu) : gemmTile(s, gpu)
  const tilesPerSm = skinny ? 2 : 1
  const mT = cdiv(s.m, tm)
  const nT = cdiv(s.n, tn)
  const base = mT * nT * s.batch
  const splitK = 2 * base > gpu.sms ? 1 : clamp(Math.floor((gpu.sms * tilesPerSm) / base), 1, Math.max(1, Math.floor(s.k / 512)))
  const tiles = base * splitK
  const kSlice = s.k / splitK
  // Concurrently resident tiles cover a near-square block of the output grid (rasterised launch order):
  // a row slice of A is re-read by the tiles beside it, a column slice of B by the tiles above it.
  const resident = Math.min(tiles, gpu.sms * tilesPerSm)
  const cols = Math.min(nT, Math.ceil(Math.sqrt(resident)))
  const rows = Math.min(mT, Math.max(1, Math.floor(resident / cols)))
  const rowsA = Math.min(s.m, tm)
  const colsB = Math.min(s.n, tn)
  const aBytes = (rowsA * kSlice * e) / cols
  const bBytes = (kSlice * colsB * e) / rows
  const outBytes = splitK > 1 ? rowsA * colsB * 4 : rowsA * colsB * 2
  const flops = 2 * tm * tn * kSlice
  const main: Launch = { label, klass, groups: [{ tiles, flops, bytes: aBytes + bBytes + outBytes }], tilesPerSm, dtype, unit: "tensor", fillCycles: p.fillCycles, repeat }
  if (splitK === 1) return [main]
  // The reduction re-reads the partials: while they all fit in half the L2 (the other half streams A
  // and B) the re-read hits L2, so HBM sees only the output write.
  const partialsL2 = splitK * s.m * s.n * s.batch * 4 <= gpu.l2Bytes / 2
  const reduce = simtPass({
    label: `${label}.splitKreduce`, klass, rows: s.m * s.batch, rowsPerTile: Math.max(1, Math.floor(16384 / s.n)),
    bytesPerRow: s.n * ((partialsL2 ? 0 : splitK * 4) + 2), flopsPerRow: s.n * splitK, repeat, p,
  })
  return [main, reduce]
}

const gemmTiling = (spec: GemmSpec, gpu: GpuSpec, impl: string, p: ModelParams): Tiling => {
  const klass = klassOf("gemm", impl, spec.dtype)
  return {
    impl, klass,
    // the measured nvjet tiles for the library's bf16 GEMMs; moska's `default` and other types keep the generic set
    launches: gemmLaunches({ m: spec.m, n: spec.n, k: spec.k, batch: 1 }, spec.dtype, gpu, spec.label ?? "gemm", klass, spec.count, p, impl === "cublas" && spec.dtype === "bf16"),
    usefulFlops: 2 * spec.m * spec.n * spec.k * spec.count,
  }
}

/** Elementwise / reduction pass: SIMT tiles of `rowsPerTile` rows. */
const simtPass = (o: {
  label: string; klass: string; rows: number; rowsPerTile: number; bytesPerRow: number; flopsPerRow: number; repeat: number; p: ModelParams
}): Launch => {
  const tiles = Math.max(1, cdiv(o.rows, o.rowsPerTile))
  const r = o.rows / tiles
  return {
    label: o.label, klass: o.klass, groups: [{ tiles, flops: r * o.flopsPerRow, bytes: r * o.bytesPerRow }],
    tilesPerSm: 8, dtype: "fp32", unit: "simt", fillCycles: o.p.fillCycles, repeat: o.repeat,
  }
}

/** LSE merge of `ways` fp32 partials per row into one output row (bf16). */
const mergePass = (label: string, klass: string, rows: number, ways: number, hd: number, repeat: number, p: ModelParams): Launch =>
  simtPass({ label, klass, rows, rowsPerTile: 16, bytesPerRow: ways * (hd + 1) * 4 + hd * 2, flopsPerRow: ways * (3 * hd + 4), repeat, p })

/**
 * Where attention's matrix products run: tensor cores for 16- and 8-bit math; SIMT for fp32, which no
 * attention kernel runs on tensor cores (FlashAttention and cuDNN take 16/8-bit inputs; moska's WebGPU
 * f32 kernels are SIMT). Pricing fp32 attention at the tensor-core fp32 rate put moska's own f32 shared
 * kernel at 2% "efficiency", below the calibration's search floor (docs/model-fidelity.md).
 */
const attentionUnit = (math: DType): "tensor" | "simt" => (math === "fp32" ? "simt" : "tensor")

const decodeTiling = (spec: DecodeAttentionSpec, gpu: GpuSpec, impl: string, p: ModelParams): Tiling => {
  const klass = klassOf("decodeAttention", impl)
  const G = spec.qHeads / spec.kvHeads
  const e = bytesPer[spec.kvDtype]
  const hd = spec.headDim
  const units = spec.requests * spec.kvHeads
  const nsplit = clamp(cdiv(p.splitTargetTilesPerSm * gpu.sms, units), 1, Math.max(1, cdiv(spec.maxTokens, p.minSplitTokens)))
  const splitTokens = cdiv(spec.maxTokens, nsplit)
  const rowsPad = Math.max(16, G) // mma.m16n8k16: the GQA group's rows padded to 16
  const group = (requests: number, tokens: number): TileGroup | undefined => {
    if (requests <= 0 || tokens <= 0) return undefined
    const perReq = cdiv(tokens, splitTokens)
    const t = tokens / perReq
    return {
      tiles: requests * spec.kvHeads * perReq,
      flops: 4 * rowsPad * hd * t,
      bytes: t * hd * 2 * e + G * hd * 2 + (nsplit > 1 ? G * (hd + 1) * 4 : G * hd * 2),
    }
  }
  const restTokens = spec.requests > 1 ? (spec.totalTokens - spec.maxTokens) / (spec.requests - 1) : 0
  const groups = [group(1, spec.maxTokens), group(spec.requests - 1, restTokens)].filter((g): g is TileGroup => g !== undefined)
  const launches: Launch[] = [{
    label: "decode.attention", klass, groups, tilesPerSm: 4, dtype: spec.mathDtype, unit: attentionUnit(spec.mathDtype), fillCycles: p.fillCycles, repeat: spec.layers,
  }]
  if (nsplit > 1) launches.push(mergePass("decode.reduce", klass, spec.requests * spec.qHeads, nsplit, hd, spec.layers, p))
  return { impl, klass, launches, usefulFlops: 4 * spec.qHeads * hd * spec.totalTokens * spec.layers }
}

/**
 * KV splits ATen's FlashAttention-2 forward (`mha_fwd` -> `set_params_splitkv`) picks with no dropout:
 * one split when the (batch x heads x 64-row query blocks) fill 80% of twice the SMs (it counts two
 * 128-thread CTAs per SM); otherwise, over the split counts up to min(128, 2 x SMs, 128-token KV blocks)
 * that change the blocks per split, the smallest whose wave fill (work / ⌈work⌉ in waves of 2 x SMs)
 * reaches 85% of the best. More than one split runs `flash_fwd_splitkv_kernel` (64-row query tiles)
 * and a combine kernel. Only the measured sdpa-flash shape with 128 such blocks splits (2 ways):
 * priced unsplit, its 64 query rows padded to a 128-row tile made it compute-bound at +67%
 * (docs/model-fidelity.md, shared-sdpa-flash-s262144-c16384-b16), where it runs at HBM speed.
 */
const flashNumSplits = (mBlocks: number, sms: number, kvTokens: number): number => {
  const slots = 2 * sms
  if (mBlocks >= 0.8 * slots) return 1
  const nBlocks = cdiv(kvTokens, 128)
  const most = Math.min(128, slots, nBlocks)
  const fill = (n: number): number => { const waves = (mBlocks * n) / slots; return waves / Math.ceil(waves) }
  // a split count whose blocks per split equal the previous count's is the same split
  const eligible = (n: number): boolean => n === 1 || cdiv(nBlocks, n) !== cdiv(nBlocks, n - 1)
  let best = 0
  for (let n = 1; n <= most; n++) if (eligible(n)) best = Math.max(best, fill(n))
  for (let n = 1; n <= most; n++) if (eligible(n) && fill(n) >= 0.85 * best) return n
  return 1
}

/**
 * The routed units of each dispatch moska's WebGPU host runs for shared attention (src/gpu/kvBuffers.ts
 * `kvSegments`): K and V are bound through storage bindings of at most `p.kvBindingBytes`, each holding whole
 * chunks (all KV heads) and filled to the limit, a smaller one last; each binding is its own dispatch, and they
 * run one after another. The spec does not say where the routed chunks lie, so they are taken as
 * ⌈units / KV heads⌉ consecutive chunks, each bin's units spread over them in proportion: exact for dense
 * attention, fewer dispatches than the host runs when routing leaves chunks out. On the H200 a 4096-token f32
 * chunk is 16 MiB, so 1M tokens run as 127 + 127 + 2 chunks, and the last dispatch's 16 workgroups (b = 16:
 * one per unit) cost a whole workgroup time on an almost idle GPU: priced as one launch, those shapes were
 * 10% under their measurements (data/measurements/h200-webgpu-f32*.json).
 * Returns, per dispatch, the units of each bin.
 */
const kvSegmentUnits = (bins: ReadonlyArray<{ queries: number; units: number }>, spec: SharedAttentionSpec, p: ModelParams): number[][] => {
  const chunks = Math.max(1, Math.ceil(bins.reduce((s, b) => s + b.units, 0) / spec.kvHeads))
  const chunkBytes = spec.chunkTokens * spec.kvHeads * spec.headDim * bytesPer[spec.kvDtype]
  const perSeg = Math.max(1, Math.floor(p.kvBindingBytes / chunkBytes))
  const segs: number[][] = []
  for (let c0 = 0; c0 < chunks; c0 += perSeg) {
    const c1 = Math.min(chunks, c0 + perSeg)
    segs.push(bins.map((b) => Math.round((b.units * c1) / chunks) - Math.round((b.units * c0) / chunks)))
  }
  return segs
}

// moska's WebGPU host splits a chunk's keys until the launch has about this many workgroups, into slices of at
// least 4 key tiles of 64 (src/gpu/shared/sharedAttention.ts `sharedShape`).
const SHARED_SPLIT_TARGET_WORKGROUPS = 1024
const SHARED_MIN_SPLIT_KEYS = 256

const sharedTiling = (spec: SharedAttentionSpec, gpu: GpuSpec, impl: string, p: ModelParams): Tiling => {
  const klass = klassOf("sharedAttention", impl)
  const G = spec.groupSize
  const hd = spec.headDim
  const e = bytesPer[spec.kvDtype]
  const eq = 2 // queries arrive in bf16
  const bins = spec.histogram.filter((b) => b.queries > 0 && b.units > 0)
  const unpacked = impl === "sdpa-unpacked"
  const split = impl === "default"
  // FlashAttention-2's split-KV choice counts 64-row query blocks over all units (one bin in every measured shape)
  const flashSplits = impl === "sdpa-flash"
    ? flashNumSplits(bins.reduce((s, b) => s + b.units * cdiv(b.queries * G, 64), 0), gpu.sms, spec.chunkTokens)
    : 1
  // rows of one unit's GEMM, and how they are cut into row tiles
  const shape = (q: number) => {
    const rows = unpacked ? q : q * G
    // moska's kernels stack 64 rows per workgroup (the f32 WGSL kernel from 32 rows a unit on, the int8 and f16
    // tensor-core kernels always); a unit with more rows runs several workgroups side by side
    const tileRows = split || flashSplits > 1 ? 64 : 128
    const rowTiles = cdiv(rows, tileRows) * (unpacked ? G : 1)
    return { rows: Math.min(rows, tileRows), tileRows, rowTiles }
  }
  const baseTiles = bins.reduce((s, b) => s + b.units * shape(b.queries).rowTiles, 0)
  const nsplit = split
    ? clamp(cdiv(SHARED_SPLIT_TARGET_WORKGROUPS, Math.max(1, baseTiles)), 1, Math.max(1, cdiv(spec.chunkTokens, SHARED_MIN_SPLIT_KEYS)))
    : flashSplits
  const tokens = spec.chunkTokens / nsplit
  const anySmallRows = bins.some((b) => shape(b.queries).tileRows === 64)
  const tilesPerSm = anySmallRows ? 2 : 1
  const resident = gpu.sms * tilesPerSm
  const group = (b: { queries: number; units: number }): TileGroup => {
    const s = shape(b.queries)
    // the row tiles of one (chunk, KV head, split) run side by side: the K/V slice comes from HBM once
    const reuse = Math.min(s.rowTiles, resident)
    return {
      tiles: b.units * s.rowTiles * nsplit,
      flops: 4 * s.tileRows * hd * tokens,
      bytes: (tokens * hd * 2 * e) / reuse + s.rows * hd * eq + s.rows * (nsplit > 1 ? (hd + 1) * 4 : hd * 2),
    }
  }
  const attention = (label: string, units: readonly number[]): Launch => ({
    label, klass, groups: bins.map((b, i) => group({ queries: b.queries, units: units[i]! })).filter((g) => g.tiles > 0), tilesPerSm,
    dtype: spec.mathDtype, unit: attentionUnit(spec.mathDtype), fillCycles: p.fillCycles, repeat: spec.layers,
  })
  // moska's kernel runs one dispatch per KV binding (kvSegmentUnits); the library kernels bind the whole cache
  const launches: Launch[] = split
    ? kvSegmentUnits(bins, spec, p).filter((u) => u.some((n) => n > 0)).map((u, i) => attention(i === 0 ? "shared.attention" : `shared.attention.${i}`, u))
    : [attention("shared.attention", bins.map((b) => b.units))]
  const rowsTotal = bins.reduce((s, b) => s + b.units * b.queries * G, 0)
  if (nsplit > 1) launches.push(mergePass("shared.reduce", klass, rowsTotal, nsplit, hd, spec.layers, p))
  const useful = bins.reduce((s, b) => s + 4 * b.units * b.queries * G * hd * spec.chunkTokens, 0) * spec.layers
  return { impl, klass, launches, usefulFlops: useful }
}

const routerTiling = (spec: RouterSpec, gpu: GpuSpec, impl: string, p: ModelParams): Tiling => {
  const klass = klassOf("router", impl)
  const rows = spec.requests * spec.groupSize
  const scores = gemmLaunches({ m: rows, n: spec.chunks, k: spec.headDim, batch: spec.kvHeads }, spec.dtype, gpu, "router.scores", klass, spec.layers, p)
  const perReqHead = spec.requests * spec.kvHeads
  const passes = Math.max(1, Math.ceil(Math.log2(Math.max(2, spec.topK)) / 4)) // radix select: 4 bits per pass
  const launches: Launch[] = impl === "torch-eager"
    ? [
        ...scores,
        simtPass({ label: "router.groupsum", klass, rows: perReqHead, rowsPerTile: 4, bytesPerRow: spec.chunks * (spec.groupSize + 1) * 2, flopsPerRow: spec.chunks * spec.groupSize, repeat: spec.layers, p }),
        ...torchTopkLaunches({ slices: perReqHead, sliceSize: spec.chunks, k: spec.topK, elemBytes: bytesPer[spec.dtype], label: "router.topk", klass, repeat: spec.layers }, gpu, p),
      ]
    : [
        ...scores,
        simtPass({ label: "router.topk", klass, rows: perReqHead, rowsPerTile: 1, bytesPerRow: spec.chunks * spec.groupSize * 2 + spec.topK * 4, flopsPerRow: spec.chunks * (spec.groupSize + 8 * passes), repeat: spec.layers, p }),
      ]
  return { impl, klass, launches, usefulFlops: 2 * rows * spec.chunks * spec.headDim * spec.kvHeads * spec.layers }
}

const mergeTiling = (spec: MergeSpec, _gpu: GpuSpec, impl: string, p: ModelParams): Tiling => {
  const klass = klassOf("merge", impl)
  const { rows, ways, headDim: hd, layers } = spec
  const pass = (label: string, bytesPerRow: number, flopsPerRow: number) =>
    simtPass({ label, klass, rows, rowsPerTile: 16, bytesPerRow, flopsPerRow, repeat: layers, p })
  const launches: Launch[] = impl === "torch-eager"
    ? [
        pass("merge.amax", ways * 4 + 4, ways),
        pass("merge.exp", ways * 4 * 2 + 4, ways * 4),
        pass("merge.mul", ways * hd * 4 * 2 + ways * 4, ways * hd),
        pass("merge.sum", ways * hd * 4 + hd * 4, ways * hd),
        pass("merge.wsum", ways * 4 + 4, ways),
        pass("merge.div", hd * 4 * 2 + 4, hd),
      ]
    : [mergePass("merge", klass, rows, ways, hd, layers, p)]
  return { impl, klass, launches, usefulFlops: rows * ways * (3 * hd + 4) * layers }
}
