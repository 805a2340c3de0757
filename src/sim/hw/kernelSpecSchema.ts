import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as S from "effect/Schema"
import { DTYPES } from "../../core/dtype.js"
import { LINK_PRESETS, type LinkSpec } from "../../core/hardware.js"
import type { KernelSpec } from "../../core/kernels.js"

/**
 * JSON form of a KernelSpec (src/core/kernels.ts), for `moska cost` and measurement files. The
 * transfer kind's `link` is a preset name (nvlink4, nvlink5, pcie5, ib-ndr, cxl) or an explicit
 * `{ name, bandwidthBps, latencyNs, source }`.
 * @example decodeKernelSpec({ kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "bf16", count: 1 })
 */
const PosInt = S.Number.pipe(S.int(), S.positive())
const NonNegInt = S.Number.pipe(S.int(), S.nonNegative())
const PosNum = S.Number.pipe(S.positive(), S.finite())
const DType = S.Literal(...DTYPES).annotations({ message: () => `must be one of ${DTYPES.join(", ")}` })

const Gemm = S.Struct({ kind: S.Literal("gemm"), m: PosInt, n: PosInt, k: PosInt, dtype: DType, count: PosInt, label: S.optional(S.String) })
const Decode = S.Struct({
  kind: S.Literal("decodeAttention"), requests: PosInt, totalTokens: PosInt, maxTokens: PosInt, qHeads: PosInt, kvHeads: PosInt,
  headDim: PosInt, layers: PosInt, kvDtype: DType, mathDtype: DType,
}).pipe(S.filter((d) => (d.maxTokens <= d.totalTokens && d.totalTokens <= d.maxTokens * d.requests) || "needs maxTokens ≤ totalTokens ≤ maxTokens · requests"))
const Shared = S.Struct({
  kind: S.Literal("sharedAttention"), chunkTokens: PosInt,
  histogram: S.Array(S.Struct({ queries: NonNegInt, units: NonNegInt })).pipe(S.minItems(1)),
  kvHeads: PosInt, groupSize: PosInt, headDim: PosInt, layers: PosInt, kvDtype: DType, mathDtype: DType,
})
const Router = S.Struct({
  kind: S.Literal("router"), requests: PosInt, chunks: PosInt, topK: PosInt, kvHeads: PosInt, groupSize: PosInt, headDim: PosInt,
  layers: PosInt, dtype: DType,
}).pipe(S.filter((r) => r.topK <= r.chunks || "topK must be ≤ chunks"))
const Merge = S.Struct({ kind: S.Literal("merge"), rows: PosInt, ways: PosInt, headDim: PosInt, layers: PosInt })
const Link = S.Struct({ name: S.String, bandwidthBps: PosNum, latencyNs: S.Number.pipe(S.nonNegative(), S.finite()), source: S.String })
const LinkName = S.Literal(...(Object.keys(LINK_PRESETS) as [keyof typeof LINK_PRESETS]))
const Transfer = S.Struct({ kind: S.Literal("transfer"), bytes: NonNegInt, messages: NonNegInt, link: S.Union(LinkName, Link).annotations({
  message: () => `must be a link preset (${Object.keys(LINK_PRESETS).join(", ")}) or { name, bandwidthBps, latencyNs, source }`,
}) })

export const KernelSpecJson = S.Union(Gemm, Decode, Shared, Router, Merge, Transfer)

/** Decodes one spec; Left carries one line naming the first bad field. */
export const decodeKernelSpec = (json: unknown): Either.Either<KernelSpec, string> => {
  const r = S.decodeUnknownEither(KernelSpecJson)(json, { onExcessProperty: "error" })
  if (Either.isLeft(r)) return Either.left(firstIssue(r.left))
  const spec = r.right
  if (spec.kind === "transfer") {
    const link: LinkSpec = typeof spec.link === "string" ? LINK_PRESETS[spec.link] : spec.link
    return Either.right({ ...spec, link })
  }
  if (spec.kind === "decodeAttention" || spec.kind === "sharedAttention") {
    const heads = spec.kind === "decodeAttention" ? spec.qHeads % spec.kvHeads : 0
    if (heads !== 0) return Either.left("qHeads must be a multiple of kvHeads")
  }
  return Either.right(spec as KernelSpec)
}

/** The first parse issue as `path: message`. */
export const firstIssue = (e: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(e)
  const i = issues[0]
  if (i === undefined) return "invalid kernel spec"
  const path = i.path.map((k) => (typeof k === "number" ? `[${k}]` : String(k))).join(".")
  return `${path === "" ? "spec" : path}: ${i.message.split("\n")[0]}`
}
