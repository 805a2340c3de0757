import { describe, expect, it } from "vitest"
import { readProblem } from "../../src/cli/readAttentionProblem.js"
import { InputFileInvalid, UsageError } from "../../src/core/errors.js"
import { attentionOpts, npyInputs } from "./npyInputs.js"

const failure = (f: () => unknown): InputFileInvalid | UsageError => {
  try {
    f()
  } catch (e) {
    if (e instanceof InputFileInvalid || e instanceof UsageError) return e
    throw e
  }
  throw new Error("expected a bad-input error, nothing was thrown")
}

describe("moska attention refuses bad inputs with one line naming the file or flag", () => {
  it("a .npy path that is a directory", () => {
    const dir = npyInputs({ "shared_k.npy": "dir" })
    const e = failure(() => readProblem(attentionOpts(dir))) as InputFileInvalid
    expect(e).toBeInstanceOf(InputFileInvalid)
    expect(e.file).toMatch(/shared_k\.npy$/)
    expect(e.message).toBe("cannot read the .npy file (it is a directory, not a file)")
  })

  it.each([
    ["q.npy", Number.NaN, "NaN"],
    ["shared_v.npy", Number.POSITIVE_INFINITY, "Infinity"],
    ["unique_k.npy", Number.NEGATIVE_INFINITY, "-Infinity"],
  ])("a non-finite value in %s, with its index", (name, value, shown) => {
    const shapes: Record<string, number[]> = { "q.npy": [2, 4, 16], "shared_v.npy": [40, 2, 16], "unique_k.npy": [2, 8, 2, 16] }
    const shape = shapes[name]!
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i))
    data[data.length - 1] = value
    const e = failure(() => readProblem(attentionOpts(npyInputs({ [name]: [shape, data] })))) as InputFileInvalid
    expect(e.file).toMatch(new RegExp(`${name.replace(".", "\\.")}$`))
    expect(e.message).toBe(`element [${shape.map((n) => n - 1).join(", ")}] is ${shown}; every input value must be finite`)
  })

  it.each(["", " ", "1e3", "0x10", "-1", "2.5", "+3"])("--top-k %j", (topK) => {
    const e = failure(() => readProblem(attentionOpts(npyInputs(), { topK })))
    expect(e).toBeInstanceOf(UsageError)
    expect(e.message).toBe(`--top-k must be an integer ≥ 0 (got ${JSON.stringify(topK)})`)
  })

  it("--chunk-tokens '' and a well-formed --top-k still work as before", () => {
    expect(failure(() => readProblem(attentionOpts(npyInputs(), { chunkTokens: "" }))).message).toBe('--chunk-tokens must be an integer ≥ 1 (got "")')
    expect(readProblem(attentionOpts(npyInputs(), { topK: "2" })).topK).toBe(2)
  })
})
