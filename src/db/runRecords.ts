import type { Database } from "better-sqlite3"
import { hostname } from "node:os"
import { processGone, type RunLivenessRow } from "./runLiveness.js"

/** What a run row records at the start; wall-clock facts live here and nowhere else. */
export interface RunStart {
  readonly mode: "sim" | "live"
  readonly system: string
  readonly scenarioName: string
  readonly scenarioJson: string
  readonly seed: number
  /** ISO 8601 wall clock. */
  readonly startedAt: string
  readonly codeVersion: string
  /** JSON of the hardware pools. */
  readonly hardware: string
  /** Free-form label (`--label`; a sweep labels each point), else null. */
  readonly label?: string | null
}

/** What a run row records at the end. */
export interface RunEnd {
  readonly status: "finished" | "interrupted" | "failed"
  readonly finishedAt: string
  readonly wallS: number
  readonly simulatedNs?: number | null
  readonly events?: number | null
  readonly summaryJson?: string | null
  readonly error?: string | null
}

/**
 * Run metadata: `insertRun` creates the `runs` row (status running, stamped with this process's
 * pid and host) and returns its id; `heartbeat` says the writer is still alive; `finishRun`
 * records how it ended. `reapCrashed` marks as failed the running runs of processes on this host
 * that are gone (a writer calls it on open); `interruptOwn` ends this process's running runs when
 * it must exit at once (a second signal). `latestRunId` is the default of `moska query`.
 * @example const runId = runRecords.insertRun(db, start); runRecords.finishRun(db, runId, end)
 */
export const runRecords = {
  insertRun(db: Database, r: RunStart): number {
    const info = db
      .prepare(`INSERT INTO runs (mode, system, scenario_name, scenario_json, seed, started_at, code_version, hardware, label, pid, host, heartbeat_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.mode, r.system, r.scenarioName, r.scenarioJson, r.seed, r.startedAt, r.codeVersion, r.hardware, r.label ?? null,
        process.pid, hostname(), new Date().toISOString())
    return Number(info.lastInsertRowid)
  },

  finishRun(db: Database, runId: number, e: RunEnd): void {
    db.prepare(`UPDATE runs SET status = ?, finished_at = ?, wall_s = ?, simulated_ns = ?, events = ?, summary_json = ?, error = ?
                WHERE run_id = ?`)
      .run(e.status, e.finishedAt, e.wallS, e.simulatedNs ?? null, e.events ?? null, e.summaryJson ?? null, e.error ?? null, runId)
  },

  /** Records that the run's writer is alive at `at` (ISO 8601). */
  heartbeat(db: Database, runId: number, at: string): void {
    db.prepare("UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND status = 'running'").run(at, runId)
  },

  /**
   * Marks failed every running run written by a process of this host that no longer exists, with
   * the reason in `error`; returns their ids. Runs of other hosts are left alone (their processes
   * cannot be checked from here; readers flag them by heartbeat age instead).
   */
  reapCrashed(db: Database, at: string): number[] {
    const host = hostname()
    const rows = db.prepare("SELECT run_id, pid, heartbeat_at FROM runs WHERE status = 'running' AND host = ? AND pid IS NOT NULL")
      .all(host) as Array<{ run_id: number; pid: number; heartbeat_at: string | null }>
    const gone = rows.filter((r) => processGone(r.pid))
    const mark = db.prepare("UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ? AND status = 'running'")
    for (const r of gone) {
      mark.run(at, `crashed: process ${r.pid} on ${host} ended without closing the run (last sign of life ${r.heartbeat_at ?? "unknown"}); rows committed before that are kept`, r.run_id)
    }
    return gone.map((r) => r.run_id)
  },

  /** Marks this process's running runs interrupted with `reason` (it is about to exit without finishing them); returns how many. */
  interruptOwn(db: Database, at: string, reason: string): number {
    return db.prepare("UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE status = 'running' AND pid = ? AND host = ?")
      .run(at, reason, process.pid, hostname()).changes
  },

  /** The run's trace level (`requests`, `kernels`, `tokens`) from its scenario, or null if unknown. */
  traceLevel(db: Database, runId: number): string | null {
    const json = db.prepare("SELECT scenario_json FROM runs WHERE run_id = ?").pluck().get(runId) as string | undefined
    try {
      const level = (JSON.parse(json ?? "null") as { trace?: unknown } | null)?.trace
      return typeof level === "string" ? level : null
    } catch {
      return null
    }
  },

  /** The liveness columns of a run (db/022), for `runState`. */
  liveness(db: Database, runId: number): RunLivenessRow {
    return db.prepare("SELECT status, pid, host, heartbeat_at FROM runs WHERE run_id = ?").get(runId) as RunLivenessRow
  },

  latestRunId(db: Database): number | null {
    const id = db.prepare("SELECT MAX(run_id) FROM runs").pluck().get() as number | null
    return id ?? null
  },

  exists(db: Database, runId: number): boolean {
    return db.prepare("SELECT 1 FROM runs WHERE run_id = ?").pluck().get(runId) !== undefined
  },
}
