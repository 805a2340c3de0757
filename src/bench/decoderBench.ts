/**
 * `node dist/bench/decoderBench.js [--model llama-3.1-8b|tiny] [--slots N] [--context N] [--corpus N] [--chunk N] [--topk K] [--out FILE]`:
 * speed of the live decoder (src/gpu/decoder) on the device it finds: create (weights and corpus
 * filled on the GPU), warm-up, prefill tokens/s at a few chunk sizes, and one decode step's GPU and
 * wall time at a few batch sizes, for moska and prefix. Prints a table; writes JSON (default
 * .bench/decoder.json). This is what sizes a live run on a device before it is launched.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { MODEL_PRESETS } from "../core/model.js"
import { withGpu } from "../gpu/device.js"
import type { DecoderDims } from "../gpu/decoder/decoderDims.js"
import { LlamaDecoder, type DecoderSystem } from "../gpu/decoder/llamaDecoder.js"
import { warmDecoder } from "../live/warmDecoder.js"

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : def
}
const model = arg("model", "llama-3.1-8b")
const dims: DecoderDims = model === "tiny"
  ? { layers: 2, hidden: 128, qHeads: 4, kvHeads: 2, headDim: 32, intermediate: 256, vocab: 256, ropeTheta: 500_000, rmsEps: 1e-5 }
  : (() => {
      const m = MODEL_PRESETS["llama-3.1-8b"]
      return { layers: m.layers, hidden: m.hidden, qHeads: m.qHeads, kvHeads: m.kvHeads, headDim: m.headDim, intermediate: m.ffn, vocab: m.vocab, ropeTheta: 500_000, rmsEps: 1e-5 }
    })()
const slots = Number(arg("slots", "16"))
const maxContext = Number(arg("context", "8192"))
const corpusTokens = Number(arg("corpus", "65536"))
const chunkTokens = Number(arg("chunk", "2048"))
const topK = Number(arg("topk", String(Math.max(1, Math.round(corpusTokens / chunkTokens / 4)))))
const out = arg("out", ".bench/decoder.json")
const now = (): number => Number(process.hrtime.bigint())

interface Row { system: string; what: string; n: number; gpuMs: number; wallMs: number; perUnit: string }

const benchSystem = async (system: DecoderSystem, rows: Row[]): Promise<Record<string, number>> => withGpu(async (gpu) => {
  const t = now()
  const dec = await LlamaDecoder.create(gpu, { dims, slots, maxContext, corpus: { tokens: corpusTokens, chunkTokens, topK }, system, seed: 1 })
  const createS = (now() - t) / 1e9
  const warmS = (await warmDecoder(dec, slots)) / 1e9 // the warm-up live mode runs before its clock starts
  for (const n of [256, 1024].filter((x) => x <= maxContext)) {
    const tokens = Int32Array.from({ length: n }, (_, i) => (i * 31 + 7) % dims.vocab)
    let gpuNs = 0
    let wallNs = 0
    const reps = 3
    for (let r = 0; r < reps; r++) {
      dec.release(1)
      const w = now()
      const res = await dec.prefill([{ slot: 1, tokens: tokens.subarray(0, Math.min(n, 256)), start: 0, sample: n <= 256, temperature: 0, seed: 1 }])
      gpuNs += res.gpuNs
      for (let at = 256; at < n; at += 256) {
        const res2 = await dec.prefill([{ slot: 1, tokens: tokens.subarray(at, Math.min(n, at + 256)), start: at, sample: at + 256 >= n, temperature: 0, seed: 1 }])
        gpuNs += res2.gpuNs
      }
      wallNs += now() - w
    }
    rows.push({ system, what: `prefill ${n} tokens (256-token chunks)`, n, gpuMs: gpuNs / reps / 1e6, wallMs: wallNs / reps / 1e6, perUnit: `${Math.round(n / (wallNs / reps / 1e9))} tok/s` })
  }
  for (const B of [1, 8, slots].filter((b, i, a) => b <= slots && a.indexOf(b) === i)) {
    for (let s = 0; s < B; s++) {
      dec.release(s)
      await dec.prefill([{ slot: s, tokens: Int32Array.from({ length: 64 }, (_, i) => (i + s) % dims.vocab), start: 0, sample: false, temperature: 0, seed: s }])
    }
    let gpuNs = 0
    let wallNs = 0
    const reps = 5
    for (let r = 0; r < reps; r++) {
      const w = now()
      const res = await dec.decode(Array.from({ length: B }, (_, s) => ({ slot: s, token: 3, position: 64 + r, temperature: 0, seed: s })))
      wallNs += now() - w
      gpuNs += res.gpuNs
    }
    rows.push({ system, what: `decode step B=${B}`, n: B, gpuMs: gpuNs / reps / 1e6, wallMs: wallNs / reps / 1e6, perUnit: `${Math.round(B / (wallNs / reps / 1e9))} tok/s` })
  }
  const facts = { createS, warmS, decoderGiB: dec.bytes / 2 ** 30 }
  dec.destroy()
  return facts
})

const main = async (): Promise<void> => {
  const rows: Row[] = []
  const facts: Record<string, Record<string, number>> = {}
  for (const system of ["moska", "prefix"] as const) facts[system] = await benchSystem(system, rows)
  const result = { model, dims, slots, maxContext, corpusTokens, chunkTokens, topK, facts, rows }
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(result, null, 2))
  console.log(`decoder ${model}, slots ${slots}, context ${maxContext}, corpus ${corpusTokens} in chunks of ${chunkTokens}, top-${topK}`)
  for (const [s, f] of Object.entries(facts)) console.log(`${s}: create ${f.createS?.toFixed(1)} s, warm-up ${f.warmS?.toFixed(1)} s, ${f.decoderGiB?.toFixed(1)} GiB`)
  console.log("| system | what | GPU ms | wall ms | rate |\n|:--|:--|--:|--:|--:|")
  for (const r of rows) console.log(`| ${r.system} | ${r.what} | ${r.gpuMs.toFixed(2)} | ${r.wallMs.toFixed(2)} | ${r.perUnit} |`)
  console.log(`wrote ${out}`)
}
main().catch((e: unknown) => {
  console.error(`decoderBench: ${e instanceof Error ? e.message : String(e)}`)
  process.exitCode = 1
})
