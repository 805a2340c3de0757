import type { Database } from "better-sqlite3"
import { fileWriter, parquetWriteRows } from "hyparquet-writer"
import type { ExportTable } from "./exportRun.js"

const ORDER: Readonly<Record<ExportTable, string>> = { requests: "request_id", kernels: "seq", kernel_totals: "worker_id, kind, window_ns", tokens: "request_id, idx" }

// SQLite's declared column types (db/*.sql) as Parquet types; every column nullable, as in SQLite
const PARQUET_TYPE: Readonly<Record<string, "INT64" | "DOUBLE" | "STRING">> = { INTEGER: "INT64", REAL: "DOUBLE", TEXT: "STRING" }

/**
 * Writes one run's table as a Parquet file (hyparquet-writer: pure JavaScript, MIT, snappy pages):
 * INTEGER columns as INT64, REAL as DOUBLE, TEXT as STRING, all nullable. Rows stream from the
 * database a row group at a time, so memory stays bounded by the group, not the table. Integers are
 * read as BigInt, since Parquet INT64 takes them exactly (ns times pass 2^53 in long live runs).
 * Returns the rows written.
 * @example exportParquet(db, 3, "kernels", "run3-kernels.parquet")
 */
export const exportParquet = (db: Database, runId: number, table: ExportTable, file: string): number => {
  const stmt = db.prepare(`SELECT * FROM ${table} WHERE run_id = ? ORDER BY ${ORDER[table]}`).safeIntegers(true)
  const columns = stmt.columns().map((c) => {
    const type = PARQUET_TYPE[(c.type ?? "").toUpperCase()]
    if (type === undefined) throw new Error(`${table}.${c.name}: no Parquet type for the SQLite type ${c.type ?? "(none)"}`)
    return { name: c.name, type, nullable: true }
  })
  let n = 0
  function* rows(): Generator<Record<string, unknown>> {
    for (const row of stmt.iterate(runId) as IterableIterator<Record<string, unknown>>) {
      n++
      yield row
    }
  }
  void parquetWriteRows({ writer: fileWriter(file), rows: rows(), columns, rowGroupSize: 100_000 })
  return n
}
