import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { CapacityExceeded, InputFileInvalid } from "../../src/core/errors.js"
import { DecoderRef } from "../../src/gpu/decoder/decoderRef.js"
import { decoderTensors } from "../../src/gpu/decoder/decoderTensors.js"
import { LlamaDecoder } from "../../src/gpu/decoder/llamaDecoder.js"
import { openSafetensors, writeSafetensors, type SafetensorsDtype } from "../../src/gpu/decoder/safetensors.js"
import { syntheticCorpus } from "../../src/gpu/decoder/syntheticCorpus.js"
import { TINY, tinyConfig } from "./decoderTiny.js"
import { makeRng, relErr, testSeed, useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const seed = testSeed()
const dir = mkdtempSync(join(tmpdir(), "moska-decoder-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Random checkpoint tensors (not the synthetic ones), embedding in BF16, MLP in F16, the rest F32. */
const randomCheckpoint = (): Array<{ name: string; dtype: SafetensorsDtype; shape: readonly number[]; data: Float32Array }> => {
  const rng = makeRng(seed).split("checkpoint")
  return decoderTensors(TINY).map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1)
    const data = Float32Array.from({ length: n }, () => (t.kind === "norm" ? 1 + (rng.float() - 0.5) * 0.4 : (rng.float() - 0.5) * 0.1))
    const dtype: SafetensorsDtype = t.name.includes("embed") ? "BF16" : t.name.includes("mlp") ? "F16" : "F32"
    return { name: t.name, dtype, shape: t.shape, data }
  })
}

describe(`LlamaDecoder from files (seed ${seed})`, () => {
  it("a safetensors checkpoint (F32/F16/BF16) loads and gives the float64 reference's logits on its weights", async () => {
    const file = join(dir, "tiny.safetensors")
    writeSafetensors(file, randomCheckpoint())
    const st = openSafetensors(file)
    const weights = new Map([...st.tensors.keys()].map((n) => [n, st.readF32(n)]))
    st.close()
    const cfg = tinyConfig("moska", { weightsFile: file })
    const ref = new DecoderRef({ dims: TINY, maxContext: cfg.maxContext, system: "moska", weights, corpus: { ...syntheticCorpus(TINY, 256, 64, cfg.seed), tokens: 256, chunkTokens: 64, topK: 2 } })
    const dec = await LlamaDecoder.create(gpu(), cfg)
    try {
      const prompt = Int32Array.of(5, 200, 31, 77, 128)
      const p = await dec.prefill([{ slot: 2, tokens: prompt, start: 0, sample: true, temperature: 0, seed: 0 }])
      expect(relErr([...(await dec.readLogits())], [...ref.forward(2, prompt, 0).logits.at(-1)!])).toBeLessThan(1e-4)
      await dec.decode([{ slot: 2, token: p.tokens[0]!, position: 5, temperature: 0, seed: 0 }])
      expect(relErr([...(await dec.readLogits())], [...ref.forward(2, [p.tokens[0]!], 5).logits[0]!])).toBeLessThan(1e-4)
    } finally {
      dec.destroy()
    }
  })

  it("a checkpoint tensor of the wrong shape is rejected with a one-line InputFileInvalid naming it", async () => {
    const file = join(dir, "wrong.safetensors")
    const t = randomCheckpoint().map((x) => (x.name === "model.layers.1.mlp.up_proj.weight" ? { ...x, shape: [128, 256], data: x.data } : x))
    writeSafetensors(file, t)
    const err = await LlamaDecoder.create(gpu(), tinyConfig("moska", { weightsFile: file })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InputFileInvalid)
    const msg = (err as InputFileInvalid).message
    expect(msg).toContain("model.layers.1.mlp.up_proj.weight")
    expect(msg).toContain("[128, 256]")
    expect(msg).not.toContain("\n")
  })

  it("a file that is not safetensors is rejected with a one-line InputFileInvalid", async () => {
    const file = join(dir, "junk.safetensors")
    writeFileSync(file, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3]))
    const err = await LlamaDecoder.create(gpu(), tinyConfig("moska", { weightsFile: file })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InputFileInvalid)
    expect((err as InputFileInvalid).message).toMatch(/^not a safetensors file: header length \d+ exceeds the file/)
  })

  it("a corpus file with the synthetic corpus gives the same logits as the synthetic corpus", async () => {
    const file = join(dir, "corpus.safetensors")
    const c = syntheticCorpus(TINY, 256, 64, 11)
    writeSafetensors(file, c.k.flatMap((k, l) => [{ name: `corpus.layers.${l}.k`, dtype: "F32" as const, shape: [256, 2, 32], data: k }, { name: `corpus.layers.${l}.v`, dtype: "F32" as const, shape: [256, 2, 32], data: c.v[l]! }]))
    const logits: Float32Array[] = []
    for (const corpusFile of [file, undefined]) {
      const dec = await LlamaDecoder.create(gpu(), tinyConfig("moska", corpusFile === undefined ? {} : { corpusFile }))
      await dec.prefill([{ slot: 0, tokens: Int32Array.of(1, 2, 3, 4), start: 0, sample: true, temperature: 0, seed: 0 }])
      logits.push(await dec.readLogits())
      dec.destroy()
    }
    expect([...logits[0]!]).toEqual([...logits[1]!])
  })

  it("a corpus over the device's buffer limits is CapacityExceeded before any buffer is allocated", async () => {
    const spy = vi.spyOn(gpu().device, "createBuffer")
    try {
      // 2^25 tokens × 2 KV heads × 32 f32 = 8 GiB per layer's K: over lavapipe's 4 GiB maxBufferSize and any binding.
      const err = await LlamaDecoder.create(gpu(), tinyConfig("moska", { corpus: { tokens: 2 ** 25, chunkTokens: 2 ** 13, topK: 2 } })).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CapacityExceeded)
      expect((err as CapacityExceeded).what).toMatch(/^shared corpus K of layer 0 \(33554432 tokens/)
      expect(spy).not.toHaveBeenCalled()
    } finally {
      spy.mockRestore()
    }
  })
})
