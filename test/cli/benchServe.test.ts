import Database from "better-sqlite3"
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Command } from "commander"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serveResult, percentileOf } from "../../src/bench/serveResult.js"
import type { ServeBenchOutcome } from "../../src/bench/serveRequest.js"
import { serveWorkload } from "../../src/bench/serveWorkload.js"
import { registerBenchServe } from "../../src/cli/commands/benchServe.js"
import { exitCodeOf, messageOf } from "../../src/cli/exit.js"
import { makeRng } from "../../src/core/rng.js"
import { spawnServer } from "../../src/live/server/spawnServer.js"
import { buildIfStale } from "./buildIfStale.js"

// `moska bench serve`: its arithmetic against hand-computed figures, its flags, and a run against
// `moska serve --executor priced` on loopback whose counts are checked against the server's trace DB.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")

const outcome = (o: Partial<ServeBenchOutcome>): ServeBenchOutcome => ({ success: true, promptLen: 10, outputTokens: 1, ttftS: 0, itlS: [], latencyS: 0, error: "", ...o })

describe("serveResult (vllm bench serve's definitions)", () => {
  it("interpolates percentiles linearly between closest ranks, as numpy does", () => {
    expect(percentileOf([1, 2, 3, 4], 50)).toBe(2.5)
    expect(percentileOf([10, 20, 30, 40, 50], 90)).toBeCloseTo(46, 10)
    expect(percentileOf([7], 99)).toBe(7)
    expect(percentileOf([], 99)).toBe(0)
  })

  it("computes TPOT excluding the first token, pools ITL, counts failures and goodput", () => {
    const outcomes = [
      outcome({ promptLen: 5, outputTokens: 3, ttftS: 0.1, itlS: [0.02, 0.04], latencyS: 0.16 }), // TPOT 30 ms
      outcome({ promptLen: 7, outputTokens: 1, ttftS: 0.3, latencyS: 0.3 }), // no TPOT (one token), goodput TPOT 0
      outcome({ promptLen: 9, outputTokens: 5, ttftS: 0.05, itlS: [0.01, 0.01, 0.01, 0.01], latencyS: 0.09 }), // TPOT 10 ms
      outcome({ success: false, promptLen: 100, outputTokens: 0, error: "HTTP 400: too long" }),
    ]
    const r = serveResult({ outcomes, durationS: 2, metrics: ["ttft", "tpot", "itl", "e2el"], percentiles: [50, 99], goodput: { ttft: 200, tpot: 20 } })
    expect(r).toMatchObject({ completed: 3, failed: 1, total_input_tokens: 21, total_output_tokens: 9, duration: 2 })
    expect(r.request_throughput).toBeCloseTo(1.5, 12)
    expect(r.output_throughput).toBeCloseTo(4.5, 12)
    expect(r.total_token_throughput).toBeCloseTo(15, 12)
    expect(r.request_goodput).toBeCloseTo(0.5, 12) // the third only: the first's TPOT and the second's TTFT are over
    expect(r.mean_tpot_ms).toBeCloseTo(20, 9)
    expect(r.median_tpot_ms).toBeCloseTo(20, 9)
    expect(r.std_tpot_ms).toBeCloseTo(10, 9) // population std of [30, 10]
    expect(r.mean_ttft_ms).toBeCloseTo(150, 9)
    expect(r.p50_ttft_ms).toBeCloseTo(100, 9)
    expect(r.p99_ttft_ms).toBeCloseTo(100 + 200 * 0.98, 9)
    expect(r.mean_itl_ms).toBeCloseTo((20 + 40 + 40) / 6, 9)
    expect(r.median_itl_ms).toBeCloseTo(10, 9)
    expect(r.p99_e2el_ms).toBeCloseTo(160 + 140 * 0.98, 9)
    expect(serveResult({ outcomes, durationS: 2, metrics: ["ttft"], percentiles: [99.9], goodput: null })).toMatchObject({ request_goodput: null, "p99.9_ttft_ms": expect.any(Number) })
  })

  it("draws the same prompts and gamma arrivals from the same seed, starting at 0, all at 0 for an infinite rate", () => {
    const lengths = { kind: "random", inputLen: 20, outputLen: 4, rangeRatio: 0.5, n: 50 } as const
    const a = serveWorkload(lengths, { kind: "rate", rate: 10, burstiness: 0.5 }, makeRng(3))
    const b = serveWorkload(lengths, { kind: "rate", rate: 10, burstiness: 0.5 }, makeRng(3))
    expect(a).toEqual(b)
    expect(a.arrivalsMs[0]).toBe(0)
    for (let i = 1; i < a.arrivalsMs.length; i++) expect(a.arrivalsMs[i]).toBeGreaterThanOrEqual(a.arrivalsMs[i - 1] as number)
    for (const r of a.requests) {
      expect(r.promptIds).toHaveLength(r.promptLen)
      expect(r.promptLen).toBeGreaterThanOrEqual(10)
      expect(r.promptLen).toBeLessThanOrEqual(30)
      for (const id of r.promptIds) expect(id >= 32 && id < 127).toBe(true)
    }
    // a different rate moves the arrivals only, not the prompts
    const c = serveWorkload(lengths, { kind: "rate", rate: Number.POSITIVE_INFINITY, burstiness: 1 }, makeRng(3))
    expect(c.requests).toEqual(a.requests)
    expect(c.arrivalsMs.every((t) => t === 0)).toBe(true)
    const trace = serveWorkload({ kind: "trace", n: 2, specs: [{ id: 0, arrivalNs: 5_000_000 as never, uniqueTokens: 3, outputTokens: 2 }, { id: 1, arrivalNs: 9_000_000 as never, uniqueTokens: 4, outputTokens: 1 }] }, { kind: "trace", timeScale: 0.5 }, makeRng(1))
    expect(trace.arrivalsMs).toEqual([0, 2])
    expect(trace.requests.map((r) => [r.promptLen, r.outputLen])).toEqual([[3, 2], [4, 1]])
  })
})

