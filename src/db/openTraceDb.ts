import Database from "better-sqlite3"
import { TraceWriteFailed } from "../core/errors.js"
import { migrate } from "./migrate.js"

/**
 * Opens (creating if needed) a trace database: WAL journal (readers never block the writer, and a
 * crash loses at most the open transaction), foreign keys on, migrations applied. Throws
 * TraceWriteFailed naming the file when it cannot be opened or migrated.
 * @example const db = openTraceDb("moska.db"); try { ... } finally { db.close() }
 */
export const openTraceDb = (file: string, options: { readonly readonly?: boolean } = {}): Database.Database => {
  let db: Database.Database | undefined
  try {
    db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false })
    if (options.readonly !== true) {
      db.pragma("journal_mode = WAL")
      db.pragma("synchronous = NORMAL")
      db.pragma("foreign_keys = ON")
      migrate(db)
    }
    return db
  } catch (e) {
    db?.close()
    throw new TraceWriteFailed({ file, message: (e as Error).message })
  }
}
