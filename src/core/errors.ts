import * as Data from "effect/Data"

/**
 * Every expected failure of moska, in one place. Defects (broken invariants) are thrown as plain
 * errors naming the event that broke them.
 */

/** A scenario file or `--set` override does not decode; one issue per bad field. */
export class ScenarioInvalid extends Data.TaggedError("ScenarioInvalid")<{
  readonly source: string
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
}> {}

/** A trace or input file is malformed; `line` is 1-based where known. */
export class InputFileInvalid extends Data.TaggedError("InputFileInvalid")<{
  readonly file: string
  readonly line?: number
  readonly message: string
}> {}

/** A request could not be admitted (its KV does not fit even in an empty worker). */
export class AdmissionRejected extends Data.TaggedError("AdmissionRejected")<{
  readonly requestId: number
  readonly needBytes: number
  readonly capacityBytes: number
}> {}

/** A configuration cannot run at all (e.g. the shared corpus exceeds the shared pool's memory). */
export class CapacityExceeded extends Data.TaggedError("CapacityExceeded")<{
  readonly what: string
  readonly needBytes: number
  readonly capacityBytes: number
}> {}

/** Writing the trace database failed. */
export class TraceWriteFailed extends Data.TaggedError("TraceWriteFailed")<{
  readonly file: string
  readonly message: string
}> {}

/** No WebGPU adapter/device could be acquired. */
export class GpuUnavailable extends Data.TaggedError("GpuUnavailable")<{ readonly message: string }> {}

/** The GPU device was lost or a validation error surfaced. */
export class GpuFailed extends Data.TaggedError("GpuFailed")<{
  readonly kind: "lost" | "validation" | "out-of-memory" | "internal"
  readonly message: string
}> {}

/** Bad command-line usage. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Live mode: a wall-clock callback ran more than the strict bound after its due time. */
export class ClockLagExceeded extends Data.TaggedError("ClockLagExceeded")<{
  /** How late the callback was, ns (now − due). */
  readonly lagNs: number
  readonly maxLagNs: number
  /** The callback's due time, ns since the run started. */
  readonly atNs: number
  readonly message: string
}> {}

/** Disaggregated live mode: the scenario's worker pools were not complete when the coordinator stopped waiting. */
export class WorkersMissing extends Data.TaggedError("WorkersMissing")<{
  /** Worker ids no process holds (`unique-0`, `shared-1`, ...). */
  readonly missing: readonly string[]
  readonly message: string
}> {}

/** Disaggregated live mode: a worker process stopped answering and no process took its place in time. */
export class WorkerLost extends Data.TaggedError("WorkerLost")<{
  readonly workerId: string
  /** Work items of the run it held when it went (they did not complete). */
  readonly items: number
  readonly message: string
}> {}