const bench = (args: readonly string[]) => spawnSync(process.execPath, [MAIN, "bench", "serve", ...args], { cwd: ROOT, encoding: "utf8" })

const freePort = (): Promise<number> => new Promise((resolve) => {
  const srv = createServer().listen(0, "127.0.0.1", () => {
    const port = (srv.address() as { port: number }).port
    srv.close(() => resolve(port))
  })
})

beforeAll(() => buildIfStale(ROOT), 300_000) // a no-op after test/globalSetup.ts built dist/

/** Parses `bench serve ARGS` in this process (a fresh program each time): the error it throws, or undefined. */
const parse = async (args: readonly string[]): Promise<unknown> => {
  const program = new Command().exitOverride()
  registerBenchServe(program)
  try {
    await program.parseAsync(["bench", "serve", ...args], { from: "user" })
    return undefined
  } catch (e) {
    return e
  }
}

describe("moska bench serve flags", () => {
  it("refuses bad flags with one line and exit 2, before sending anything", async () => {
    const url = ["--url", "http://127.0.0.1:9"]
    const cases: Array<[string[], RegExp]> = [
      [["--random-input-len", "4", "--random-output-len", "2"], /needs --url/],
      [["--url", "not a url", "--random-input-len", "4", "--random-output-len", "2"], /--url is not a URL/],
      [[...url], /needs --trace FILE or --random-input-len/],
      [[...url, "--random-input-len", "4"], /go together/],
      [[...url, "--trace", "x.csv", "--random-input-len", "4", "--random-output-len", "2"], /not both/],
      [[...url, "--random-input-len", "0", "--random-output-len", "2"], /--random-input-len must be an integer/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--request-rate", "-1"], /--request-rate must be a positive number/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--burstiness", "0"], /--burstiness/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--max-concurrency", "0"], /--max-concurrency/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--percentile-metrics", "ttft,foo"], /unknown metric "foo"/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--metric-percentiles", "50,0"], /--metric-percentiles/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--goodput", "speed:3"], /--goodput takes METRIC:MS/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--goodput", "ttft:abc"], /--goodput ttft/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--endpoint", "/v1/embeddings"], /--endpoint/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--use-trace-arrivals"], /needs --trace/],
      [[...url, "--random-input-len", "4", "--random-output-len", "2", "--save-result", "/no/such/dir/r.json"], /no such directory/],
      [[...url, "--trace", "/no/such/trace.csv"], /cannot read the trace file/],
    ]
    for (const [args, message] of cases) {
      const e = await parse(args) // port 9 is never reached: every case fails before a request
      expect(exitCodeOf(e), `${args.join(" ")}: ${messageOf(e)}`).toBe(2)
      expect(messageOf(e).split("\n"), args.join(" ")).toHaveLength(1)
      expect(messageOf(e), args.join(" ")).toMatch(message)
    }
    // and the binary says so in one line with exit 2
    for (const [args, message] of cases.slice(0, 2)) {
      const r = bench(args)
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr, args.join(" ")).toMatch(message)
    }
  })

  it("reports an unreachable server in one line", async () => {
    const r = bench(["--url", `http://127.0.0.1:${await freePort()}`, "--random-input-len", "4", "--random-output-len", "2", "--num-prompts", "1"])
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^moska: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })
})

