import type { KernelsBenchResult } from "./kernelsBench.js"

/** The short table `moska bench kernels` prints last (markdown, so docs can quote it as is). */
export const kernelsTable = (r: KernelsBenchResult): string => {
  const head = "| kernel / shape | kv | ms | GB/s | % copy | TFLOP/s | % f32 GEMM | err | anchor ms | ours/anchor |"
  const sep = "|---|---|---|---|---|---|---|---|---|---|"
  const lines = r.rows.map((x) =>
    [
      x.key,
      x.kv,
      x.ms.toFixed(3),
      x.GBps.toFixed(0),
      ((100 * x.GBps) / r.ceilings.copyGBps).toFixed(0),
      x.TFLOPs.toFixed(2),
      ((100 * x.TFLOPs) / r.ceilings.gemmF32TFLOPs).toFixed(0),
      x.err === null ? "-" : x.err.toExponential(1),
      x.anchorMs === undefined ? "-" : x.anchorMs.toFixed(3),
      x.anchorMs === undefined ? "-" : (x.ms / x.anchorMs).toFixed(2),
    ].join(" | "),
  )
  return [
    `device: ${r.device}`,
    `ceilings (same run): copy ${r.ceilings.copyGBps.toFixed(0)} GB/s, f32 GEMM ${r.ceilings.gemmF32TFLOPs.toFixed(1)} TFLOP/s; Hq ${r.shape.Hq}, Hkv ${r.shape.Hkv}, D ${r.shape.D}, chunk ${r.shape.chunkTokens} tokens`,
    head,
    sep,
    ...lines.map((l) => `| ${l} |`),
  ].join("\n")
}
