import fc from "fast-check"
import { stringify } from "yaml"
import { formatNpy } from "../../src/gpu/npy/npy.js"

/**
 * Generators of bad input for the fuzz suite of the CLI's input contract: every case is invalid by
 * construction and knows where its problem is (the field paths of a scenario, the line of a trace,
 * the file of an .npy), so a property can check that the error names it.
 */

/** Pinned seed (override with FUZZ_SEED to explore, then pin a failing seed in a regression test). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_251_106)
/** Cases per property: a short run in `npm test`; FUZZ_RUNS=10000 for the long run. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 60)

/** A valid scenario (the default one, smaller), as a plain object before decoding. */
export const baseScenario = (): Record<string, unknown> => ({
  name: "fuzz",
  seed: 1,
  model: "llama-3.1-8b",
  precision: { kv: "fp8", weights: "fp8", math: "fp8" },
  hardware: { unique: { gpu: "H200", count: 1 }, shared: { gpu: "H200", count: 1 }, interconnect: { link: "nvlink4" } },
  corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "zipf", exponent: 1 } },
  workload: {
    kind: "poisson",
    ratePerS: 4,
    requests: 30,
    uniqueTokens: { kind: "lognormal", median: 4096, sigma: 0.8, max: 65_536 },
    outputTokens: { kind: "fixed", value: 16 },
  },
  system: "moska",
  policy: { maxBatch: 256, batcher: { kind: "barrier" } },
  trace: "kernels",
})

/**
 * Field paths with values that are invalid there whatever else the scenario holds: wrong types,
 * out-of-range numbers, values whose derived times or sizes cannot be simulated, unknown kinds,
 * unknown keys. Hand-picked from real-world malformations (strings for numbers, 1e-320, .inf, null).
 */
export const BAD_FIELDS: ReadonlyArray<readonly [string, readonly unknown[]]> = [
  ["seed", [-1, 1.5, "seven", null, [], Number.POSITIVE_INFINITY]],
  ["name", [5, [], { a: 1 }, null]],
  ["system", ["vllm", 3, ""]],
  ["trace", ["all", 0, true]],
  ["untilS", [0, -1, 1e308, "soon", Number.POSITIVE_INFINITY, Number.NaN]],
  ["model", ["llama-9", 42, { name: "m" }]],
  ["precision.kv", ["fp4", 8]],
  ["hardware.costModel", ["exact", 1]],
  ["hardware.unique.count", [0, -3, 2e9, 1.5, "many", 4097]],
  ["hardware.shared.memoryFraction", [0, 1.5, -0.1, "most"]],
  ["hardware.interconnect.bandwidthBps", [1e-300, -1, 0, 1e5]],
  ["hardware.interconnect.latencyNs", [-1, 1e300, 0.5]],
  ["hardware.interconnect.link", ["ethernet"]],
  ["corpus.sharedTokens", [0, -5, 1.5, "1M"]],
  ["corpus.chunkTokens", [0, 17, -16, 16 * 2 ** 40]],
  ["corpus.sparsity", [1, -0.5, 2, "half"]],
  ["corpus.topK", [0, -1, 1_000_000, 2.5]],
  ["corpus.routing", [{ kind: "zipf", exponent: 0 }, { kind: "hot" }, "zipf", { kind: "uniform", exponent: 1 }]],
  ["workload.ratePerS", [0, -2, 1e-320, "fast", Number.POSITIVE_INFINITY]],
  ["workload.requests", [0, 2e9, 2.5, "all"]],
  ["workload.uniqueTokens", [{ kind: "uniform", min: 100, max: 10 }, { kind: "fixed", value: 0 }, { kind: "lognormal", median: -1, sigma: 1 }, { kind: "normal" }]],
  ["workload.outputTokens", [{ kind: "uniform", min: 0, max: 10 }, { kind: "fixed", value: -2 }, 16]],
  ["workload.burst", [1, "yes"]],
  ["workload.kind", ["bursty", 1]],
  ["policy.maxBatch", [0, -1, "wide"]],
  ["policy.batcher", [{ kind: "window", windowNs: 1e300, maxRows: 4 }, { kind: "window", windowNs: -1, maxRows: 4 }, { kind: "sometimes" }]],
  ["policy.overlap", ["yes", 1]],
  ["bogus", ["x", 1]],
]

/** One to three distinct bad fields with a value each. */
export const badFields = fc.uniqueArray(
  fc.integer({ min: 0, max: BAD_FIELDS.length - 1 }).chain((i) => {
    const [path, values] = BAD_FIELDS[i]!
    return fc.constantFrom(...values).map((value) => ({ path, value }))
  }),
  { minLength: 1, maxLength: 3, selector: (m) => m.path },
)

