import type { Database, Statement } from "better-sqlite3"

const PER_STATEMENT = 64

/**
 * Inserts rows with multi-row `INSERT ... VALUES (...), (...)` statements of 64 rows (about twice
 * the rows/s of one statement per row on better-sqlite3), plus a one-row statement for the rest.
 * Call inside a transaction.
 * @example const ins = bulkInsert(db, "tokens", ["run_id", "request_id", "idx", "at_ns"]); ins(rows, (t, out) => out.push(...))
 */
export const bulkInsert = <T>(db: Database, table: string, columns: readonly string[]) => {
  const tuple = `(${columns.map(() => "?").join(",")})`
  const head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `
  const many: Statement = db.prepare(head + Array<string>(PER_STATEMENT).fill(tuple).join(","))
  const one: Statement = db.prepare(head + tuple)
  const args: unknown[] = []
  return (rows: readonly T[], values: (row: T, out: unknown[]) => void): void => {
    let i = 0
    for (; i + PER_STATEMENT <= rows.length; i += PER_STATEMENT) {
      args.length = 0
      for (let j = i; j < i + PER_STATEMENT; j++) values(rows[j] as T, args)
      many.run(args)
    }
    for (; i < rows.length; i++) {
      args.length = 0
      values(rows[i] as T, args)
      one.run(args)
    }
  }
}
