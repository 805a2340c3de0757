import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import type { WorkDone } from "../../core/executor.js"
import type { RequestRow } from "../../core/trace.js"
import type { LagStats } from "../lagHistogram.js"

// vLLM's buckets (vllm/v1/metrics/loggers.py), so dashboards built for vLLM read these unchanged.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]

/** What the gauges read at each scrape. */
export interface ServeGaugeSource {
  readonly running: number
  readonly waiting: number
  /** Fraction (0..1) of the engine's KV budget that admitted requests hold (ServingEngine.kvCacheUsage). */
  readonly kvCacheUsage: number
  lagStats(): LagStats
}

/** vLLM's finished_reason of a request row: moska decodes exactly max_tokens ("length"); a cancel is "abort". */
export const finishReasonOf = (row: RequestRow): "length" | "abort" | "error" =>
  row.status === "completed" ? "length" : row.status === "cancelled" ? "abort" : "error"

/**
 * The Prometheus metrics of `moska serve` (prom-client, on a registry of its own): vLLM's names,
 * labels (`model_name`, `engine`) and buckets where vLLM has the metric, `moska:` ones for the
 * live engine (wall-clock lag, event-loop delay from `perf_hooks.monitorEventLoopDelay`, which
 * stays meaningful while Dawn keeps event-loop utilisation at 1.0, requests refused). Latencies
 * are observed in seconds of the run's clock from the same timestamps as the trace rows, so the
 * counters agree with the database; percentiles for comparisons come from the rows, not buckets.
 * @example const m = new ServeMetrics("tiny-llama", engine); m.token(t, prevAtNs, arrivalNs); res.send(await m.text())
 */
export class ServeMetrics {
  readonly registry = new Registry()
  private readonly labels: { readonly model_name: string; readonly engine: string }
  private readonly loopDelay: IntervalHistogram
  private readonly ttft: Histogram<"model_name" | "engine">
  private readonly itl: Histogram<"model_name" | "engine">
  private readonly e2e: Histogram<"model_name" | "engine">
  private readonly queue: Histogram<"model_name" | "engine">
  private readonly generation: Counter<"model_name" | "engine">
  private readonly prompt: Counter<"model_name" | "engine">
  private readonly success: Counter<"model_name" | "engine" | "finished_reason">
  private readonly refused: Counter<"model_name" | "engine" | "reason">
  private readonly busy: Counter<"model_name" | "engine" | "worker">
  private readonly sharedSteps: Counter<"model_name" | "engine">
  private readonly chunkGemms: Counter<"model_name" | "engine">
  private readonly chunkRows: Counter<"model_name" | "engine">

