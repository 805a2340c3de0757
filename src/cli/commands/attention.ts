import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Command } from "commander"
import type { MoskaProblem } from "../../gpu/moska/moskaProblem.js"
import type { AttentionOptions } from "../readAttentionProblem.js"

// Kept here for the callers that import it from the command; `moska --help` pays for its modules (core/errors: effect/Data) while it is.

/** The kernels on the GPU (webgpu and the kernel modules load only for this backend). */
const onGpu = async (p: MoskaProblem) => {
  const [{ withGpu }, { moskaAttentionGpu }] = await Promise.all([import("../../gpu/device.js"), import("../../gpu/moska/moskaAttentionGpu.js")])
  return withGpu((gpu) => moskaAttentionGpu(gpu, p))
}

/** `moska attention`: one MoSKA layer on .npy inputs, on the GPU kernels or the float64 references. */
export const registerAttention = (program: Command): void => {
  program
    .command("attention")
    .description("run one MoSKA attention layer (router, shared, unique, merge) on .npy inputs and write out.npy, lse.npy, chunks.npy")
    .requiredOption("--in <dir>", "folder with q.npy [B,Hq,D], shared_k/v.npy [S,Hkv,D], unique_k/v.npy [B,U,Hkv,D], optional unique_len.npy [B] (f32; lengths int32)")
    .requiredOption("--out <dir>", "folder for out.npy [B,Hq,D], lse.npy [B,Hq] (natural log), chunks.npy [B,Hkv,K]")
    .option("--backend <name>", "webgpu (the kernels) or cpu (float64 references, cast to f32)", "webgpu")
    .option("--kv <format>", "KV storage format: f32, f16 (packed, unpack2x16float) or int8 (per-row scales)", "f32")
    .option("--top-k <K>", "chunks per (request, KV head), or 'all' for dense attention over every chunk", "all")
    .option("--chunk-tokens <C>", "tokens per shared chunk (the last may be shorter)", "256")
    .option("--json", "print a JSON summary")
    .action(async (opts: AttentionOptions) => {
      // loaded here, not at start-up
      const [{ InputFileInvalid, UsageError }, { formatNpy }, { readProblem }, { readErrorText }] = await Promise.all([
        import("../../core/errors.js"), import("../../gpu/npy/npy.js"), import("../readAttentionProblem.js"), import("../readErrorText.js"),
      ])
      if (opts.backend !== "webgpu" && opts.backend !== "cpu") throw new UsageError({ message: `--backend must be webgpu or cpu (got '${opts.backend}')` })
      const p = readProblem(opts)
      const res = opts.backend === "cpu" ? (await import("../../gpu/moska/moskaAttentionCpu.js")).moskaAttentionCpu(p) : await onGpu(p)
      try {
        mkdirSync(opts.out, { recursive: true })
      } catch (e) {
        throw new InputFileInvalid({ file: opts.out, message: `cannot create the --out folder (${readErrorText(e)})` })
      }
      writeFileSync(join(opts.out, "out.npy"), formatNpy("<f4", [p.B, p.Hq, p.D], res.out))
      writeFileSync(join(opts.out, "lse.npy"), formatNpy("<f4", [p.B, p.Hq], res.lse))
      writeFileSync(join(opts.out, "chunks.npy"), formatNpy("<i4", [p.B, p.Hkv, p.topK], res.chunks))
      const summary = { backend: opts.backend, kv: p.format, B: p.B, Hq: p.Hq, Hkv: p.Hkv, D: p.D, S: p.S, U: p.U, chunks: Math.ceil(p.S / p.chunkTokens), topK: p.topK, out: opts.out }
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : `attention: ${Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(" ")}\n`)
    })
}
