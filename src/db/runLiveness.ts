import { hostname } from "node:os"

/** How often a run's writer records a sign of life (a commit or a beat), in ms. */
export const HEARTBEAT_EVERY_MS = 1000

/**
 * A running run whose writer has shown no sign of life for this long is reported as possibly
 * dead when its process cannot be checked (another host, or a pid since reused). Generous against
 * HEARTBEAT_EVERY_MS: a busy host can stall a writer for seconds.
 */
export const STALE_AFTER_MS = 30_000

/** Whether no process with this pid exists on this host (EPERM means one exists, owned by someone else). */
export const processGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
  }
}

/** The liveness columns of a `runs` row (db/022). */
export interface RunLivenessRow {
  readonly status: string
  readonly pid: number | null
  readonly host: string | null
  readonly heartbeat_at: string | null
}

/**
 * What a run's row means now: its stored status, except a `running` run whose writer is gone
 * (`crashed`: its process no longer exists on this host) or silent for STALE_AFTER_MS (`stale`:
 * another host, or an old file without liveness columns). `note` explains any status but
 * `finished`, for a warning beside figures that cover only part of a run.
 * @example runState(row, Date.now()) // { state: "crashed", note: "run … crashed: …" }
 */
export const runState = (row: RunLivenessRow, nowMs: number): { readonly state: string; readonly note: string | null } => {
  if (row.status === "finished") return { state: "finished", note: null }
  if (row.status !== "running") return { state: row.status, note: `it ${row.status === "failed" ? "failed" : "was interrupted"}; the figures cover the rows it committed` }
  if (row.pid !== null && row.host === hostname() && processGone(row.pid)) {
    return { state: "crashed", note: `its process ${row.pid} is gone (crashed or killed); the figures cover the rows it committed` }
  }
  const beat = row.heartbeat_at === null ? Number.NaN : Date.parse(row.heartbeat_at)
  if (Number.isFinite(beat) && nowMs - beat > STALE_AFTER_MS) {
    return { state: "stale", note: `no sign of life from its writer for ${Math.round((nowMs - beat) / 1000)} s (pid ${row.pid ?? "?"} on ${row.host ?? "?"}); it may have crashed` }
  }
  return { state: "running", note: "it is still running; the figures cover the rows committed so far" }
}
