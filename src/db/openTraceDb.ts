import Database from "better-sqlite3"
import { TraceWriteFailed } from "../core/errors.js"
import { migrate, pendingMigrations } from "./migrate.js"
import { runRecords } from "./runRecords.js"

/**
 * Opens (creating if needed) a trace database: WAL journal (readers never block the writer, and a
 * crash loses at most the open transaction), foreign keys on, migrations applied, and runs whose
 * writer on this host is gone marked failed as crashed. Read-only opens
 * (`moska query`, `moska report`) of a file written by an older moska migrate it forward first, so
 * its views are the current ones. Throws TraceWriteFailed naming the file when it cannot be opened
 * or migrated.
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
      // runs left 'running' by processes of this host that died: say so now (db/022)
      runRecords.reapCrashed(db, new Date().toISOString())
    } else if (pendingMigrations(db).length > 0) {
      // a file from an older moska: migrate it forward once (views and new columns), then read it
      db.close()
      db = undefined
      openTraceDb(file).close()
      db = new Database(file, { readonly: true, fileMustExist: true })
    }
    return db
  } catch (e) {
    db?.close()
    if (e instanceof TraceWriteFailed) throw e
    throw new TraceWriteFailed({ file, message: (e as Error).message })
  }
}
