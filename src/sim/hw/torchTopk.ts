import type { GpuSpec } from "../../core/hardware.js"
import type { Launch } from "./launch.js"
import type { ModelParams } from "./modelParams.js"

/** One `torch.topk(x, k, dim=-1)` call (sorted, largest): `slices` rows of `sliceSize` values, `elemBytes` each. */
export interface TopkCall {
  readonly slices: number
  readonly sliceSize: number
  readonly k: number
  readonly elemBytes: number
  readonly label: string
  readonly klass: string
  readonly repeat: number
}

// Threads of mbtopk's blocks, and the registers per thread its launcher assumes when it sizes the grid
// (get_items_per_thread: "from nsight launch statistics"); 64K registers per SM on every NVIDIA GPU since Volta.
const MB_THREADS = 256
const MB_REGS_PER_THREAD = 40
const REGS_PER_SM = 65_536
const MAX_BLOCKS_PER_SM = 32
const MAX_THREADS_PER_SM = 2048
const DIGITS = 256 // mbtopk's radix: 8 bits per pass

// Thread instructions per element, counted in the kernels' source. Priced as SIMT math with one instruction = one
// FMA slot (2 FLOP), so the datasheet SIMT fp32 rate (256 FLOP/cycle/SM on Hopper) is the SM's issue rate
// (4 schedulers × 32 lanes) and the class's fitted compute efficiency reads as the issue rate these kernels reach.
const FLOP_PER_INSTR = 2
// sbtopk countRadixUsingMask, per element and 2-bit digit: load, convert, mask test, bit-field extract, then per
// each of the 4 digit values a compare, ballot, popc and add.
const SB_COUNT = 24
// sbtopk gather loop, per element: load, convert, compare, exclusiveBinaryPrefixScan (ballot, 2 popc, warp sums
// through shared memory), conditional value and index store.
const SB_GATHER = 20
// mbtopk computeBlockDigitCounts, per element: load, convert, mask test, bit-field extract, shared atomicAdd.
const MB_COUNT = 10
// mbtopk gatherTopK, per element: load, convert, two compares, two cub BlockScan exclusive sums, stores.
const MB_GATHER = 36
// computeDigitCumSum and computeBlockwiseWithinKCounts, per count read: load, add (and compare for within-k).
const MB_COUNT_READ = 4
// sortKeyValueInplace, per element and step: a compare-exchange (bitonic, merge) or a radix pass's rank and
// scatter of a key and its int64 index through shared memory.
const SORT_STEP = 10

const cdiv = (a: number, b: number): number => Math.ceil(a / b)

/**
 * The in-place sort of the k results per row (`sortKeyValueInplace`, Sort.cu): a bitonic network over 32 slots
 * for k <= 32 (15 compare-exchange stages), a warp merge sort over 128 for k <= 128 (7 merge stages), else a
 * cub block radix sort of 4 bits per pass, 2 steps each (rank, scatter), over the next power of two but at
 * least 1024 slots (MediumRadixSort's fixed sizes 1024, 2048, 4096). The padded slots run the network too.
 */
const sortNetwork = (k: number, keyBits: number): { padded: number; steps: number } => {
  if (k <= 32) return { padded: 32, steps: 15 }
  if (k <= 128) return { padded: 128, steps: 7 }
  return { padded: Math.max(1024, 2 ** Math.ceil(Math.log2(k))), steps: 2 * Math.ceil(keyBits / 4) }
}

/**
 * PyTorch's choice between one block per row (sbtopk) and several (mbtopk), `should_use_multiblock` in
 * aten/src/ATen/native/cuda/TensorTopK.cu (thresholds from pytorch/pytorch#74267). The router's rows are
 * (request, KV head) pairs: 128 to 32768 rows of 64 to 4096 chunks, which lands on both sides.
 */
const usesMultiBlock = (slices: number, size: number): boolean =>
  (slices <= 20 && size >= 20_000) || (slices > 20 && slices <= 40 && size >= 10_000) || (slices > 40 && slices <= 80 && size >= 8000)
  || (slices > 80 && slices < 200 && size >= 5000) || (slices >= 200 && slices < 800 && size >= 3000)
  || (slices >= 800 && slices <= 4000 && size >= 800) || (slices > 4000 && size >= 400)

