import { Either } from "effect"
import fc from "fast-check"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { exitCodeOf, messageOf } from "../../src/cli/exit.js"
import { readProblem } from "../../src/cli/readAttentionProblem.js"
import { InputFileInvalid, ScenarioInvalid, UsageError } from "../../src/core/errors.js"
import { loadScenarioText } from "../../src/core/scenarioLoader.js"
import { firstNonFinite, formatNpy, parseNpy } from "../../src/gpu/npy/npy.js"
import { parseTrace } from "../../src/traces/parseTrace.js"
import { attentionOpts, npyInputs } from "../cli/npyInputs.js"
import { badNpy, badOverride, badScenarioYaml, badTrace, badYamlText, cleanLine, FUZZ_RUNS, FUZZ_SEED, manyUnknownKeys, related } from "./inputContract.js"

// The CLI's input contract (README "Exit codes"): bad input exits 2 with one line per problem naming
// the field or the file (and line), no stack trace, nothing written to the database. The parsers and
// validators run in-process (fast); a handful of generated cases go through the CLI itself.

const params = (n = FUZZ_RUNS) => ({ seed: FUZZ_SEED, numRuns: n })

/** Per property: cases, clean errors, and each kind of contract breach (printed by the long run). */
const table = new Map<string, { cases: number; clean: number; wrongOutcome: number; stackTrace: number; unnamed: number; dbWrite: number; hang: number }>()
const tally = (name: string, k: "clean" | "wrongOutcome" | "stackTrace" | "unnamed" | "dbWrite" | "hang" | null) => {
  const row = table.get(name) ?? { cases: 0, clean: 0, wrongOutcome: 0, stackTrace: 0, unnamed: 0, dbWrite: 0, hang: 0 }
  if (k === null) row.cases++
  else row[k]++
  table.set(name, row)
}
afterAll(() => {
  if (process.env.FUZZ_RUNS !== undefined) {
    console.table(Object.fromEntries(table))
  }
})

/**
 * A case that takes longer than this is counted as a hang in the long run's table (a liveness
 * count for `npm run fuzz`, not a speed target: no test fails on it).
 */
const HANG_MS = 10_000
/** Wraps a property's predicate so that the table counts the cases that hung. */
const timed = <A extends unknown[]>(name: string, f: (...a: A) => void) => (...a: A): void => {
  const t0 = process.hrtime.bigint()
  try {
    f(...a)
  } finally {
    if (Number(process.hrtime.bigint() - t0) / 1e6 > HANG_MS) tally(name, "hang")
  }
}

/** The lines the CLI prints for a failure, checked against the contract; returns them. */
const contractLines = (name: string, err: unknown, names: (line: string) => boolean): string[] => {
  tally(name, null)
  if (exitCodeOf(err) !== 2) {
    tally(name, "wrongOutcome")
    throw new Error(`exit code ${exitCodeOf(err)} for ${String(err)}`)
  }
  const lines = messageOf(err).split("\n")
  if (!lines.every(cleanLine)) {
    tally(name, "stackTrace")
    throw new Error(`not one clean line per problem:\n${lines.join("\n")}`)
  }
  if (!lines.every(names)) {
    tally(name, "unnamed")
    throw new Error(`a line does not name the field or file:\n${lines.join("\n")}`)
  }
  tally(name, "clean")
  return lines
}

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe("fuzz: scenario files", () => {
  it("1-3 bad fields give exit 2 and one line per problem, each naming a bad field (at most 20 listed)", () => {
    fc.assert(
      fc.property(badScenarioYaml, timed("scenario fields", ({ text, paths }) => {
        const r = loadScenarioText(text, { source: "f.yaml" })
        expect(Either.isLeft(r)).toBe(true)
        const err = (r as Either.Left<ScenarioInvalid, unknown>).left
        for (const i of err.issues) expect(related(i.path, paths), `${i.path} is not one of ${paths.join(", ")}`).toBe(true)
        const lines = contractLines("scenario fields", err, (l) => l.startsWith("f.yaml: "))
        expect(lines.length).toBeLessThanOrEqual(21)
      })),
      params(),
    )
  })

  it("YAML that fails when read (syntax, aliases, bombs, complex keys, tags, non-mappings) gives exit 2 naming the file", () => {
    fc.assert(
      fc.property(badYamlText, timed("scenario YAML", (text) => {
        const r = loadScenarioText(text, { source: "f.yaml" })
        expect(Either.isLeft(r)).toBe(true)
        contractLines("scenario YAML", (r as Either.Left<ScenarioInvalid, unknown>).left, (l) => l.startsWith("f.yaml: "))
      })),
      params(Math.min(FUZZ_RUNS, 30)),
    )
  })
})

