import { InputFileInvalid } from "../../core/errors.js"

/**
 * A strict .npy (format 1.0/2.0/3.0) reader and writer for the numerics CLI: little-endian,
 * C order, dtypes '<f4' and '<i4' only. Anything else (wrong dtype, Fortran order, a data size
 * that does not match the shape, a truncated file) is an InputFileInvalid naming the file.
 * @example const { shape, data } = parseNpy(bytes, "q.npy", "<f4"); const out = formatNpy("<f4", [2, 3], data)
 */
export type NpyDtype = "<f4" | "<i4"
export interface NpyArray<T extends Float32Array | Int32Array = Float32Array | Int32Array> {
  readonly dtype: NpyDtype
  readonly shape: readonly number[]
  readonly data: T
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY

export const parseNpy = <D extends NpyDtype>(bytes: Uint8Array, file: string, want: D): NpyArray<D extends "<f4" ? Float32Array : Int32Array> => {
  const bad = (message: string): InputFileInvalid => new InputFileInvalid({ file, message })
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad("not a .npy file (bad magic)")
  const major = bytes[6]!
  if (major < 1 || major > 3) throw bad(`unsupported .npy version ${major}.${bytes[7]}`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const lenBytes = major === 1 ? 2 : 4
  if (bytes.length < 8 + lenBytes) throw bad("truncated header")
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true)
  const start = 8 + lenBytes + hlen
  if (bytes.length < start) throw bad("truncated header")
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(8 + lenBytes, start))
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad("malformed header (needs descr, fortran_order, shape)")
  if (descr !== want) throw bad(`dtype is '${descr}', expected '${want}' (${want === "<f4" ? "little-endian float32" : "little-endian int32"})`)
  if (fortran === "True") throw bad("Fortran-ordered arrays are not supported (save with C order)")
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s.replace(/L$/, ""))
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`bad shape entry '${s}'`)
      return n
    })
  const count = shape.reduce((a, b) => a * b, 1)
  const need = count * 4
  const have = bytes.length - start
  if (have < need) throw bad(`truncated: shape (${shape.join(", ")}) needs ${need} data bytes, file has ${have}`)
  if (have > need) throw bad(`${have - need} bytes of data beyond shape (${shape.join(", ")})`)
  // A fresh copy at offset 0 (Node's Buffer.slice is a view into a shared pool, not a copy).
  const copy = new Uint8Array(need)
  copy.set(bytes.subarray(start, start + need))
  const data = want === "<f4" ? new Float32Array(copy.buffer, 0, count) : new Int32Array(copy.buffer, 0, count)
  return { dtype: want, shape, data: data as D extends "<f4" ? Float32Array : Int32Array }
}

/**
 * The first element of a float array that is NaN or ±Infinity, as an index per dimension, or
 * undefined when all are finite. Attention over a non-finite input gives meaningless outputs
 * (NaN scores fall out of the max and the softmax), so the numerics CLI refuses such inputs.
 * @example firstNonFinite(new Float32Array([1, NaN]), [1, 2]) // { index: [0, 1], value: NaN }
 */
export const firstNonFinite = (data: Float32Array, shape: readonly number[]): { readonly index: number[]; readonly value: number } | undefined => {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number
    if (Number.isFinite(v)) continue
    const index: number[] = []
    let rest = i
    for (let d = shape.length - 1; d >= 0; d--) {
      const n = shape[d] as number
      index.unshift(rest % n)
      rest = Math.floor(rest / n)
    }
    return { index, value: v }
  }
  return undefined
}

/** Version 1.0 .npy bytes for a C-ordered little-endian array. */
export const formatNpy = (dtype: NpyDtype, shape: readonly number[], data: Float32Array | Int32Array): Uint8Array => {
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) throw new Error(`formatNpy: shape (${shape.join(", ")}) holds ${count} values, data has ${data.length}`)
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`
  const pad = 64 - ((10 + header.length + 1) % 64)
  header += " ".repeat(pad % 64) + "\n"
  const out = new Uint8Array(10 + header.length + data.byteLength)
  out.set(MAGIC, 0)
  out[6] = 1
  out[7] = 0
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length)
  return out
}
