import { percentileKey, type ServeMetric } from "./serveResult.js"

const NAMES: Record<ServeMetric, [string, string]> = {
  ttft: ["Time to First Token", "TTFT"],
  tpot: ["Time per Output Token (excl. 1st token)", "TPOT"],
  itl: ["Inter-token Latency", "ITL"],
  e2el: ["End-to-end Latency", "E2EL"],
}

/**
 * The human summary of a `moska bench serve` result, laid out as `vllm bench serve` prints it
 * (one `label: value` line per figure, a rule per latency metric), so the two read side by side.
 * @example process.stdout.write(serveTable(result, ["ttft", "tpot", "itl"], [99]))
 */
export const serveTable = (r: Readonly<Record<string, unknown>>, metrics: readonly ServeMetric[], percentiles: readonly number[]): string => {
  const lines: string[] = []
  const row = (label: string, v: unknown, digits = 2): void => {
    const text = typeof v === "number" ? (Number.isInteger(v) && digits === 0 ? String(v) : v.toFixed(digits)) : String(v)
    lines.push(`${`${label}:`.padEnd(40)} ${text.padStart(10)}`)
  }
  const rule = (title: string, fill: string): void => {
    const left = Math.floor((50 - title.length - 2) / 2)
    lines.push(`${fill.repeat(Math.max(0, left))} ${title} ${fill.repeat(Math.max(0, 50 - title.length - 2 - left))}`)
  }
  rule("Serving Benchmark Result", "=")
  row("Successful requests", r.completed, 0)
  row("Failed requests", r.failed, 0)
  if (r.max_concurrency !== null && r.max_concurrency !== undefined) row("Maximum request concurrency", r.max_concurrency, 0)
  row("Benchmark duration (s)", r.duration)
  row("Total input tokens", r.total_input_tokens, 0)
  row("Total generated tokens", r.total_output_tokens, 0)
  row("Request throughput (req/s)", r.request_throughput)
  if (r.request_goodput !== null && r.request_goodput !== undefined) row("Request goodput (req/s)", r.request_goodput)
  row("Output token throughput (tok/s)", r.output_throughput)
  row("Total Token throughput (tok/s)", r.total_token_throughput)
  for (const m of metrics) {
    const [title, short] = NAMES[m]
    rule(title, "-")
    row(`Mean ${short} (ms)`, r[`mean_${m}_ms`])
    row(`Median ${short} (ms)`, r[`median_${m}_ms`])
    for (const p of percentiles) row(`P${String(p)} ${short} (ms)`, r[`${percentileKey(p)}_${m}_ms`])
  }
  lines.push("=".repeat(50))
  return lines.join("\n")
}
