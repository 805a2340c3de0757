import { readFileSync } from "node:fs"
import type { Command } from "commander"
import { KV_FORMATS, type KvFormat } from "../../gpu/kvFormat.js"

/**
 * The `bench` command group. Each benchmark is a subcommand registered from its own file through
 * `benchCommand(program)`, which creates the group once and returns it to later callers.
 * @example benchCommand(program).command("sim").action(...)
 */
export const benchCommand = (program: Command): Command =>
  program.commands.find((c) => c.name() === "bench") ?? program.command("bench").description("benchmarks: commands that print a table and write JSON")

/** `moska bench kernels`: the WebGPU kernels at Llama-3.1-8B shapes (run it on the GPU host). */
export const registerBench = (program: Command): void => {
  benchCommand(program)
    .command("kernels")
    .description("time the WebGPU attention kernels (unique, shared, MoSKA end to end, per-request baseline) against copy/GEMM ceilings")
    .option("--json", "print the results as JSON on stdout (progress and the table go to stderr)")
    .option("--quick", "small shapes (a smoke run on lavapipe)")
    .option("--kv <formats>", `comma-separated KV formats (${KV_FORMATS.join(", ")})`, "f16")
    .option("--only <groups>", "comma-separated kernel groups to run (unique, shared, moska, perreq; moska = router + shared + merge end to end, needs shared); default all")
    .option("--anchor <file>", "JSON written by bench/anchor_torch.py: adds anchor times and ours/anchor ratios")
    .action(async (opts: { json?: boolean; quick?: boolean; kv: string; anchor?: string; only?: string }) => {
      // loaded here, not at start-up
      const [{ InputFileInvalid, UsageError }, { runKernelsBench }, { kernelsTable }, { withGpu }] = await Promise.all([
        import("../../core/errors.js"), import("../../bench/kernelsBench.js"), import("../../bench/kernelsTable.js"), import("../../gpu/device.js"),
      ])
      const formats = opts.kv.split(",").map((s) => s.trim())
      const badFmt = formats.find((f) => !KV_FORMATS.includes(f as KvFormat))
      if (badFmt !== undefined) throw new UsageError({ message: `--kv: unknown format '${badFmt}' (use ${KV_FORMATS.join(", ")})` })
      const badOnly = opts.only?.split(",").map((s) => s.trim()).find((g) => !["unique", "shared", "moska", "perreq"].includes(g))
      if (badOnly !== undefined) throw new UsageError({ message: `--only: unknown kernel group '${badOnly}' (use unique, shared, moska, perreq)` })
      let anchor: { rows: Record<string, { ms: number }> } | undefined
      if (opts.anchor !== undefined) {
        try {
          anchor = JSON.parse(readFileSync(opts.anchor, "utf8")) as { rows: Record<string, { ms: number }> }
        } catch (e) {
          throw new InputFileInvalid({ file: opts.anchor, message: `not a readable anchor JSON (${String(e)})` })
        }
      }
      const log = (line: string): void => void process.stderr.write(`${line}\n`)
      const res = await withGpu((gpu) => runKernelsBench(gpu, { quick: opts.quick === true, formats: formats as KvFormat[], ...(anchor ? { anchor } : {}), ...(opts.only !== undefined ? { only: opts.only.split(",").map((s) => s.trim()) } : {}), log }))
      const table = kernelsTable(res)
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...res, anchor: anchor ?? null }, null, 1)}\n`)
        log(table)
      } else process.stdout.write(`${table}\n`)
    })
}
