import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import type { Command } from "commander"
import { collect } from "../collect.js"

/**
 * `moska calibrate MEASUREMENTS.json... --gpu NAME --out FILE`: fits per-kernel-class efficiency
 * (compute, memory, launch overhead) of the cycle model to measured kernel times and writes a
 * device file. Scenarios use it through `hardware.devices: [FILE]` and `unique.gpu: <its name>`.
 * @example moska calibrate data/measurements/h200-cuda-anchor.json data/measurements/h200-torch-2026.json --gpu H200 --out data/devices/H200-cal.json
 */
export const registerCalibrate = (program: Command): void => {
  program
    .command("calibrate")
    .description("fit per-kernel-class efficiency factors to measured kernel times; write a calibrated device file")
    .argument("<measurements...>", "measurement files (format moska-measurements/1, docs/model-measurements.md)")
    .requiredOption("--out <file>", "device file to write (JSON GpuSpec with an efficiency table)")
    .option("--gpu <name>", "base device (preset or a --device file's name)", "H200")
    .option("--device <file>", "extra device file, repeatable", collect, [])
    .option("--name <name>", "name of the calibrated device (default: <gpu>-cal)")
    .option("--json", "print the fits as JSON")
    .action(async (files: string[], opts: { out: string; gpu: string; device: string[]; name?: string; json?: boolean }) => {
      // loaded here, not at start-up
      const [{ UsageError }, { calibratedDevice, fitCalibration }, { readMeasurements }, { gpuFromOptions }] = await Promise.all([
        import("../../core/errors.js"), import("../../sim/hw/calibration.js"), import("../../sim/hw/readMeasurements.js"), import("../gpuFromOptions.js"),
      ])
      const base = gpuFromOptions(opts.gpu, opts.device)
      const ms = readMeasurements(files)
      if (ms.length === 0) throw new UsageError({ message: "no measurements to fit" })
      const { fits, unfitted } = fitCalibration(base, ms)
      const device = calibratedDevice(base, opts.name ?? `${base.name}-cal`, fits, files)
      mkdirSync(dirname(opts.out), { recursive: true })
      writeFileSync(opts.out, `${JSON.stringify(device, null, 2)}\n`)
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify({ device: device.name, out: opts.out, fits, unfitted }, null, 2)}\n`)
        return
      }
      process.stdout.write(`${"class".padEnd(32)} ${"shapes".padStart(6)} ${"params".padStart(6)} ${"compute".padStart(8)} ${"memory".padStart(7)} ${"launch µs".padStart(9)} ${"rms ln err".padStart(10)}  at a search bound\n`)
      for (const f of fits) {
        const e = f.efficiency
        process.stdout.write(`${f.klass.padEnd(32)} ${String(f.points).padStart(6)} ${String(f.params).padStart(6)} ${e.compute.toFixed(3).padStart(8)} ${e.memory.toFixed(3).padStart(7)} ${(e.launchNs / 1e3).toFixed(2).padStart(9)} ${f.rmsLogError.toFixed(3).padStart(10)}  ${f.atBound.join(", ")}\n`)
      }
      for (const u of unfitted) process.stdout.write(`${u.klass.padEnd(32)} ${String(u.points).padStart(6)} ${String(u.params).padStart(6)}  not fitted: ${u.reason}\n`)
      process.stdout.write(`wrote ${opts.out}: device "${device.name}" (from ${base.name}, ${ms.length} measurements)\n`)
    })
}