describe("moska bench serve against moska serve --executor priced", () => {
  let child: ChildProcess
  let url = ""
  let exit: Promise<number | null>
  const dir = mkdtempSync(join(tmpdir(), "moska-bench-serve-"))
  const db = join(dir, "serve.db")
  beforeAll(async () => {
    const s = await spawnServer(MAIN, ["scenarios/live/tiny.yaml", "--executor", "priced", "--port", "0", "--db", db], ROOT)
    child = s.child
    url = s.url
    exit = s.exit
  }, 60_000)
  afterAll(() => {
    if (child.exitCode === null) child.kill("SIGKILL")
  })

  const results: Array<Record<string, any>> = []

  it("completes N random requests under a concurrency cap and writes vLLM's result fields", () => {
    const file = join(dir, "random.json")
    const r = bench(["--url", url, "--random-input-len", "16", "--random-output-len", "6", "--random-range-ratio", "0.5", "--num-prompts", "12",
      "--request-rate", "200", "--burstiness", "0.7", "--max-concurrency", "3", "--ignore-eos", "--seed", "5", "--request-id-prefix", "rand-",
      "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99", "--goodput", "ttft:60000", "tpot:60000", "--save-result", file])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain("Serving Benchmark Result")
    const j = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>
    results.push(j)
    expect(j).toMatchObject({ completed: 12, failed: 0, model_id: "tiny-llama", num_prompts: 12, max_concurrency: 3, request_rate: 200, burstiness: 0.7 })
    for (const m of ["ttft", "tpot", "itl", "e2el"]) for (const k of ["mean", "median", "std", "p50", "p90", "p99"]) expect(typeof j[`${k}_${m}_ms`], `${k}_${m}_ms`).toBe("number")
    for (const k of ["duration", "request_throughput", "output_throughput", "total_token_throughput"]) expect(j[k]).toBeGreaterThan(0)
    expect(j.request_goodput).toBeCloseTo(j.request_throughput, 9) // bounds of a minute: every request is good
    expect(j.output_lens).toEqual(j.input_lens.map(() => expect.any(Number)))
    expect(j.errors).toEqual(Array(12).fill(""))
    expect(j.itls.map((g: number[], i: number) => g.length + 1 === j.output_lens[i])).toEqual(Array(12).fill(true))
  })

  it("replays a trace's lengths and arrival times through the chat endpoint", () => {
    const trace = join(dir, "trace.csv")
    writeFileSync(trace, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9000000,20,5\n2023-11-16 18:17:03.9100000,12,3\n2023-11-16 18:17:03.9300000,30,4\n2023-11-16 18:17:03.9400000,8,2\n")
    const r = bench(["--url", `${url}/v1/`, "--endpoint", "/v1/chat/completions", "--trace", trace, "--use-trace-arrivals", "--trace-time-scale", "2", "--request-id-prefix", "trace-", "--json"])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain("Serving Benchmark Result")
    const j = JSON.parse(r.stdout) as Record<string, any>
    results.push(j)
    expect(j).toMatchObject({ completed: 4, failed: 0, total_output_tokens: 5 + 3 + 4 + 2, endpoint_type: "openai-chat", request_rate: "trace", trace_time_scale: 2 })
    expect(j.output_lens).toEqual([5, 3, 4, 2])
  })

  it("agrees with the server's trace database on requests completed and tokens in and out", async () => {
    child.kill("SIGTERM")
    expect(await exit).toBe(0)
    const d = new Database(db, { readonly: true })
    try {
      for (const [prefix, j] of [["rand-", results[0]], ["trace-", results[1]]] as const) {
        const rows = d.prepare(
          "SELECT count(*) AS n, sum(r.unique_tokens) AS input, sum(r.output_tokens) AS output FROM requests r JOIN request_external_ids e USING (run_id, request_id) WHERE e.external_id LIKE ? AND r.status = 'completed'",
        ).get(`${prefix}%`) as { n: number; input: number; output: number }
        expect(rows).toEqual({ n: j?.completed, input: j?.total_input_tokens, output: j?.total_output_tokens })
      }
      expect(d.prepare("SELECT count(*) FROM requests WHERE status <> 'completed'").pluck().get()).toBe(0)
    } finally {
      d.close()
    }
  })
})
