import type { Database } from "better-sqlite3"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The migrations folder shipped with the package (`db/` at the package root, beside `src/` and `dist/`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../db/", import.meta.url))

/**
 * Applies the `NNN_name.sql` files of `dir` in numeric order, each once, in one transaction,
 * recording it in `schema_version`. Running it again applies nothing; a database newer than the
 * code (a version this code does not know) is refused rather than misread.
 * @example migrate(db) // [1, 2] on a fresh file, [] after
 */
export const migrate = (db: Database, dir: string = MIGRATIONS_DIR): number[] => {
  const files = migrationFiles(dir)
  const known = new Set(files.map((f) => f.version))
  const done: number[] = []
  // One IMMEDIATE transaction (the write lock first, then the read of what is applied): two
  // connections opening a fresh file at once (a writer thread and a reader) would otherwise both
  // see a migration as pending and the second would fail on it ("duplicate column name").
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    const applied = new Set((db.prepare("SELECT version FROM schema_version").pluck().all() as number[]))
    const unknown = [...applied].filter((v) => !known.has(v))
    if (unknown.length > 0) {
      throw new Error(`the trace database has schema version ${Math.max(...unknown)}, newer than this moska knows (${Math.max(0, ...known)}); use a newer moska or another --db file`)
    }
    const record = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, datetime('now'))")
    for (const f of files) {
      if (applied.has(f.version)) continue
      db.exec(readFileSync(`${dir}/${f.name}`, "utf8"))
      record.run(f.version, f.name)
      done.push(f.version)
    }
  }).immediate()
  return done
}

const migrationFiles = (dir: string): Array<{ readonly name: string; readonly version: number }> =>
  readdirSync(dir)
    .map((name) => ({ name, m: /^(\d+)_.*\.sql$/.exec(name) }))
    .filter((f) => f.m !== null)
    .map((f) => ({ name: f.name, version: Number((f.m as RegExpExecArray)[1]) }))
    .sort((a, b) => a.version - b.version)

/**
 * The versions of `dir` not yet applied to a trace database written by an older moska; none for a
 * file without `schema_version` (not a moska trace, left alone). Reads only, so it works on a
 * read-only connection.
 * @example pendingMigrations(db) // [5] on a file written before db/005
 */
export const pendingMigrations = (db: Database, dir: string = MIGRATIONS_DIR): number[] => {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'").pluck().get() !== undefined
  if (!hasTable) return []
  const applied = new Set(db.prepare("SELECT version FROM schema_version").pluck().all() as number[])
  return migrationFiles(dir).map((f) => f.version).filter((v) => !applied.has(v))
}
