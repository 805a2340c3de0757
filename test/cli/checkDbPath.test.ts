import Database from "better-sqlite3"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { InputFileInvalid } from "../../src/core/errors.js"
import { checkDbPath } from "../../src/cli/checkDbPath.js"

const dir = () => mkdtempSync(join(tmpdir(), "moska-db-"))
const refusal = (file: string, mustExist = false): string => {
  try {
    checkDbPath(file, { mustExist })
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileInvalid)
    expect((e as InputFileInvalid).file).toBe(file)
    return (e as InputFileInvalid).message
  }
  throw new Error(`expected ${file} to be refused`)
}

describe("checkDbPath", () => {
  it("refuses a path in a missing folder, a folder, and a file that is not a database, naming the file", () => {
    const d = dir()
    expect(refusal(join(d, "nope", "x.db"))).toMatch(/^the folder .*nope does not exist \(create it/)
    mkdirSync(join(d, "sub"))
    expect(refusal(join(d, "sub"))).toMatch(/^is a directory; --db takes a database file path/)
    writeFileSync(join(d, "notes.txt"), "not a database\n")
    expect(refusal(join(d, "notes.txt"))).toMatch(/^is not an SQLite database \(moska does not overwrite other files\)/)
    expect(refusal(join(d, "notes.txt", "x.db"))).toMatch(/^a part of the path is a file/)
  })

  it("accepts a new file in an existing folder, an empty file and an SQLite database", () => {
    const d = dir()
    expect(() => checkDbPath(join(d, "new.db"))).not.toThrow()
    writeFileSync(join(d, "empty.db"), "")
    expect(() => checkDbPath(join(d, "empty.db"))).not.toThrow()
    new Database(join(d, "real.db")).exec("CREATE TABLE t (x)")
    expect(() => checkDbPath(join(d, "real.db"))).not.toThrow()
    expect(() => checkDbPath(join(d, "real.db"), { mustExist: true })).not.toThrow()
  })

  it("for a reader, also refuses a missing or empty file", () => {
    const d = dir()
    expect(refusal(join(d, "none.db"), true)).toMatch(/^no trace database here/)
    writeFileSync(join(d, "empty.db"), "")
    expect(refusal(join(d, "empty.db"), true)).toMatch(/^is empty, not a trace database/)
  })
})
