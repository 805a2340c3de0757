import type Database from "better-sqlite3"

/** A deterministic source of integers in [0, m) (a 31-bit LCG; tests use no Math.random). */
export const lcg = (seed: number): ((m: number) => number) => {
  let s = seed
  return (m) => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s % m
  }
}

/**
 * Prepared inserts for synthetic trace rows: `run.run(runId)` adds a sim run with placeholder
 * metadata, `request.run(runId, requestId, arrival, admitted, firstToken, finished, requested, output, status)`
 * a request of 100 unique tokens.
 */
export const rowInserts = (db: Database.Database) => ({
  run: db.prepare(
    "INSERT INTO runs (run_id, mode, system, scenario_name, scenario_json, seed, started_at, code_version, hardware) VALUES (?, 'sim', 'moska', 't', '{}', 1, '2026-01-01', 'test', '{}')",
  ),
  request: db.prepare(
    "INSERT INTO requests (run_id, request_id, arrival_ns, admitted_ns, first_token_ns, finished_ns, unique_tokens, requested_tokens, output_tokens, status) VALUES (?, ?, ?, ?, ?, ?, 100, ?, ?, ?)",
  ),
})
