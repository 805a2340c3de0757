import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

// The CLI suites run the built binary. Building once here, before any test file starts, keeps two
// suites from rewriting dist/ under each other (a half-written module fails the other's spawns).
export default function setup(): void {
  const root = fileURLToPath(new URL("../", import.meta.url))
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" })
  if (r.status !== 0 || !existsSync(join(root, "dist/cli/main.js"))) throw new Error(`build failed:\n${r.stdout}${r.stderr}`)
}