/** Sets a dotted path in a plain object, creating mappings on the way. */
export const setPath = (o: Record<string, unknown>, path: string, value: unknown): void => {
  const keys = path.split(".")
  let node = o
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== "object" || node[k] === null) node[k] = {}
    node = node[k] as Record<string, unknown>
  }
  node[keys[keys.length - 1]!] = value
}

/** Does an issue's path belong to one of the mutated fields (either contains the other)? */
export const related = (issuePath: string, paths: readonly string[]): boolean => {
  const norm = (p: string) => p.replace(/\[(\d+)\]/g, ".$1")
  const a = norm(issuePath)
  return paths.some((p) => a === p || a.startsWith(`${p}.`) || p.startsWith(`${a}.`))
}

/** A bad scenario file: the base with 1-3 bad fields, as YAML. */
export const badScenarioYaml = badFields.map((muts) => {
  const o = baseScenario()
  for (const m of muts) setPath(o, m.path, m.value)
  return { text: stringify(o), paths: muts.map((m) => m.path) }
})

const VALID_YAML = stringify(baseScenario())

/** YAML that fails only when read: syntax, aliases, alias bombs, complex keys, tags, duplicates, non-mappings. */
export const badYamlText = fc.constantFrom(
  `${VALID_YAML}seed: *nope\n`,
  `${VALID_YAML}a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
  `${VALID_YAML}? [a, b]\n: 1\n`,
  `${VALID_YAML}? {a: 1}\n: 1\n`,
  `${VALID_YAML}seed: !foo 5\n`,
  `${VALID_YAML}seed: 2\n`,
  `${VALID_YAML}workload: {kind: poisson\n`,
  `${VALID_YAML}\tseed: 3\n`,
  `${VALID_YAML}---\nseed: 2\n`,
  "- a\n- b\n",
  "just a string\n",
  "42\n",
  `${VALID_YAML}"unterminated: 1\n`,
  `\u0000${VALID_YAML}`,
)

/** A scenario with 10,000 unknown keys: the CLI lists 20 and counts the rest. */
export const manyUnknownKeys = `${VALID_YAML}${Array.from({ length: 10_000 }, (_, i) => `k${i}: ${i}`).join("\n")}\n`

/** `--set` overrides that are invalid by construction. */
export const badOverride = fc.oneof(
  badFields.map((muts) => muts.map((m) => `${m.path}=${JSON.stringify(m.value) ?? "null"}`)),
  fc.constantFrom(
    ["__proto__.seed=5"], ["__proto__.x=1"], ["workload.__proto__.x=1"], ["constructor.prototype.polluted=1"],
    ["corpus={routing: {__proto__: {polluted: 1}}}"], ["seed"], ["=5"], ["workload..ratePerS=5"], [".seed=1"],
    ["seed.x=1"], ["corpus.sharedTokens.x=1"], ["workload={kind: poisson"], ["seed=[1,"], ["seed=*nope"], ["seed=!!binary x"],
  ),
  fc.string({ maxLength: 30 }).filter((s) => !s.includes("=")).map((s) => [s]),
)

/** Valid rows of each trace format, and corruptions whose line is known. */
export type TraceFormat = "azure" | "burstgpt" | "mooncake"
const AZURE_HEAD = "TIMESTAMP,ContextTokens,GeneratedTokens"
const BURST_HEAD = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"

const azureRow = (s: number, ctx: number, gen: number) => {
  const d = new Date(Date.UTC(2023, 10, 16, 18, 0, 0) + s * 1000).toISOString().replace("T", " ").replace("Z", "")
  return `${d}0000,${ctx},${gen}`
}
const goodRow: Record<TraceFormat, (s: number, u: number, o: number) => string> = {
  azure: azureRow,
  burstgpt: (s, u, o) => `${s},ChatGPT,${u},${o},${u + o},Conversation log`,
  mooncake: (s, u, o) => JSON.stringify({ timestamp: s * 1000, input_length: u, output_length: o, hash_ids: [1, 2] }),
}
const BAD_ROWS: Record<TraceFormat, readonly string[]> = {
  azure: [
    "2023-13-01 00:00:00,10,2", "2023-00-15 00:00:00,10,2", "0000-01-01 00:00:00,10,2", "2023-11-16 18:17:03+99:99,10,2",
    "2023-02-30 00:00:00,10,2", "2023-11-16 24:00:00,10,2", "yesterday,10,2", "2023-11-16 18:17:03,-1,2", "2023-11-16 18:17:03,1.5,2",
    "2023-11-16 18:17:03,abc,2", "2023-11-16 18:17:03,10,", "2023-11-16 18:17:03,10", '"2023-11-16 18:17:03,10,2',
    "2023-11-16 18:17:03,99999999999999999999,2",
  ],
  burstgpt: [
    "-1,ChatGPT,10,2,12,x", "abc,ChatGPT,10,2,12,x", "1e20,ChatGPT,10,2,12,x", ",ChatGPT,10,2,12,x", "1,ChatGPT,-10,2,12,x",
    "1,ChatGPT,10,two,12,x", "1,ChatGPT,10", '1,"ChatGPT,10,2,12,x', "9007199254740993,ChatGPT,10,2,12,x",
  ],
  mooncake: [
    '{"timestamp": -1, "input_length": 10, "output_length": 2}', '{"timestamp": "5", "input_length": 10, "output_length": 2}',
    '{"timestamp": 1e400, "input_length": 10, "output_length": 2}', '{"timestamp": -1e303, "input_length": 10, "output_length": 2}',
    '{"timestamp": 1, "input_length": -1, "output_length": 2}', '{"timestamp": 1, "input_length": 1.5, "output_length": 2}',
    '{"timestamp": 1, "input_length": "many", "output_length": 2}', '{"timestamp": 1, "input_length": 1152921504606846976, "output_length": 2}',
    '{"timestamp": 1, "input_length": 10}', '{"input_length": 10, "output_length": 2}', '{"timestamp": 1, "output_length": 2}',
    '{"timestamp": 1, "input_length": 10, "output_length": null}', '{"timestamp": 1, "input_length": 10, "output_length": 2, "hash_ids": [-1]}',
    '{"timestamp": 1, "input_length": 10, "output_length": 2, "hash_ids": "x"}', '{"timestamp": 1, "input_length": 10,', "[1, 2]", "5", "null",
    '{"timestamp": 1, "input_length": 10, "output_length": 2, "__proto__": {"x": 1}}x',
  ],
}

/** A trace with one corrupted row: its text, format, and the 1-based line of the bad row. */
export const badTrace = fc.constantFrom<TraceFormat>("azure", "burstgpt", "mooncake").chain((format) =>
  fc.record({
    rows: fc.array(fc.tuple(fc.integer({ min: 0, max: 3600 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 2000 })), { minLength: 1, maxLength: 20 }),
    at: fc.nat(),
    bad: fc.constantFrom(...BAD_ROWS[format]),
    crlf: fc.boolean(),
  }).map(({ rows, at, bad, crlf }) => {
    const sorted = [...rows].sort((a, b) => a[0] - b[0])
    const lines = sorted.map(([s, u, o]) => goodRow[format](s, u, o))
    const k = at % (lines.length + 1)
    lines.splice(k, 0, bad)
    const head = format === "azure" ? [AZURE_HEAD] : format === "burstgpt" ? [BURST_HEAD] : []
    const all = [...head, ...lines]
    return { format, text: `${all.join(crlf ? "\r\n" : "\n")}\n`, line: head.length + k + 1 }
  }),
)

/** .npy bytes broken in one way (truncated, bad magic, version, dtype, order, shape, trailing bytes). */
export const badNpy = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
  how: fc.constantFrom("truncate", "magic", "version", "descr", "bigEndian", "fortran", "shape", "trailing", "headerLength", "empty"),
  cut: fc.nat(),
}).map(({ shape, how, cut }) => {
  const count = shape.reduce((a, b) => a * b, 1)
  const good = formatNpy("<f4", shape, Float32Array.from({ length: count }, (_, i) => i + 0.5))
  const header = new TextDecoder("latin1").decode(good.subarray(10, 10 + (good[8]! | (good[9]! << 8))))
  const withHeader = (h: string): Uint8Array => {
    const padded = h.padEnd(header.length, " ").slice(0, header.length - 1) + "\n"
    const out = new Uint8Array(good)
    out.set(new TextEncoder().encode(padded), 10)
    return out
  }
  switch (how) {
    case "truncate":
      return good.subarray(0, cut % good.length)
    case "magic":
      return Uint8Array.from(good, (b, i) => (i === 1 + (cut % 5) ? b ^ 0x20 : b))
    case "version":
      return Uint8Array.from(good, (b, i) => (i === 6 ? (cut % 2 === 0 ? 0 : 4 + (cut % 200)) : b))
    case "descr":
      return withHeader(header.replace("'<f4'", cut % 2 === 0 ? "'<f8'" : "'|u1'"))
    case "bigEndian":
      return withHeader(header.replace("'<f4'", "'>f4'"))
    case "fortran":
      return withHeader(header.replace("False", "True"))
    case "shape":
      return withHeader(header.replace(/'shape': \([^)]*\)/, cut % 2 === 0 ? "'shape': (2, x)" : "'shape': (-1,)"))
    case "trailing":
      return Uint8Array.from([...good, 1, 2, 3, 4])
    case "headerLength":
      return Uint8Array.from(good, (b, i) => (i === 8 || i === 9 ? 0xff : b))
    default:
      return new Uint8Array(0)
  }
})

/** A one-line message with no stack frame and no bare JS error name in front. */
export const cleanLine = (line: string): boolean =>
  line.length > 0 && !line.includes("\n") && !/^\s+at /.test(line) && !/\b(RangeError|TypeError|ReferenceError|SyntaxError|SqliteError)\b/.test(line)
