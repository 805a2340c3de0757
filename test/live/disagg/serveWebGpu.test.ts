import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "../../cli/buildIfStale.js"
import { processes, type Proc } from "./processes.js"

// `moska serve --bind` with webgpu workers (lavapipe here): the server holds no device; the unique
// worker's decoder samples the tokens of the clients' prompts and the shared worker attends each
// decode layer's routed rows. Compared with `moska serve` on one device for the same requests.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const SCENARIO = "scenarios/live/tiny-webgpu-disagg.yaml"
// Cold lavapipe shader compiles can stall a process for a while: nobody is declared lost meanwhile.
const PATIENT = ["--lost-after-ms", "600000"]

const { start, tmp } = processes()

const until = async <T>(f: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 6_000; i++) {
    const v = await f()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

// greedy twice (two prompts) and once hot with the client's seed: the prompt ids, temperature and seed must reach the remote decoder
const BODIES = [
  { prompt: "The quick brown fox", temperature: 0 },
  { prompt: [76, 111, 114, 101, 109, 32, 105, 112, 115, 117, 109], temperature: 0 },
  { prompt: "sample me", temperature: 2, seed: 11 },
]

/** Each body's completion text and token count, one request at a time (so both servers batch alike: one request per step). */
const completions = async (server: Proc): Promise<Array<{ text: string; tokens: number; fingerprint: string }>> => {
  const url = await until(() => /listening on (http:\/\/\S+)/.exec(server.out.stderr)?.[1], "the server to listen")
  await until(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined), "/health 200")
  const out: Array<{ text: string; tokens: number; fingerprint: string }> = []
  for (const body of BODIES) {
    const r = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ max_tokens: 6, ...body }) })
    expect(r.status, server.out.stderr).toBe(200)
    const j = (await r.json()) as { choices: Array<{ text: string }>; usage: { completion_tokens: number }; system_fingerprint: string }
    out.push({ text: j.choices[0]!.text, tokens: j.usage.completion_tokens, fingerprint: j.system_fingerprint })
  }
  return out
}

beforeAll(() => buildIfStale(ROOT), 300_000)

describe("moska serve --bind with webgpu workers", () => {
  it("answers the clients' prompts with the same tokens as moska serve on one device, greedy and sampled; the server and workers exit 0", async () => {
    const dir = tmp()
    const one = start(["serve", SCENARIO, "--executor", "webgpu", "--set", "policy.disaggregated=false", "--port", "0", "--db", join(dir, "one.db")])
    const colocated = await completions(one)
    one.child.kill("SIGTERM")
    expect(await one.exited, one.out.stderr).toBe(0)

    const address = `ipc://${join(dir, "c.sock")}`
    const server = start(["serve", SCENARIO, "--executor", "webgpu", "--port", "0", "--db", join(dir, "two.db"), "--bind", address, "--links", "real", "--workers-timeout-s", "600", ...PATIENT])
    const unique = start(["worker", "--role", "unique", "--connect", address, "--executor", "webgpu", ...PATIENT])
    const shared = start(["worker", "--role", "shared", "--connect", address, "--executor", "webgpu", ...PATIENT])
    const disagg = await completions(server)
    server.child.kill("SIGTERM")
    expect(await server.exited, server.out.stderr).toBe(0)
    expect(await unique.exited, unique.out.stderr).toBe(0)
    expect(await shared.exited, shared.out.stderr).toBe(0)

    expect(colocated.every((c) => c.tokens === 6 && c.fingerprint.includes("webgpu"))).toBe(true)
    // a worker that ignored the clients' input would decode seeded prompt ids, or greedily: other tokens
    expect(disagg).toEqual(colocated)
    expect(unique.out.stderr).toContain("decode steps' shared attention on shared-0")
    expect(shared.out.stderr).toMatch(/answered [1-9]\d* layer requests/)
  }, 1_200_000)
})
