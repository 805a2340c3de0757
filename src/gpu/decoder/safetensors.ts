import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs"
import { InputFileInvalid } from "../../core/errors.js"
import { fromHalf, toHalf } from "../kvFormat.js"

/** Dtypes the decoder loads (converted to f32 on the host). */
export const SAFETENSORS_DTYPES = ["F32", "F16", "BF16"] as const
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number]

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 }

/** One tensor's entry in the header: dtype, shape and absolute byte range in the file. */
export interface SafetensorsEntry {
  readonly name: string
  readonly dtype: SafetensorsDtype
  readonly shape: readonly number[]
  readonly begin: number
  readonly end: number
}

/** An opened safetensors file: header parsed and checked, tensors read on demand. */
export interface SafetensorsFile {
  readonly file: string
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>
  /** The tensor as f32 (F16 and BF16 widened exactly). */
  readF32(name: string): Float32Array
  close(): void
}

const bad = (file: string, message: string): InputFileInvalid => new InputFileInvalid({ file, message })

/**
 * Opens a safetensors file (8-byte little-endian header length, JSON header, tensor bytes) with
 * plain fs: the header is validated whole (dtype, shape, offsets inside the data, size = shape ×
 * dtype), tensor bytes are read only when asked, so a checkpoint of many GiB is never loaded at once.
 * Every problem is an InputFileInvalid with a one-line message naming the tensor.
 * @example const st = openSafetensors("model.safetensors"); const w = st.readF32("model.norm.weight"); st.close()
 */
export const openSafetensors = (file: string): SafetensorsFile => {
  let fd: number
  try {
    fd = openSync(file, "r")
  } catch (e) {
    throw bad(file, `cannot open: ${(e as Error).message.split("\n")[0]}`)
  }
  try {
    const size = fstatSync(fd).size
    if (size < 8) throw bad(file, `not a safetensors file: ${size} bytes, shorter than the 8-byte header length`)
    const lenBuf = Buffer.alloc(8)
    readSync(fd, lenBuf, 0, 8, 0)
    const headerLen = Number(lenBuf.readBigUInt64LE(0))
    if (headerLen > size - 8 || headerLen > 100_000_000) throw bad(file, `not a safetensors file: header length ${headerLen} exceeds the file (${size} bytes)`)
    const hb = Buffer.alloc(headerLen)
    readSync(fd, hb, 0, headerLen, 8)
    let header: unknown
    try {
      header = JSON.parse(hb.toString("utf8"))
    } catch (e) {
      throw bad(file, `safetensors header is not JSON: ${(e as Error).message.split("\n")[0]}`)
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad(file, "safetensors header must be a JSON object of tensors")
    const dataStart = 8 + headerLen
    const tensors = new Map<string, SafetensorsEntry>()
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") continue
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
      if (typeof e !== "object" || e === null) throw bad(file, `tensor ${name}: entry is not an object`)
      if (!SAFETENSORS_DTYPES.includes(e.dtype as SafetensorsDtype)) throw bad(file, `tensor ${name}: dtype ${String(e.dtype)} is not supported (want ${SAFETENSORS_DTYPES.join(", ")})`)
      const dtype = e.dtype as SafetensorsDtype
      if (!Array.isArray(e.shape) || !e.shape.every((x) => Number.isInteger(x) && x >= 0)) throw bad(file, `tensor ${name}: shape must be a list of non-negative integers`)
      const off = e.data_offsets
      if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0) || off[1] < off[0]) throw bad(file, `tensor ${name}: data_offsets must be [begin, end] with begin ≤ end`)
      const shape = e.shape as number[]
      const want = shape.reduce((a, b) => a * b, 1) * BYTES[dtype]
      if (off[1] - off[0] !== want) throw bad(file, `tensor ${name}: ${off[1] - off[0]} bytes for shape [${shape.join(", ")}] ${dtype} (want ${want})`)
      if (dataStart + off[1] > size) throw bad(file, `tensor ${name}: bytes [${off[0]}, ${off[1]}) run past the end of the file (truncated?)`)
      tensors.set(name, { name, dtype, shape, begin: dataStart + off[0], end: dataStart + off[1] })
    }
    const readF32 = (name: string): Float32Array => {
      const t = tensors.get(name)
      if (t === undefined) throw bad(file, `tensor ${name} is missing`)
      const bytes = Buffer.alloc(t.end - t.begin)
      // readSync reads at most 2 GiB per call.
      for (let o = 0; o < bytes.length; ) o += readSync(fd, bytes, o, Math.min(bytes.length - o, 2 ** 30), t.begin + o)
      const n = (t.end - t.begin) / BYTES[t.dtype]
      const out = new Float32Array(n)
      if (t.dtype === "F32") new Uint8Array(out.buffer).set(bytes)
      else if (t.dtype === "F16") for (let i = 0; i < n; i++) out[i] = fromHalf(bytes.readUInt16LE(2 * i))
      else {
        // bf16 is the top half of an f32.
        const u = new Uint32Array(out.buffer)
        for (let i = 0; i < n; i++) u[i] = bytes.readUInt16LE(2 * i) << 16
      }
      return out
    }
    return { file, tensors, readF32, close: () => closeSync(fd) }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

/**
 * Writes `tensors` as a safetensors file (for tests and tools): F32 data as given, F16 / BF16
 * rounded to nearest even from the f32 values.
 * @example writeSafetensors("tiny.safetensors", [{ name: "model.norm.weight", dtype: "F32", shape: [128], data }])
 */
export const writeSafetensors = (file: string, tensors: ReadonlyArray<{ name: string; dtype: SafetensorsDtype; shape: readonly number[]; data: Float32Array }>): void => {
  const header: Record<string, unknown> = {}
  const parts: Buffer[] = []
  let off = 0
  for (const t of tensors) {
    const n = t.data.length
    const b = Buffer.alloc(n * BYTES[t.dtype])
    if (t.dtype === "F32") Buffer.from(t.data.buffer, t.data.byteOffset, n * 4).copy(b)
    else {
      const u = new Uint32Array(Float32Array.from(t.data).buffer)
      for (let i = 0; i < n; i++) {
        if (t.dtype === "F16") b.writeUInt16LE(toHalf(t.data[i]!), 2 * i)
        else {
          const x = u[i]!
          b.writeUInt16LE(((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff, 2 * i)
        }
      }
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + b.length] }
    parts.push(b)
    off += b.length
  }
  const json = Buffer.from(JSON.stringify(header), "utf8")
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  writeFileSync(file, Buffer.concat([len, json, ...parts]))
}
