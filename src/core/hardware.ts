import type { DType } from "./dtype.js"

/**
 * One accelerator as the cost models see it. The roofline model reads only the aggregate rates;
 * the cycle-level model (src/sim/hw) also reads the per-SM fields. Every number names its source.
 * @example GPU_PRESETS.H200.hbmBandwidthBps // 4.8e12
 */
export interface GpuSpec {
  readonly name: string
  /** HBM capacity in bytes. */
  readonly hbmBytes: number
  /** HBM bandwidth in bytes per second (datasheet unless calibrated). */
  readonly hbmBandwidthBps: number
  /** Dense tensor-core rate in FLOP/s (or OP/s for int8) by math type; absent = no tensor path. */
  readonly tensorFlops: Partial<Record<DType, number>>
  /** Non-tensor (SIMT/CUDA-core) FP32 rate in FLOP/s. */
  readonly simtFp32Flops: number
  /** Kernel launch plus teardown latency in ns. */
  readonly launchNs: number
  /** Streaming multiprocessors. */
  readonly sms: number
  /** Boost clock in Hz. */
  readonly clockHz: number
  /** L2 cache bytes. */
  readonly l2Bytes: number
  /** Shared memory per SM in bytes. */
  readonly smemPerSmBytes: number
  /** Where the numbers come from. */
  readonly source: string
  /**
   * Per-SM math per clock cycle, by unit and type (FLOP/cycle/SM, 2 per multiply-add), from the
   * architecture whitepapers. The cycle-level model uses these with `clockHz`; absent, it derives
   * them from the aggregate rates above.
   */
  readonly smFlopsPerCycle?: {
    readonly tensor: Partial<Record<DType, number>>
    readonly simt: Partial<Record<DType, number>>
  }
  /** 2:4 structured-sparsity tensor rates (FLOP/s); absent = no sparse tensor path. */
  readonly sparseTensorFlops?: Partial<Record<DType, number>>
  /**
   * Calibrated efficiency per kernel class (`moska calibrate` writes these): the cycle-level model
   * scales per-SM math and HBM bandwidth by them and uses `launchNs` as the per-launch overhead.
   */
  readonly efficiency?: Readonly<Record<string, KernelEfficiency>>
  /** For calibrated and user-defined devices: the preset or file this one was derived from. */
  readonly derivedFrom?: string
}

/** Fitted factors for one kernel class (e.g. `gemm.cublas.bf16`, `sharedAttention.sdpa-cudnn`). */
export interface KernelEfficiency {
  /** Fraction of the per-SM math rate a tile achieves. */
  readonly compute: number
  /** Fraction of HBM bandwidth the kernel's tiles achieve together. */
  readonly memory: number
  /** Fixed cost per launch (launch, ramp, teardown and in-stream gap), ns. */
  readonly launchNs: number
  /** Measurements the factors were fitted on. */
  readonly fittedOn?: number
}

