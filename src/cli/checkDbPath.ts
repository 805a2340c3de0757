import { closeSync, openSync, readSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { InputFileInvalid } from "../core/errors.js"

const SQLITE_MAGIC = "SQLite format 3\u0000"

/** The first 16 bytes of a file, or what stopped us reading them. */
const head = (file: string): Buffer | NodeJS.ErrnoException => {
  let fd: number | undefined
  try {
    fd = openSync(file, "r")
    const buf = Buffer.alloc(16)
    const n = readSync(fd, buf, 0, 16, 0)
    return buf.subarray(0, n)
  } catch (e) {
    return e as NodeJS.ErrnoException
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Checks a `--db` path before any work starts, so that a path that cannot be a trace database is
 * bad input (exit 2, one line naming the file) rather than a failure after the run: its folder
 * must exist, it must not be a folder, and an existing non-empty file must be an SQLite database
 * (moska never overwrites another file). `mustExist` for readers (`moska query`).
 * @example checkDbPath("runs/moska.db") // throws InputFileInvalid: runs/moska.db: the folder runs does not exist ...
 */
export const checkDbPath = (file: string, options: { readonly mustExist?: boolean } = {}): void => {
  const bad = (message: string) => new InputFileInvalid({ file, message })
  if (file.trim() === "") throw bad("--db needs a file name")
  let st: ReturnType<typeof statSync> | undefined
  try {
    st = statSync(file)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === "ENOTDIR") throw bad("a part of the path is a file, not a folder")
    if (code !== "ENOENT") throw bad(`cannot use this path (${code ?? (e as Error).message})`)
  }
  if (st === undefined) {
    if (options.mustExist === true) throw bad("no trace database here (run `moska sim` first, or pass --db)")
    const folder = dirname(resolve(file))
    let dir: ReturnType<typeof statSync> | undefined
    try {
      dir = statSync(folder)
    } catch {
      dir = undefined
    }
    if (dir === undefined) throw bad(`the folder ${folder} does not exist (create it, or pass --db a path in an existing folder)`)
    if (!dir.isDirectory()) throw bad(`${folder} is not a folder`)
    return
  }
  if (st.isDirectory()) throw bad("is a directory; --db takes a database file path, e.g. --db runs/moska.db")
  if (!st.isFile()) throw bad("is not a regular file; --db takes a database file path")
  const h = head(file)
  if (!Buffer.isBuffer(h)) throw bad(`cannot be read (${h.code ?? h.message})`)
  if (h.length === 0) {
    if (options.mustExist === true) throw bad("is empty, not a trace database (run `moska sim --db` on it first)")
    return
  }
  if (h.toString("latin1") !== SQLITE_MAGIC) {
    throw bad("is not an SQLite database (moska does not overwrite other files); pass --db a new file or a moska trace database")
  }
}
