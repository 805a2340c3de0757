import { readFileSync } from "node:fs"
import type { Command } from "commander"
import type { KernelKind } from "../../core/kernels.js"
import type { CycleLevel } from "../../sim/hw/cycleCostModel.js"
import { collect } from "../collect.js"

/**
 * `moska cost SPEC.json --gpu NAME [--json]`: prices one KernelSpec (JSON of src/core/kernels.ts;
 * a transfer's `link` names a preset) with the cycle-level model and prints cycles, seconds,
 * FLOPs, bytes, bound-by, tiles and waves.
 * @example moska cost spec.json --gpu H200 --device data/devices/H200-cal.json --gpu H200-cal
 */
export const registerCost = (program: Command): void => {
  program
    .command("cost")
    .description("price one kernel spec (JSON) with the cycle-level GPU model")
    .argument("<spec>", "KernelSpec JSON file (gemm, decodeAttention, sharedAttention, router, merge, transfer)")
    .option("--gpu <name>", "GPU preset (H100, H200, B200, A100) or a device named in a --device file", "H200")
    .option("--device <file>", "device file (user-defined GPU or `moska calibrate` output), repeatable", collect, [])
    .option("--impl <name>", "tiling strategy of the kernel (default: moska's own kernel)", "default")
    .option("--level <level>", "wave (closed form) or event (event-driven tile scheduler)", "wave")
    .option("--json", "print JSON")
    .action(async (file: string, opts: { gpu: string; device: string[]; impl: string; level: string; json?: boolean }) => {
      // loaded here, not at start-up (the kernel spec schema is effect/Schema)
      const [Either, { InputFileInvalid, UsageError }, { makeCycleCostModel }, { decodeKernelSpec }, { IMPLS }, { gpuFromOptions }] = await Promise.all([
        import("effect/Either"), import("../../core/errors.js"), import("../../sim/hw/cycleCostModel.js"), import("../../sim/hw/kernelSpecSchema.js"),
        import("../../sim/hw/tiling.js"), import("../gpuFromOptions.js"),
      ])
      let json: unknown
      try {
        json = JSON.parse(readFileSync(file, "utf8"))
      } catch (e) {
        throw new InputFileInvalid({ file, message: `cannot read a JSON kernel spec (${(e as Error).message.split("\n")[0]})` })
      }
      const spec = decodeKernelSpec(json)
      if (Either.isLeft(spec)) throw new InputFileInvalid({ file, message: spec.left })
      if (opts.level !== "wave" && opts.level !== "event") throw new UsageError({ message: `--level must be wave or event (got ${opts.level})` })
      const kind: KernelKind = spec.right.kind
      if (kind !== "transfer" && !IMPLS[kind].includes(opts.impl)) {
        throw new UsageError({ message: `--impl must be one of ${IMPLS[kind].join(", ")} for ${kind} (got ${opts.impl})` })
      }
      const gpu = gpuFromOptions(opts.gpu, opts.device)
      const model = makeCycleCostModel(gpu, { level: opts.level as CycleLevel, impl: { [kind]: opts.impl } })
      const c = model.price(spec.right)
      const d = c.detail ?? {}
      const out = {
        gpu: gpu.name, kind, impl: opts.impl, level: opts.level,
        cycles: typeof d.cycles === "number" ? d.cycles : Math.round((c.ns * gpu.clockHz) / 1e9),
        seconds: c.ns / 1e9, flops: c.flops, bytes: c.bytes, boundBy: c.boundBy,
        tiles: d.tiles ?? 0, waves: d.waves ?? 0, launches: d.launches ?? 0, klass: d.klass ?? "link",
      }
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
        return
      }
      const rows: Array<[string, string]> = [
        ["gpu", `${gpu.name}${gpu.efficiency ? " (calibrated)" : " (datasheet rates)"}`],
        ["kernel", `${kind} (${opts.impl}, class ${out.klass})`],
        ["cycles", out.cycles.toLocaleString("en-US")],
        ["seconds", `${out.seconds.toExponential(4)} (${(out.seconds * 1e6).toFixed(2)} µs)`],
        ["FLOPs", out.flops.toExponential(4)],
        ["bytes", `${out.bytes.toExponential(4)} (HBM, after L2 reuse)`],
        ["bound by", out.boundBy],
        ["tiles", String(out.tiles)],
        ["waves", String(out.waves)],
        ["launches", String(out.launches)],
      ]
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(9)} ${v}\n`)
    })
}
