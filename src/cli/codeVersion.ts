import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The package root (where package.json, db/, scenarios/ and data/ live), from src/cli or dist/cli. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url))

let cached: string | undefined

/**
 * What code produced a run: `git describe --always --dirty` of the checkout the CLI runs from, or
 * `moska@<package version>` outside a git checkout (an npm install). Recorded in `runs.code_version`.
 * @example codeVersion() // "4f3c2a1-dirty"
 */
export const codeVersion = (): string => {
  if (cached !== undefined) return cached
  try {
    cached = execFileSync("git", ["describe", "--always", "--dirty", "--tags"], {
      cwd: PACKAGE_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000,
    }).trim()
  } catch {
    const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")) as { version?: string }
    cached = `moska@${pkg.version ?? "unknown"}`
  }
  return cached
}
