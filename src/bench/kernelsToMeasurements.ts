import { readFileSync, writeFileSync } from "node:fs"
import { kernelsMeasurements, type KernelsBenchJson } from "./kernelsMeasurements.js"

/**
 * `node dist/bench/kernelsToMeasurements.js --kv f32 --out FILE KERNELS.json...`: turns
 * `moska bench kernels --json` results into a `moska-measurements/1` file of moska's own kernels
 * (impl `default`), the input `moska calibrate` fits a WebGPU device on. `--kv` picks one KV format
 * (default f32, the live decoder's); rows without a KernelSpec are listed on stderr with the reason.
 */
const args = process.argv.slice(2)
const value = (name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  if (v === undefined || v.startsWith("--")) fail(`${name} needs a value`)
  args.splice(i, 2)
  return v
}
function fail(message: string): never {
  process.stderr.write(`kernelsToMeasurements: ${message}\n`)
  process.exit(2)
}
const formats = (value("--kv") ?? "f32").split(",")
const out = value("--out")
if (out === undefined) fail("--out FILE is required")
if (args.length === 0) fail("name at least one `moska bench kernels --json` file")
const inputs = args.map((file) => {
  let bench: KernelsBenchJson
  try {
    bench = JSON.parse(readFileSync(file, "utf8")) as KernelsBenchJson
  } catch (e) {
    fail(`${file}: ${(e as Error).message}`)
  }
  if (!Array.isArray(bench.rows) || typeof bench.shape !== "object") fail(`${file}: not \`moska bench kernels --json\` output (no rows and shape)`)
  return { file, bench }
})
const { measurements, skipped } = kernelsMeasurements(inputs, formats)
const byWhy = new Map<string, number>()
for (const s of skipped) byWhy.set(s.why, (byWhy.get(s.why) ?? 0) + 1)
for (const [why, n] of byWhy) process.stderr.write(`left out ${n} row(s): ${why}\n`)
if (measurements.length === 0) fail(`no row of KV format ${formats.join(", ")} has a KernelSpec`)
const devices = [...new Set(inputs.map((i) => i.bench.device))]
writeFileSync(out, `${JSON.stringify({ format: "moska-measurements/1", gpu: "H200", meta: { from: args, kv: formats, devices }, measurements }, null, 1)}\n`)
process.stderr.write(`wrote ${measurements.length} measurements to ${out}\n`)
