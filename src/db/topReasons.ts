import { openTraceDb } from "./openTraceDb.js"

/** One kind of outcome and why: an example reason, and how many requests ended with a reason like it. */
export interface ReasonCount {
  readonly status: string
  /** The first reason of the kind, verbatim. */
  readonly example: string
  readonly requests: number
}

/** Distinct reasons read before grouping (a run of millions of rejections has few kinds of reason). */
const MAX_DISTINCT = 100_000

/**
 * The most common kinds of reason requests of a run were rejected or failed for, most frequent
 * first: a summary whose requests all bounced must say why, not leave it in `requests.reason`.
 * Reasons that differ only in their numbers ("request 7 needs 3276813303808 bytes ...") are one kind.
 * @example topReasons("moska.db", 3) // [{ status: "rejected", example: "AdmissionRejected: request 0 needs ...", requests: 20 }]
 */
export const topReasons = (dbFile: string, runId: number, limit = 3): ReasonCount[] => {
  const db = openTraceDb(dbFile, { readonly: true })
  let rows: Array<{ status: string; reason: string; n: number }>
  try {
    rows = db.prepare(`SELECT status, COALESCE(reason, '(no reason recorded)') AS reason, COUNT(*) AS n FROM requests
                       WHERE run_id = ? AND status IN ('rejected', 'failed') GROUP BY status, reason ORDER BY MIN(request_id) LIMIT ?`)
      .all(runId, MAX_DISTINCT) as typeof rows
  } finally {
    db.close()
  }
  const kinds = new Map<string, { status: string; example: string; requests: number }>()
  for (const r of rows) {
    const key = `${r.status}\u0000${r.reason.replace(/\d[\d,.]*/g, "#")}`
    const k = kinds.get(key)
    if (k === undefined) kinds.set(key, { status: r.status, example: r.reason, requests: r.n })
    else k.requests += r.n
  }
  return [...kinds.values()].sort((a, b) => b.requests - a.requests).slice(0, limit)
}
