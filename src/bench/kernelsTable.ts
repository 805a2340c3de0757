import type { KernelsBenchResult } from "./kernelsBench.js"

const pct = (x: number, of: number): string => ((100 * x) / of).toFixed(0)

/**
 * The short table `moska bench kernels` prints last (markdown, so docs can quote it as is), then one line per
 * unique-decode row quoting its bandwidth against the read-only ceiling (a decode kernel only reads) and the anchor's.
 */
export const kernelsTable = (r: KernelsBenchResult): string => {
  const head = "| kernel / shape | kv | ms | GB/s | % copy | % read | TFLOP/s | % f32 GEMM | err | anchor ms | ours/anchor |"
  const sep = "|---|---|---|---|---|---|---|---|---|---|---|"
  const lines = r.rows.map((x) =>
    [
      x.key,
      x.kv,
      x.ms.toFixed(3),
      x.GBps.toFixed(0),
      pct(x.GBps, r.ceilings.copyGBps),
      pct(x.GBps, r.ceilings.readGBps),
      x.TFLOPs.toFixed(2),
      pct(x.TFLOPs, r.ceilings.gemmF32TFLOPs),
      x.err === null ? "-" : x.err.toExponential(1),
      x.anchorMs === undefined ? "-" : x.anchorMs.toFixed(3),
      x.anchorMs === undefined ? "-" : (x.ms / x.anchorMs).toFixed(2),
    ].join(" | "),
  )
  // The anchor moves the same bytes (same shape), so its bandwidth share is anchor ms / our ms.
  const unique = r.rows
    .filter((x) => x.key.startsWith("unique "))
    .map((x) => `${x.key} [${x.kv}]: ${x.GBps.toFixed(0)} GB/s = ${pct(x.GBps, r.ceilings.readGBps)}% of the read ceiling${x.anchorMs === undefined ? "" : `, ${pct(x.anchorMs, x.ms)}% of the anchor's bandwidth`}`)
  return [
    `device: ${r.device}`,
    `ceilings (same run): copy ${r.ceilings.copyGBps.toFixed(0)} GB/s (read+write), read ${r.ceilings.readGBps.toFixed(0)} GB/s (reduction), f32 GEMM ${r.ceilings.gemmF32TFLOPs.toFixed(1)} TFLOP/s; Hq ${r.shape.Hq}, Hkv ${r.shape.Hkv}, D ${r.shape.D}, chunk ${r.shape.chunkTokens} tokens`,
    head,
    sep,
    ...lines.map((l) => `| ${l} |`),
    ...(unique.length > 0 ? ["", "unique decode against the read ceiling:", ...unique] : []),
  ].join("\n")
}
