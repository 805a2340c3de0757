import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/** Newest modification time (ms) of the files under `dir`. */
const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name)
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }, 0)

/**
 * Builds dist/ with tsc unless dist/cli/main.js is newer than every file under src/: a build takes
 * most of a minute on this machine, and several CLI suites need one.
 * @example beforeAll(() => buildIfStale(ROOT), 300_000)
 */
export const buildIfStale = (root: string): void => {
  const main = join(root, "dist/cli/main.js")
  if (existsSync(main) && statSync(main).mtimeMs > newest(join(root, "src"))) return
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" })
  if (r.status !== 0 || !existsSync(main)) throw new Error(`build failed:\n${r.stdout}${r.stderr}`)
}
