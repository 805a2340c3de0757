import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

// bench/sgm-loop-probe.mjs is the H200 probe for the lazy-O error (docs/kernels-h200.md, session 10b). On lavapipe it
// runs every variant with the subgroup-matrix builtins emulated, so this checks the WGSL around the builtins (loops,
// staging, barriers, indices), the float64 reference and the check itself, at 2 workgroups. Its inputs are exact, so
// every right variant has error 0; the negative control (iteration 0 skipped) must be caught.
const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), "sgm-loop-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Row { readonly variant?: string; readonly iters?: number; readonly mode?: string; readonly error?: string; readonly ok?: boolean; readonly maxAbsErr?: number; readonly wrongElements?: number; readonly elements?: number }
const probe = async (name: string, only: readonly string[]): Promise<{ rows: Row[]; stdout: string }> => {
  const out = join(dir, `${name}.json`)
  const env = { ...process.env, SGM_LOOP_ITERS: "2,3", SGM_LOOP_SETS: "base", SGM_LOOP_MODES: "emu", SGM_LOOP_WGS: "2", SGM_LOOP_ONLY: only.join(",") }
  const { stdout } = await run(process.execPath, ["bench/sgm-loop-probe.mjs", out], { env, maxBuffer: 16 << 20 })
  return { rows: (JSON.parse(readFileSync(out, "utf8")) as { rows: Row[] }).rows, stdout }
}

// kern-lazy-unr (the key-block loop written out) is left out: lavapipe's compiler takes minutes over 32 inlined
// emulated 16×16×16 multiplies; its loop twin kern-lazy runs here.
const VARIANTS = ["loop", "loop-const", "unrolled", "wsm-reload", "wsm-add", "decl-inside", "fn-value", "fn-ptr", "loop-barrier", "loop-wul", "loop-wul-if", "kern-lazy", "kern-lazy-wul", "kern-tile"]

describe("bench/sgm-loop-probe.mjs on lavapipe (emulated subgroup matrices)", () => {
  it("computes O = Σ P_i·V_i exactly in every variant, for 2 and 3 iterations", async () => {
    const { rows, stdout } = await probe("all", VARIANTS)
    expect(rows.map((r) => `${r.variant} n=${r.iters}`)).toEqual(VARIANTS.flatMap((v) => [`${v} n=2`, `${v} n=3`]))
    for (const r of rows) expect({ variant: r.variant, n: r.iters, mode: r.mode, error: r.error, ok: r.ok, maxAbsErr: r.maxAbsErr }).toEqual({ variant: r.variant, n: r.iters, mode: "emu", error: undefined, ok: true, maxAbsErr: 0 })
    expect(stdout).toMatch(/sgm-loop-probe summary/)
  }, 1_800_000)

  it("reports a loop that skips an iteration as wrong (negative control)", async () => {
    const { rows } = await probe("neg", ["neg-skip"])
    expect(rows.length).toBe(2)
    for (const r of rows) {
      expect(r.error).toBeUndefined()
      expect(r.ok).toBe(false)
      expect(r.wrongElements).toBeGreaterThan(r.elements! / 2)
    }
  }, 600_000)
})
