import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { formatNpy } from "../../src/gpu/npy/npy.js"

type Entry = [number[], Float32Array | Int32Array, ("<f4" | "<i4")?]

/** A well-formed `moska attention --in` folder (B 2, Hq 4, Hkv 2, D 16, S 40, U 8), with entries replaced or ("dir") made folders. */
export const npyInputs = (over: Partial<Record<string, Entry | "dir" | Uint8Array>> = {}): string => {
  const dir = mkdtempSync(join(tmpdir(), "moska-npy-"))
  const B = 2, Hq = 4, Hkv = 2, D = 16, S = 40, U = 8
  const f = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i))
  const files: Record<string, Entry | "dir" | Uint8Array | undefined> = {
    "q.npy": [[B, Hq, D], f(B * Hq * D)],
    "shared_k.npy": [[S, Hkv, D], f(S * Hkv * D)],
    "shared_v.npy": [[S, Hkv, D], f(S * Hkv * D)],
    "unique_k.npy": [[B, U, Hkv, D], f(B * U * Hkv * D)],
    "unique_v.npy": [[B, U, Hkv, D], f(B * U * Hkv * D)],
    "unique_len.npy": [[B], Int32Array.from([8, 0]), "<i4"],
    ...over,
  }
  for (const [name, e] of Object.entries(files)) {
    const path = join(dir, name)
    rmSync(path, { recursive: true, force: true })
    if (e === undefined) continue
    if (e === "dir") mkdirSync(path)
    else if (e instanceof Uint8Array) writeFileSync(path, e)
    else writeFileSync(path, formatNpy(e[2] ?? "<f4", e[0], e[1]))
  }
  return dir
}

/** The options `moska attention` passes to readProblem. */
export const attentionOpts = (dir: string, extra: Record<string, string> = {}) =>
  ({ in: dir, out: join(dir, "out"), backend: "cpu", kv: "f32", topK: "all", chunkTokens: "16", ...extra })