describe("the 10,000 unknown keys corpus entry", () => {
  it("lists 20 problems and says how many more there are", () => {
    const r = loadScenarioText(manyUnknownKeys, { source: "f.yaml" })
    const lines = contractLines("scenario YAML", (r as Either.Left<ScenarioInvalid, unknown>).left, (l) => l.startsWith("f.yaml: "))
    expect(lines).toHaveLength(21)
    expect(lines[20]).toMatch(/^f\.yaml: … and 9,980 more problems/)
  })
})

describe("fuzz: --set overrides", () => {
  it("bad overrides give exit 2 naming --set or the field, and never touch Object.prototype", () => {
    fc.assert(
      fc.property(badOverride, timed("--set", (overrides) => {
        const r = loadScenarioText("workload: {kind: poisson, ratePerS: 4, requests: 30}\n", { source: "f.yaml", overrides })
        expect(Object.keys(Object.prototype)).toEqual([])
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Either.isLeft(r), overrides.join(" ")).toBe(true)
        contractLines("--set", (r as Either.Left<ScenarioInvalid, unknown>).left, (l) => l.startsWith("f.yaml: ") || l.startsWith("--set: "))
      })),
      params(),
    )
  })
})

describe("fuzz: trace files", () => {
  it("a trace with one bad row gives exit 2 naming the file and that row's line", () => {
    fc.assert(
      fc.property(badTrace, timed("trace", ({ format, text, line }) => {
        const err = thrown(() => parseTrace(text, { file: "t.trace", format: fc.sample(fc.constantFrom("auto", format), { seed: line, numRuns: 1 })[0]! }))
        expect(err).toBeInstanceOf(InputFileInvalid)
        expect((err as InputFileInvalid).line, (err as InputFileInvalid).message).toBe(line)
        contractLines(`trace ${format}`, err, (l) => l.startsWith(`t.trace:${line}: `))
      })),
      params(FUZZ_RUNS * 2),
    )
  })
})

describe("fuzz: .npy files", () => {
  it("a broken .npy gives exit 2 naming the file", () => {
    fc.assert(
      fc.property(badNpy, timed("npy", (bytes) => {
        const err = thrown(() => parseNpy(bytes, "q.npy", "<f4"))
        expect(err).toBeInstanceOf(InputFileInvalid)
        contractLines("npy", err, (l) => l.startsWith("q.npy: "))
      })),
      params(),
    )
  })

  it("a non-finite value anywhere is found, with its index", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        (shape, at, value) => {
          const count = shape.reduce((a, b) => a * b, 1)
          const data = Float32Array.from({ length: count }, (_, i) => i)
          data[at % count] = value
          const back = parseNpy(formatNpy("<f4", shape, data), "q.npy", "<f4")
          const hit = firstNonFinite(back.data, back.shape)
          expect(hit?.index.reduce((flat, ix, d) => flat * shape[d]! + ix, 0)).toBe(at % count)
        },
      ),
      params(),
    )
  })

  it("an attention input folder with a broken, non-finite or directory input is refused naming that file", () => {
    const names = ["q.npy", "shared_k.npy", "shared_v.npy", "unique_k.npy", "unique_v.npy"]
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.oneof(badNpy, fc.constant("dir" as const), fc.constant("nan" as const)), (name, what) => {
        const nan = new Float32Array(2 * 4 * 16).fill(1)
        nan[5] = Number.NaN
        const dir = npyInputs({ [name]: what === "nan" ? [[2, 4, 16], nan] : what })
        const err = thrown(() => readProblem(attentionOpts(dir)))
        expect(err instanceof InputFileInvalid || err instanceof UsageError, String(err)).toBe(true)
        contractLines("attention inputs", err, (l) => l.includes(name))
      }),
      params(Math.min(FUZZ_RUNS, 40)),
    )
  })
})