/**
 * The kernels one eager `torch.topk` runs on a CUDA device, as PyTorch 2.x launches them
 * (aten/src/ATen/native/cuda/TensorTopK.{cu,cpp}, Sort.cu), priced as SIMT instructions (counts above):
 * - one block per row (`sbtopk::gatherTopK`): a radix select of 2 bits per pass (8 passes over the row for a
 *   16-bit type), then a loop writing the values above the k-th and one topping up with copies of it (it stops
 *   once k are written: half the row on average). Each pass ends in block-wide barriers and a shared-memory
 *   reduction, a latency no co-resident work hides from the pass itself: `selectPassLatencyCycles` per pass,
 *   paid like a pipeline fill (once per round of co-resident blocks), plus `selectPassCyclesPerWarp` per warp of
 *   the block (each warp's lane-0 atomics on the shared digit counters serialise). The row comes from HBM once; later passes
 *   hit L1/L2.
 * - several blocks per row (`mbtopk`, for long rows or many of them): a fill and two memsets, then per 8-bit
 *   digit (2 for a 16-bit type) a per-block histogram, a per-row cumulative sum and a per-block within-k count;
 *   a k-th count, two CUB scans by key (an init and a scan kernel each) and the gather: 15 launches, the row
 *   read from HBM by each histogram and by the gather.
 * - then the k results per row are sorted in place (`sortKeyValueInplace`, see `sortNetwork`), one launch.
 * Which path runs sets the launch count (4 or 18 for the router with its GEMM and group sum); the single
 * `router.topk` pass this replaced priced the rows' bytes and left the rest to the fit, which landed on the
 * grid's memory floor (held-out median 41%).
 * @example torchTopkLaunches({ slices: 8192, sliceSize: 4096, k: 256, elemBytes: 2, label: "router.topk", klass: "router.torch-eager", repeat: 1 }, GPU_PRESETS.H200, DEFAULT_MODEL_PARAMS).length // 16
 */
export const torchTopkLaunches = (c: TopkCall, gpu: GpuSpec, p: ModelParams): Launch[] => {
  const pass = (label: string, tiles: number, instructions: number, bytes: number, tilesPerSm: number): Launch => ({
    label: `${c.label}.${label}`, klass: c.klass, groups: [{ tiles: Math.max(1, tiles), flops: instructions * FLOP_PER_INSTR, bytes }],
    tilesPerSm, dtype: "fp32", unit: "simt", fillCycles: p.fillCycles, repeat: c.repeat,
  })
  const bits = 8 * c.elemBytes
  const outBytes = c.k * (c.elemBytes + 8) // values and int64 indices
  const { padded: sortPadded, steps: sortSteps } = sortNetwork(c.k, bits)
  const sort = pass("sort", c.slices, sortPadded * sortSteps * SORT_STEP, 2 * outBytes, 8)
  if (!usesMultiBlock(c.slices, c.sliceSize)) {
    const threads = Math.min(cdiv(c.sliceSize, 32) * 32, 1024)
    const padded = cdiv(c.sliceSize, threads) * threads // every thread of the block runs each pass's loop
    const perSm = Math.min(MAX_BLOCKS_PER_SM, Math.floor(MAX_THREADS_PER_SM / threads))
    const passes = bits / 2 + 1.5
    const select = pass("select", c.slices, padded * ((bits / 2) * SB_COUNT + 1.5 * SB_GATHER), c.sliceSize * c.elemBytes + outBytes, perSm)
    const passCycles = p.selectPassLatencyCycles + (threads / 32) * p.selectPassCyclesPerWarp
    return [{ ...select, fillCycles: p.fillCycles + passes * passCycles }, sort]
  }
  const blocksPerSm = Math.min(Math.floor(REGS_PER_SM / (MB_REGS_PER_THREAD * MB_THREADS)), MAX_BLOCKS_PER_SM)
  const ipt = Math.max(4, Math.min(64, cdiv(c.sliceSize * c.slices, gpu.sms * blocksPerSm * MB_THREADS)))
  const perRow = cdiv(c.sliceSize, ipt * MB_THREADS)
  const blocks = c.slices * perRow
  const items = c.sliceSize / perRow // one block's share of its row
  const launches: Launch[] = [
    pass("fill", cdiv(c.slices, 512), 512, 512 * 4, 8),
    pass("memset.cumsum", cdiv(c.slices * DIGITS, 1024), 1024, 1024 * 4, 8),
    pass("memset.withinK", cdiv(blocks, 1024), 1024, 1024 * 4, 8),
  ]
  for (let d = 0; d < bits / 8; d++) {
    launches.push(
      pass("digitCounts", blocks, items * MB_COUNT, items * c.elemBytes + DIGITS * 2, blocksPerSm),
      pass("digitCumSum", c.slices, perRow * DIGITS * MB_COUNT_READ, perRow * DIGITS * 2 + DIGITS * 4, 8),
      pass("withinKCounts", blocks, DIGITS * MB_COUNT_READ, DIGITS * (2 + 4 * 2), 8),
    )
  }
  const kthTiles = cdiv(c.slices, 256)
  const scanTiles = cdiv(blocks, 2048)
  const scan = [pass("scanByKey.init", scanTiles, 256, 64, 8), pass("scanByKey", scanTiles, (blocks / scanTiles) * MB_COUNT_READ, (blocks / scanTiles) * 8, 8)]
  launches.push(
    pass("kthCounts", kthTiles, (blocks / kthTiles) * MB_COUNT_READ, (blocks / kthTiles) * (2 + 4 + 4), 8),
    ...scan, ...scan,
    pass("gather", blocks, items * MB_GATHER, items * c.elemBytes + outBytes / perRow, blocksPerSm),
    sort,
  )
  return launches
}
