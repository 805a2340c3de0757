import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach } from "vitest"

/** A `moska` child process and what it has printed so far. */
export interface Proc {
  readonly child: ChildProcess
  readonly out: { stdout: string; stderr: string }
  /** The exit code, or the signal's name (e.g. "SIGSEGV") when a signal ended it: a failed expectation then says which. */
  readonly exited: Promise<number | string>
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")

/**
 * For suites that run a disaggregated deployment as real processes: `start(args)` spawns
 * `node dist/cli/main.js ...args` and `tmp()` makes a scratch folder; after each test every child
 * still running is killed and every folder removed, so a failed test leaves no process behind.
 * @example const { start, tmp } = processes(); const c = start(["live", SCENARIO, "--bind", addr])
 */
export const processes = (): { readonly start: (args: string[]) => Proc; readonly tmp: () => string } => {
  const children: ChildProcess[] = []
  const dirs: string[] = []
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const start = (args: string[]): Proc => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    children.push(child)
    const out = { stdout: "", stderr: "" }
    child.stdout?.on("data", (d: Buffer) => (out.stdout += d.toString()))
    child.stderr?.on("data", (d: Buffer) => (out.stderr += d.toString()))
    const exited = new Promise<number | string>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? "no exit code")))
    return { child, out, exited }
  }
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), "moska-disagg-"))
    dirs.push(d)
    return d
  }
  return { start, tmp }
}
