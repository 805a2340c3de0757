import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "../../cli/buildIfStale.js"
import { processes, type Proc } from "./processes.js"

// `moska serve --bind` as the coordinator of a disaggregated deployment: the server, one unique and
// one shared `moska worker` as real processes on ipc://, priced executors, real HTTP.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const SCENARIO = "scenarios/live/tiny-disagg.yaml"
// An 8B model: each priced decode step takes milliseconds, so a long request is still in flight
// when its shared worker is killed, however busy the host.
const SLOW = ["--set", "model=llama-3.1-8b", "--set", "live.maxContextTokens=4096"]

const { start, tmp } = processes()

const until = async <T>(f: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 3_000; i++) {
    const v = await f()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** /health as (status, message): the message of vLLM's error body on a 503, "" on 200. */
const health = async (url: string): Promise<{ status: number; message: string }> => {
  const r = await fetch(`${url}/health`)
  const text = await r.text()
  return { status: r.status, message: r.status === 200 ? text : (JSON.parse(text) as { message: string }).message }
}

const complete = (url: string, maxTokens: number): Promise<Response> =>
  fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "Hello", max_tokens: maxTokens, stream: true }) })

/** The SSE body's completion chunks (without the final [DONE]), the error events' messages, and whether [DONE] came. */
const chunks = (text: string): { choices: Array<{ text: string; finish_reason: string | null }>; errors: string[]; done: boolean } => {
  const data = text.split("\n\n").filter((e) => e.length > 0).map((e) => e.slice("data: ".length))
  const done = data.at(-1) === "[DONE]"
  const events = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as { choices?: Array<{ text: string; finish_reason: string | null }>; error?: { message: string; code: number } })
  return {
    choices: events.filter((e) => e.error === undefined).map((e) => e.choices?.[0] as { text: string; finish_reason: string | null }),
    errors: events.flatMap((e) => (e.error === undefined ? [] : [e.error.message])),
    done,
  }
}

/** The requests table as (status, reason) in id order, read while the server may still write it. */
const requestRows = (db: string): Array<{ status: string; reason: string | null }> => {
  const d = new Database(db, { readonly: true })
  try {
    return d.prepare("SELECT status, reason FROM requests ORDER BY request_id").all() as Array<{ status: string; reason: string | null }>
  } finally {
    d.close()
  }
}

beforeAll(() => buildIfStale(ROOT), 300_000)

describe("moska serve --bind refuses bad input with one line and exit 2", () => {
  const run = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })
  it.each([
    [["serve", SCENARIO, "--bind", "tcp://127.0.0.1:0"], "--bind must be ipc://PATH or tcp://HOST:PORT with a port from 1 to 65535"],
    [["serve", SCENARIO, "--bind", "ipc:///tmp/moska-never.sock", "--links", "fast"], "--links must be priced or real (got \"fast\")"],
    [["serve", SCENARIO, "--bind", "ipc:///tmp/moska-never.sock", "--rejoin-s", "-1"], "--rejoin-s must be an integer from 0 to 86400 (got \"-1\")"],
    [["serve", "scenarios/live/tiny.yaml", "--bind", "ipc:///tmp/moska-never.sock"], "serve --bind with webgpu workers runs MoSKA disaggregated: set policy.disaggregated=true"],
    [["serve", "scenarios/live/tiny-webgpu-disagg.yaml", "--bind", "ipc:///tmp/moska-never.sock"], "serve --bind with webgpu workers moves real query rows and partials between them: add --links real"],
  ])("moska %j", (args, message) => {
    const r = run(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(message)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })
})

