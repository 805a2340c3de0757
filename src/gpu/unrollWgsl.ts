/**
 * `n` lines of generated WGSL, line `i` from `f(i)`: the tensor-core kernels emit per-row and per-key
 * code unrolled with constant indices, so their register arrays cannot end up in local memory on a
 * compiler that only partly unrolls loops.
 * @example unrollWgsl(2, (i) => `o[${i}] = 0.0;`) // "o[0] = 0.0;\no[1] = 0.0;"
 */
export const unrollWgsl = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join("\n")
