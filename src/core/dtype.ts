/** Element formats for KV, weights and math. `int4` is weights-only. */
export const DTYPES = ["fp32", "bf16", "fp16", "fp8", "int8", "int4"] as const
export type DType = (typeof DTYPES)[number]

/** Bytes per element of each format. */
export const bytesPer: Record<DType, number> = { fp32: 4, bf16: 2, fp16: 2, fp8: 1, int8: 1, int4: 0.5 }
