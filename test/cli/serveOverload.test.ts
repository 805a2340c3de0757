import Database from "better-sqlite3"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnServer } from "../../src/live/server/spawnServer.js"
import { buildIfStale } from "./buildIfStale.js"

// `moska serve` under twice its capacity, wave after wave: the server must refuse the excess with
// 503 + Retry-After, complete and trace every request it accepted, and hold its memory (a bounded
// queue, nothing kept per refused or finished request).
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
// an 8B model priced on the wall clock (~4 ms per decode step) and one request at a time, so a
// 50-token request lasts ~0.2 s and a wave of requests queues
const ARGS = ["--set", "model=llama-3.1-8b", "--set", "live.maxContextTokens=4096", "--set", "policy.maxBatch=1"]
const MAX_QUEUED = 4
const CAPACITY = 1 + MAX_QUEUED // running + waiting
const WAVES = 6

/** Resident memory of a process, from /proc (Linux). */
const rssBytes = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  if (m === null) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

let child: ChildProcess
let url = ""
let db = ""

beforeAll(async () => {
  buildIfStale(ROOT)
  db = join(mkdtempSync(join(tmpdir(), "moska-overload-")), "serve.db")
  const s = await spawnServer(MAIN, ["scenarios/live/tiny.yaml", "--executor", "priced", "--port", "0", "--db", db, "--max-queued", String(MAX_QUEUED), ...ARGS], ROOT)
  child = s.child
  url = s.url
}, 300_000)

afterAll(() => {
  child?.kill("SIGKILL")
})

describe("serve under twice its capacity", () => {
  it("refuses the excess with 503 + Retry-After, completes and traces every accepted request, and its memory does not grow wave over wave", async () => {
    const accepted: string[] = []
    let refused = 0
    const rss: number[] = []
    for (let wave = 0; wave < WAVES; wave++) {
      const ids = Array.from({ length: 2 * CAPACITY }, (_, i) => `w${wave}-${i}`)
      const rs = await Promise.all(ids.map((id) => fetch(`${url}/v1/completions`, {
        method: "POST", headers: { "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({ prompt: "overload", max_tokens: 50 }),
      })))
      for (const [i, r] of rs.entries()) {
        if (r.status === 503) {
          refused++
          expect(r.headers.get("retry-after")).toBe("1")
          expect(await r.json()).toMatchObject({ object: "error", code: 503 })
        } else {
          expect(r.status).toBe(200)
          expect(((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(50)
          accepted.push(ids[i] as string)
        }
      }
      rss.push(rssBytes(child.pid as number))
    }
    // waves of 2× capacity arriving at once cannot all be taken: the queue bound holds
    expect(refused).toBeGreaterThan(0)
    expect(accepted.length).toBeGreaterThanOrEqual(WAVES * CAPACITY - WAVES)
    // every accepted request is a completed row of the run (the writer commits within ~50 ms)
    await new Promise((r) => setTimeout(r, 500))
    const d = new Database(db, { readonly: true })
    const rows = d.prepare("SELECT e.external_id AS id, r.status FROM requests r JOIN request_external_ids e USING (run_id, request_id)").all() as Array<{ id: string; status: string }>
    d.close()
    const traced = new Map(rows.map((r) => [r.id, r.status]))
    for (const id of accepted) expect(traced.get(id), id).toBe("completed")
    expect(rows.length).toBe(accepted.length) // refused requests leave no row
    // memory: the last waves cost no more than the first (a bound, not a timing: 64 MiB of slack for GC and allocator noise)
    expect(Math.max(...rss.slice(2)), rss.map((b) => `${(b / 2 ** 20).toFixed(0)} MiB`).join(", ")).toBeLessThan((rss[1] as number) + 64 * 2 ** 20)
  }, 300_000)
})