  constructor(modelName: string, source: ServeGaugeSource) {
    const labels = { model_name: modelName, engine: "0" }
    this.labels = labels
    const registers = [this.registry]
    const labelNames = ["model_name", "engine"] as const
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 })
    this.loopDelay.enable()
    new Gauge({
      name: "vllm:num_requests_running", help: "Number of requests in model execution batches.", labelNames, registers,
      collect() { this.set(labels, source.running) },
    })
    new Gauge({
      name: "vllm:num_requests_waiting", help: "Number of requests waiting to be processed.", labelNames, registers,
      collect() { this.set(labels, source.waiting) },
    })
    new Gauge({
      name: "vllm:kv_cache_usage_perc", help: "KV-cache usage. 1 means 100 percent usage (moska: the share of the unique workers' KV budget reserved by admitted requests, prompt + max_tokens each).", labelNames, registers,
      collect() { this.set(labels, source.kvCacheUsage) },
    })
    this.ttft = new Histogram({ name: "vllm:time_to_first_token_seconds", help: "Histogram of time to first token in seconds.", labelNames, buckets: TTFT_BUCKETS, registers })
    this.itl = new Histogram({ name: "vllm:inter_token_latency_seconds", help: "Histogram of inter-token latency in seconds.", labelNames, buckets: ITL_BUCKETS, registers })
    this.e2e = new Histogram({ name: "vllm:e2e_request_latency_seconds", help: "Histogram of e2e request latency in seconds.", labelNames, buckets: REQUEST_LATENCY_BUCKETS, registers })
    this.queue = new Histogram({ name: "vllm:request_queue_time_seconds", help: "Histogram of time spent in WAITING phase for request.", labelNames, buckets: REQUEST_LATENCY_BUCKETS, registers })
    this.generation = new Counter({ name: "vllm:generation_tokens_total", help: "Number of generation tokens processed.", labelNames, registers })
    this.prompt = new Counter({ name: "vllm:prompt_tokens_total", help: "Number of prefill tokens processed.", labelNames, registers })
    this.success = new Counter({ name: "vllm:request_success_total", help: "Count of successfully processed requests.", labelNames: [...labelNames, "finished_reason"], registers })
    this.refused = new Counter({ name: "moska:requests_refused_total", help: "Requests answered without entering the engine (queue_full, stopping, not_ready) or rejected at admission (rejected).", labelNames: [...labelNames, "reason"], registers })
    this.busy = new Counter({ name: "moska:gpu_busy_seconds_total", help: "Seconds each worker spent running GPU work (measured on the GPU where the executor times it, else start to end on the run's clock).", labelNames: [...labelNames, "worker"], registers })
    this.sharedSteps = new Counter({ name: "moska:shared_steps_total", help: "Shared-KV attention steps run (work items with stacked chunk GEMMs).", labelNames, registers })
    this.chunkGemms = new Counter({ name: "moska:shared_chunk_gemms_total", help: "Stacked (chunk, KV head) GEMMs per layer run; ÷ moska:shared_steps_total = chunk GEMMs per step.", labelNames, registers })
    this.chunkRows = new Counter({ name: "moska:shared_chunk_rows_total", help: "Query rows stacked into chunk GEMMs (queries × GQA group); ÷ moska:shared_chunk_gemms_total = stacked rows per chunk.", labelNames, registers })
    const loop = this.loopDelay
    const lagGauge = (name: string, help: string, read: (s: LagStats) => number) => new Gauge({
      name, help, labelNames, registers, collect() { this.set(labels, read(source.lagStats()) / 1e9) },
    })
    lagGauge("moska:clock_lag_p99_seconds", "p99 lateness of the live clock's callbacks since start (now − due).", (s) => s.p99Ns)
    lagGauge("moska:clock_lag_max_seconds", "Largest lateness of a live clock callback since start.", (s) => s.maxNs)
    new Gauge({
      name: "moska:event_loop_delay_p99_seconds", help: "p99 event-loop delay since start (perf_hooks.monitorEventLoopDelay).", labelNames, registers,
      collect() { this.set(labels, loop.count > 0 ? loop.percentile(99) / 1e9 : 0) },
    })
    new Gauge({
      name: "moska:event_loop_delay_max_seconds", help: "Largest event-loop delay since start.", labelNames, registers,
      collect() { this.set(labels, loop.count > 0 ? loop.max / 1e9 : 0) },
    })
  }

  /** One token streamed: counts it, observes TTFT (first) or ITL (the gap since the previous one). */
  token(index: number, atNs: number, prevAtNs: number, arrivalNs: number): void {
    this.generation.inc(this.labels)
    if (index === 0) this.ttft.observe(this.labels, Math.max(0, atNs - arrivalNs) / 1e9)
    else this.itl.observe(this.labels, Math.max(0, atNs - prevAtNs) / 1e9)
  }

  /** A request ended: e2e, queue time and prompt tokens from its row; success by finished_reason. */
  ended(row: RequestRow): void {
    if (row.status === "rejected") {
      this.refused.inc({ ...this.labels, reason: "rejected" })
      return
    }
    if (row.admittedNs !== null) {
      this.queue.observe(this.labels, Math.max(0, row.admittedNs - row.arrivalNs) / 1e9)
      this.prompt.inc(this.labels, row.uniqueTokens)
    }
    if (row.finishedNs !== null) this.e2e.observe(this.labels, Math.max(0, row.finishedNs - row.arrivalNs) / 1e9)
    this.success.inc({ ...this.labels, finished_reason: finishReasonOf(row) })
  }

  /** One unit of GPU work done: its worker's busy time and, for shared attention, its chunk GEMMs and stacked rows. */
  work(done: WorkDone): void {
    const ns = done.gpuNs ?? done.endNs - done.startNs
    if (ns > 0) this.busy.inc({ ...this.labels, worker: done.item.workerId }, ns / 1e9)
    let gemms = 0
    let rows = 0
    for (const k of done.item.kernels) {
      if (k.kind !== "sharedAttention") continue
      for (const h of k.histogram) {
        gemms += h.units
        rows += h.units * h.queries * k.groupSize
      }
    }
    if (gemms === 0) return
    this.sharedSteps.inc(this.labels)
    this.chunkGemms.inc(this.labels, gemms)
    this.chunkRows.inc(this.labels, rows)
  }

  /** A request answered before it reached the engine. */
  refusedBefore(reason: "queue_full" | "stopping" | "not_ready" | "degraded"): void {
    this.refused.inc({ ...this.labels, reason })
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  close(): void {
    this.loopDelay.disable()
  }
}
