import type { Database } from "better-sqlite3"

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
 * Run metadata: `insertRun` creates the `runs` row (status running) and returns its id;
 * `finishRun` records how it ended. `latestRunId` is the default of `moska query`.
 * @example const runId = runRecords.insertRun(db, start); runRecords.finishRun(db, runId, end)
 */
export const runRecords = {
  insertRun(db: Database, r: RunStart): number {
    const info = db
      .prepare(`INSERT INTO runs (mode, system, scenario_name, scenario_json, seed, started_at, code_version, hardware, label)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.mode, r.system, r.scenarioName, r.scenarioJson, r.seed, r.startedAt, r.codeVersion, r.hardware, r.label ?? null)
    return Number(info.lastInsertRowid)
  },

  finishRun(db: Database, runId: number, e: RunEnd): void {
    db.prepare(`UPDATE runs SET status = ?, finished_at = ?, wall_s = ?, simulated_ns = ?, events = ?, summary_json = ?, error = ?
                WHERE run_id = ?`)
      .run(e.status, e.finishedAt, e.wallS, e.simulatedNs ?? null, e.events ?? null, e.summaryJson ?? null, e.error ?? null, runId)
  },

  latestRunId(db: Database): number | null {
    const id = db.prepare("SELECT MAX(run_id) FROM runs").pluck().get() as number | null
    return id ?? null
  },

  exists(db: Database, runId: number): boolean {
    return db.prepare("SELECT 1 FROM runs WHERE run_id = ?").pluck().get(runId) !== undefined
  },
}