// NVIDIA datasheets (H100 SXM5, H200 SXM, B200 HGX, A100 80GB SXM). Tensor rates are dense (no 2:4 sparsity).
export const GPU_PRESETS = {
  H100: {
    name: "H100", hbmBytes: 80e9, hbmBandwidthBps: 3.35e12,
    tensorFlops: { fp8: 1979e12, int8: 1979e12, bf16: 989e12, fp16: 989e12, fp32: 494e12 },
    simtFp32Flops: 67e12, launchNs: 4000, sms: 132, clockHz: 1.98e9, l2Bytes: 50 * 2 ** 20, smemPerSmBytes: 228 * 1024,
    smFlopsPerCycle: {
      tensor: { fp8: 8192, int8: 8192, bf16: 4096, fp16: 4096, fp32: 2048 },
      simt: { fp32: 256, fp16: 512, bf16: 512 },
    },
    sparseTensorFlops: { fp8: 3958e12, int8: 3958e12, bf16: 1979e12, fp16: 1979e12, fp32: 989e12 },
    source: "NVIDIA H100 SXM5 datasheet (dense and 2:4-sparse tensor rates, quoted at a 1.83 GHz boost); per-SM FLOP/cycle: Hopper whitepaper (2048 dense bf16 FMA = 4096 FLOP per clock per SM); clock 1.98 GHz as seen under load on an H200 (same die); launch latency: typical CUDA launch ~4 µs",
  },
  H200: {
    name: "H200", hbmBytes: 141e9, hbmBandwidthBps: 4.8e12,
    tensorFlops: { fp8: 1979e12, int8: 1979e12, bf16: 989e12, fp16: 989e12, fp32: 494e12 },
    simtFp32Flops: 67e12, launchNs: 4000, sms: 132, clockHz: 1.98e9, l2Bytes: 60 * 2 ** 20, smemPerSmBytes: 228 * 1024,
    smFlopsPerCycle: {
      tensor: { fp8: 8192, int8: 8192, bf16: 4096, fp16: 4096, fp32: 2048 },
      simt: { fp32: 256, fp16: 512, bf16: 512 },
    },
    sparseTensorFlops: { fp8: 3958e12, int8: 3958e12, bf16: 1979e12, fp16: 1979e12, fp32: 989e12 },
    source: "NVIDIA H200 SXM datasheet (H100 math rates, 141 GB HBM3e at 4.8 TB/s); 132 SMs and 60 MB L2 read by PyTorch on the device machine; SM clock 1980 MHz read by nvidia-smi there under load; per-SM FLOP/cycle: Hopper whitepaper",
  },
  B200: {
    name: "B200", hbmBytes: 180e9, hbmBandwidthBps: 8e12,
    tensorFlops: { fp8: 4500e12, int8: 4500e12, bf16: 2250e12, fp16: 2250e12, fp32: 1100e12 },
    simtFp32Flops: 80e12, launchNs: 4000, sms: 148, clockHz: 1.965e9, l2Bytes: 126 * 2 ** 20, smemPerSmBytes: 228 * 1024,
    sparseTensorFlops: { fp8: 9000e12, int8: 9000e12, bf16: 4500e12, fp16: 4500e12, fp32: 2200e12 },
    source: "NVIDIA HGX B200 datasheet, per GPU, dense and 2:4-sparse rates; per-SM rates derived from them (no whitepaper figure used)",
  },
  A100: {
    name: "A100", hbmBytes: 80e9, hbmBandwidthBps: 2.039e12,
    tensorFlops: { int8: 624e12, bf16: 312e12, fp16: 312e12, fp32: 156e12 },
    simtFp32Flops: 19.5e12, launchNs: 4000, sms: 108, clockHz: 1.41e9, l2Bytes: 40 * 2 ** 20, smemPerSmBytes: 164 * 1024,
    smFlopsPerCycle: {
      tensor: { int8: 4096, bf16: 2048, fp16: 2048, fp32: 1024 },
      simt: { fp32: 128, fp16: 256, bf16: 256 },
    },
    sparseTensorFlops: { int8: 1248e12, bf16: 624e12, fp16: 624e12, fp32: 312e12 },
    source: "NVIDIA A100 80GB SXM datasheet (no FP8 tensor path: FP8 math falls back to the next rate); per-SM FLOP/cycle: Ampere whitepaper (1024 dense fp16 FMA = 2048 FLOP per clock per SM; 108 SMs at 1.41 GHz gives the 312 TFLOP/s datasheet rate)",
  },
} as const satisfies Record<string, GpuSpec>
export type GpuPreset = keyof typeof GPU_PRESETS

/** A link between Unique-KV and Shared-KV nodes. */
export interface LinkSpec {
  readonly name: string
  /** Unidirectional bandwidth in bytes per second. */
  readonly bandwidthBps: number
  /** One-way latency per message in ns. */
  readonly latencyNs: number
  readonly source: string
}

export const LINK_PRESETS = {
  nvlink4: { name: "nvlink4", bandwidthBps: 450e9, latencyNs: 2000, source: "NVLink 4: 900 GB/s bidirectional per H100/H200" },
  nvlink5: { name: "nvlink5", bandwidthBps: 900e9, latencyNs: 2000, source: "NVLink 5: 1.8 TB/s bidirectional per B200" },
  pcie5: { name: "pcie5", bandwidthBps: 64e9, latencyNs: 5000, source: "PCIe 5.0 x16: ~64 GB/s per direction" },
  "ib-ndr": { name: "ib-ndr", bandwidthBps: 50e9, latencyNs: 5000, source: "InfiniBand NDR: 400 Gb/s per port" },
  cxl: { name: "cxl", bandwidthBps: 64e9, latencyNs: 600, source: "CXL 3 over PCIe 6 x16 electricals ~64 GB/s; ~600 ns load-to-use" },
} as const satisfies Record<string, LinkSpec>
export type LinkPreset = keyof typeof LINK_PRESETS