describe("moska serve --bind without its workers", () => {
  const serve = (dir: string, extra: string[]): Proc =>
    start(["serve", SCENARIO, "--executor", "priced", "--port", "0", "--db", join(dir, "serve.db"), "--bind", `ipc://${join(dir, "c.sock")}`, ...extra])
  const runRow = (dir: string) => {
    const d = new Database(join(dir, "serve.db"), { readonly: true })
    try {
      return d.prepare("SELECT status, error FROM runs").get() as { status: string; error: string | null }
    } finally {
      d.close()
    }
  }

  it("exits 1 naming the missing workers after --workers-timeout-s, and marks the run failed", async () => {
    const dir = tmp()
    const server = serve(dir, ["--workers-timeout-s", "1"])
    expect(await server.exited).toBe(1)
    expect(server.out.stderr).toMatch(/^moska: the scenario's pools are not complete after 1 s: missing unique-0, shared-0; start `moska worker --role unique --connect ipc:.*` and `moska worker --role shared --connect ipc:.*`$/m)
    expect(runRow(dir)).toMatchObject({ status: "failed" })
  }, 120_000)

  it("stops waiting on SIGTERM and exits 0", async () => {
    const dir = tmp()
    const server = serve(dir, [])
    await until(() => (server.out.stderr.includes("waiting for workers unique-0, shared-0") ? true : undefined), "the coordinator to wait")
    server.child.kill("SIGTERM")
    expect(await server.exited, server.out.stderr).toBe(0)
    expect(runRow(dir)).toEqual({ status: "finished", error: null })
  }, 120_000)
})

describe("moska serve --bind with moska worker processes", () => {
  it("reports readiness on /health, serves, fails the requests the dead shared worker held at once (error event or 500, rows committed), stays up degraded, serves the queued one when a worker rejoins, and exits 0 on SIGTERM", async () => {
    const dir = tmp()
    const db = join(dir, "serve.db")
    const address = `ipc://${join(dir, "c.sock")}`
    const server = start(["serve", SCENARIO, ...SLOW, "--executor", "priced", "--port", "0", "--db", db, "--grace-s", "1",
      "--bind", address, "--heartbeat-ms", "50", "--lost-after-ms", "500"])
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(server.out.stderr)?.[1], "the server to listen")

    // Listening before any worker: 503 with the missing ids, on /health and for a request.
    expect(await health(url)).toEqual({ status: 503, message: "waiting for workers: unique-0, shared-0" })
    const early = await complete(url, 4)
    expect(early.status).toBe(503)
    expect(early.headers.get("retry-after")).toBe("1")
    expect(((await early.json()) as { message: string }).message).toMatch(/^waiting for workers: unique-0, shared-0; retry/)

    const unique = start(["worker", "--role", "unique", "--connect", address])
    await until(async () => ((await health(url)).message === "waiting for workers: shared-0" ? true : undefined), "/health to name only shared-0")
    const shared = start(["worker", "--role", "shared", "--connect", address])
    await until(async () => ((await health(url)).status === 200 ? true : undefined), "/health 200")

    // A streamed completion runs through both workers.
    const ok = chunks(await (await complete(url, 8)).text())
    expect(ok.done).toBe(true)
    expect(ok.choices).toHaveLength(8)
    expect(ok.choices.at(-1)?.finish_reason).toBe("length")

    // Four long requests fill the decode set (policy.maxBatch 4), three streaming and one not; a fifth waits for admission.
    const readers: Array<{ reader: ReadableStreamDefaultReader<Uint8Array>; body: string }> = []
    for (let i = 0; i < 3; i++) {
      const reader = ((await complete(url, 3_000)).body as ReadableStream<Uint8Array>).getReader()
      const first = await reader.read()
      expect(first.done).toBe(false)
      readers.push({ reader, body: new TextDecoder().decode(first.value) })
    }
    const plain = fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "Hello", max_tokens: 3_000 }) })
    const gauge = async (name: string, n: number): Promise<true | undefined> =>
      new RegExp(`^vllm:${name}\\{[^}]*\\} ${n}$`, "m").test(await (await fetch(`${url}/metrics`)).text()) ? true : undefined
    await until(() => gauge("num_requests_running", 4), "four requests running")
    const queued = complete(url, 4)
    await until(() => gauge("num_requests_waiting", 1), "one request waiting for admission")
    // The shared worker is killed: the four decoding requests, whose steps' shared attention it
    // held, fail with its name (an error event on each stream, a 500 for the one not streaming);
    // the server stays up, degraded.
    shared.child.kill("SIGKILL")
    for (const r of readers) {
      for (;;) {
        const next = await r.reader.read()
        if (next.done) break
        r.body += new TextDecoder().decode(next.value)
      }
      const cut = chunks(r.body)
      expect(cut.done).toBe(true)
      expect(cut.choices.at(-1)?.finish_reason).toBe("error")
      expect(cut.choices.length).toBeLessThan(3_000)
      expect(cut.errors).toHaveLength(1)
      expect(cut.errors[0]).toMatch(/^WorkerLost: shared-0 \(.+ pid \d+\) sent nothing for \d+ ms/)
    }
    const failedPlain = await plain
    expect(failedPlain.status).toBe(500)
    expect(await failedPlain.json()).toMatchObject({ object: "error", code: 500, type: "InternalServerError", message: expect.stringMatching(/^WorkerLost: shared-0 /) })
    expect(server.out.stderr).toMatch(/moska: shared-0 is lost and no worker took its place: 4 requests in flight failed/)
    // Their rows are committed now, before any rejoin or shutdown; the queued request has no row yet.
    const committed = await until(() => {
      const rows = requestRows(db)
      return rows.filter((r) => r.status === "failed").length === 4 ? rows : undefined
    }, "the failed rows in the database")
    expect(committed.map((r) => r.status)).toEqual(["completed", "failed", "failed", "failed", "failed"])
    for (const r of committed.slice(1)) expect(r.reason).toMatch(/^WorkerLost: shared-0 /)
    expect(await health(url)).toEqual({ status: 503, message: "degraded: shared-0 lost" })
    const refused = await complete(url, 4)
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as { message: string }).message).toMatch(/^degraded: shared-0 lost; retry/)
    expect((await fetch(`${url}/v1/models`)).status).toBe(200)

    // A restarted worker takes shared-0: the queued request, which no lost worker held, is served, and serving resumes.
    const again = start(["worker", "--role", "shared", "--connect", address])
    const waited = chunks(await (await queued).text())
    expect(waited.errors).toEqual([])
    expect(waited.choices.at(-1)?.finish_reason).toBe("length")
    await until(async () => ((await health(url)).status === 200 ? true : undefined), "/health 200 after the rejoin")
    const resumed = chunks(await (await complete(url, 4)).text())
    expect(resumed.choices.at(-1)?.finish_reason).toBe("length")

    server.child.kill("SIGTERM")
    expect(await server.exited, server.out.stderr).toBe(0)
    expect(await unique.exited, unique.out.stderr).toBe(0)
    expect(await again.exited, again.out.stderr).toBe(0)
    const d = new Database(db, { readonly: true })
    const run = d.prepare("SELECT status, error FROM runs").get() as { status: string; error: string | null }
    d.close()
    const rows = requestRows(db)
    expect(run.status).toBe("interrupted")
    expect(run.error).toMatch(/^shared-0 \(.+ pid \d+\) sent nothing for \d+ ms .*4 requests in flight failed$/)
    // each request ended once: the failed rows are not written again when their step completed after the rejoin
    expect(rows.map((r) => r.status)).toEqual(["completed", "failed", "failed", "failed", "failed", "completed", "completed"])
    for (const r of rows.slice(1, 5)) expect(r.reason).toMatch(/^WorkerLost: shared-0 /)
  }, 300_000)
})
