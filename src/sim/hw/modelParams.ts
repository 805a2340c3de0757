/**
 * Structural constants of the cycle model that no datasheet gives. Each is a lead, named here so a
 * report can quote it and a test can vary it.
 * @example { ...DEFAULT_MODEL_PARAMS, perSmBandwidthFactor: 2 }
 */
export interface ModelParams {
  /**
   * Most HBM bandwidth one SM can pull, as a multiple of its fair share (bandwidth / SMs). Little's
   * law: ~100-150 KB in flight per SM over ~0.7 µs of DRAM latency is ~4× the H200's 36 GB/s share.
   */
  readonly perSmBandwidthFactor: number
  /** Cycles of a tile's prologue (first TMA loads in flight before math starts): ~0.7 µs of DRAM latency. */
  readonly fillCycles: number
  /** Tiles above which the event-driven scheduler merges consecutive tiles (keeps it fast). */
  readonly eventMaxTiles: number
  /** Flash-decoding: aim for this many tiles per SM when choosing the KV split. */
  readonly splitTargetTilesPerSm: number
  /** Smallest KV slice a split tile covers, tokens. */
  readonly minSplitTokens: number
  /**
   * Cycles one pass of PyTorch's single-block radix select (sbtopk) waits at its barriers and shared-memory
   * reduction whatever the row length (src/sim/hw/torchTopk.ts): three __syncthreads and the count read-back after
   * an L1/L2 load. Paid like a pipeline fill. With `selectPassCyclesPerWarp`, the fit-set rms minimum of
   * router.torch-eager over 500-1100 × 0-40 (npm run bench:model's split; 900 and 15).
   */
  readonly selectPassLatencyCycles: number
  /**
   * Largest storage binding moska's WebGPU kernels read K or V through, bytes: Dawn's
   * maxStorageBufferBindingSize on the H200, 2 GiB − 4 (src/gpu/kvBuffers.ts). Shared attention runs one
   * dispatch per binding of whole chunks (tiling.ts `kvSegmentChunks`).
   */
  readonly kvBindingBytes: number
  /**
   * Cycles each warp of the single-block select adds to a pass: every warp's lane 0 adds its 4 digit counts to the
   * same 4 shared-memory counters (countRadixUsingMask), and atomics on one address serialise, so a 1024-thread
   * block (32 warps) waits longer per pass than a 64-thread one (2 warps). Without it the router's 64-value rows
   * were priced 10-12% high and its 1024-value rows 12% low.
   */
  readonly selectPassCyclesPerWarp: number
}

export const DEFAULT_MODEL_PARAMS: ModelParams = {
  perSmBandwidthFactor: 4,
  fillCycles: 1400,
  eventMaxTiles: 20_000,
  splitTargetTilesPerSm: 2,
  minSplitTokens: 256,
  selectPassLatencyCycles: 900,
  kvBindingBytes: 2 ** 31 - 4,
  selectPassCyclesPerWarp: 15,
}