describe("fuzz: through the CLI", () => {
  const ROOT = fileURLToPath(new URL("../../", import.meta.url))
  // The CLI bundled from the current sources (esbuild, a second; tsc for dist/ takes far longer and
  // test/cli/cli.test.ts writes dist/ at the same time). Packages stay external and resolve from
  // the repository's node_modules.
  const MAIN = join(ROOT, "node_modules/.cache/moska-fuzz/cli/main.js")
  beforeAll(() => {
    const b = spawnSync(join(ROOT, "node_modules/.bin/esbuild"), [
      join(ROOT, "src/cli/main.ts"), "--bundle", "--platform=node", "--format=esm", "--packages=external", `--outfile=${MAIN}`, "--log-level=error",
    ], { encoding: "utf8" })
    if (b.status !== 0) throw new Error(`bundling the CLI failed:\n${b.stderr}`)
  }, 120_000)
  const moska = (args: string[], cwd: string) => spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 })

  it("a handful of generated bad inputs exit 2 with one clean line per problem, naming the file, and write no database", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-fuzz-"))
    const [yaml] = fc.sample(badScenarioYaml, { seed: FUZZ_SEED, numRuns: 1 })
    const [set] = fc.sample(badOverride, { seed: FUZZ_SEED, numRuns: 1 })
    const traces = fc.sample(badTrace, { seed: FUZZ_SEED, numRuns: 3 })
    writeFileSync(join(dir, "bad.yaml"), yaml!.text)
    traces.forEach((t, i) => writeFileSync(join(dir, `t${i}.trace`), t.text))
    mkdirSync(join(dir, "npy"))
    const npyDir = npyInputs({ "q.npy": fc.sample(badNpy, { seed: FUZZ_SEED, numRuns: 1 })[0]! })
    const cases: Array<[string[], string]> = [
      [["sim", "bad.yaml", "--db", "a.db"], "bad.yaml"],
      [["sim", join(ROOT, "scenarios/default.yaml"), ...set!.flatMap((s) => ["--set", s]), "--db", "b.db"], ""],
      ...traces.map((t, i): [string[], string] => [["replay", `t${i}.trace`, "--sim", "--scenario", join(ROOT, "scenarios/default.yaml"), "--set", `workload.format=${t.format}`, "--db", `c${i}.db`], `t${i}.trace:${t.line}`]),
      [["sim", join(ROOT, "scenarios/default.yaml"), "--db", "nope/d.db"], "nope/d.db"],
      [["sim", join(ROOT, "scenarios/default.yaml"), "--db", "npy"], "npy"],
      [["attention", "--in", npyDir, "--out", join(dir, "out"), "--backend", "cpu"], "q.npy"],
    ]
    for (const [args, names] of cases) {
      const r = moska(args, dir)
      const what = `moska ${args.join(" ")}\n${r.stderr}`
      tally("CLI", null)
      expect(r.status, what).toBe(2)
      expect(r.stdout, what).toBe("")
      const lines = r.stderr.trimEnd().split("\n")
      expect(lines.every((l) => l.startsWith("moska: ") && cleanLine(l)), what).toBe(true)
      expect(lines.every((l) => l.includes(names)), what).toBe(true)
      tally("CLI", "clean")
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".db") || f.includes(".db-"))).toEqual([])
    expect(existsSync(join(dir, "npy", "d.db"))).toBe(false)
  })
})
