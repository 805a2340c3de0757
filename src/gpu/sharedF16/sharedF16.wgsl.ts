import { SHARED_PARAMS } from "../shared/shared.wgsl.js"
import { sgmLoad, sgmStore, type SgmSpelling } from "../sharedInt8/sgm.js"
import { unrollWgsl as unroll } from "../unrollWgsl.js"

/** Keys per tile (four 16-key blocks). */
export const F16_KEY_TILE = 64
/** Head dim the kernel is written for. */
export const F16_DIM = 128
/** Invocations per workgroup (four subgroups of 32). */
const NT = 128

export interface SharedF16Options {
  readonly spelling: SgmSpelling
  /** Stacked rows per workgroup: 64 (four 16-row blocks) or 32 (two). */
  readonly rows: 32 | 64
  /**
   * The O tile goes back through workgroup memory in this many column parts (1: all 128 columns at once;
   * 2: 64 at a time, two more barriers per tile). 64 rows × 128 f32 columns do not fit 48 KiB next to the
   * f16 K/V and P tiles, so 64-row tiles need 2.
   */
  readonly oParts: 1 | 2
  /** Row stride (f16 elements) of the staged Q / K / V tile: 128 + 8 (default, 272-byte rows) or + 16. */
  readonly kvStride: 136 | 144
  /** Row stride (f32) of the S tile: 64 + 8 (default) or + 4. */
  readonly sStride: 68 | 72
  /** Row stride (f16) of the P tile: 64 + 8 (default) or + 16. */
  readonly pStride: 72 | 80
  /** Row-stride padding (f32) of the O tile part: its columns + 8 (default) or + 4. */
  readonly oPad: 4 | 8
  /**
   * "vec4": the f16 workgroup arrays (staged Q/K/V, P) are declared array<vec4<f16>> and written a vector at
   * a time; matrix loads count them in vectors. The int8 probe found vec4 backing arrays as fast with Dawn's
   * robustness on as scalar ones with it off (sgm.ts); absent: array<f16>, the session-7 kernel.
   */
  readonly wsm?: "vec4"
  /**
   * "int8": the KV is int8 with per-token scales (MOSKA_SHARED_INT8_F16=1). K and V rows (128 bytes) are staged
   * as exact small-integer f16; K's scale multiplies S in the softmax and V's is folded into P (P·diag(v scale)
   * in f16), so the f16 tensor cores run on int8 KV. Absent: f16 KV.
   */
  readonly kv?: "int8"
  /**
   * "lazy": the O accumulators stay in f32 result matrices for the whole key loop instead of going through
   * workgroup memory every tile. A row's reference max moves only when the tile's max exceeds it by more than
   * LAZY_RESCALE (so P = e^(S−m) ≤ e^8 still fits f16 with f16's full relative precision); when any row of the
   * workgroup moves (a workgroup-uniform flag), the O matrices make one round trip through workgroup memory to
   * be scaled, which on a chunk's 64 tiles happens on the first tile (O still zero, skipped) and rarely after.
   * Per tile that drops the 8 O-matrix stores per subgroup, the per-invocation rescale of 64 accumulators and
   * two of the six barriers (a third becomes the flag's workgroupUniformLoad); absent: O through workgroup memory
   * every tile (the session-7 kernel). With int8 KV the f16 P·diag(v scale) is then up to e^8 × V's scale, finite
   * while a V row's max |v| stays below 65504 · 127 / e^8 ≈ 2.8e3.
   */
  readonly oAcc?: "lazy"
  /**
   * How oAcc "lazy" rescales O (absent: "flush"). "flush": the O matrices are stored to workgroup memory, added
   * into the rows' output slots in `po` (each invocation its own elements, the first flush writing them) with the
   * row's correction applied, and reset to zero; the end adds the matrices' last part. No result matrix is ever
   * loaded from memory and no register array is added (a flush is as rare as the rescale).
   * "load": stored, scaled in workgroup memory and loaded back into the result matrices (the session-10 kernel,
   * err 0.5 on the H200 while right on lavapipe's emulation, docs/kernels-h200.md session 10).
   * "none": diagnostic only, never rescales O (wrong once a row max climbs by more than LAZY_RESCALE; the
   * bench's data never does after the first tile), to tell on the device whether the rescale block's presence is
   * what breaks the kernel there.
   */
  readonly lazyO?: "load" | "none"
  /**
   * "early": each invocation issues its V tile's global loads (8 or 4 × 16 bytes, held in registers) with the K
   * tile's, before the first barrier, and writes them to workgroup memory after the softmax as before, so the V
   * reads overlap S = Q·Kᵀ and the softmax instead of following them. Absent: V is read after the softmax.
   */
  readonly vLoad?: "early"
}

/** How far (natural log) a tile's row max may exceed the row's reference max before O is rescaled (oAcc "lazy"). */
export const LAZY_RESCALE = 8

/** Columns of the O tile per round trip through workgroup memory. */
const oCols = (o: Pick<SharedF16Options, "oParts">): number => F16_DIM / o.oParts

/**
 * Workgroup arrays of the kernel for these options, in elements: `hb` (f16: Q at the start, then a staged
 * K or V tile), `pb` (f16: P), `big` (f32: the S tile, then an O tile part) and the vec2<f32> per-row `apw`.
 * WGSL cannot alias arrays of different types, and a matrix load reads only an array of its own component
 * type (f16 matrices from array<f16>, f32 results from array<f32>), hence the separate f16 and f32 arrays.
 */
export const sharedF16Layout = (o: Pick<SharedF16Options, "rows" | "oParts" | "kvStride" | "sStride" | "pStride" | "oPad" | "kv" | "oAcc">) => ({
  hb: F16_KEY_TILE * o.kvStride,
  pb: o.rows * o.pStride,
  big: o.rows * Math.max(o.sStride, oCols(o) + o.oPad),
  perRow: o.rows,
  /** f32 per key of a tile, twice (K and V scales), int8 KV only. */
  perKey: o.kv === "int8" ? F16_KEY_TILE : 0,
  /** u32 rescale flag, oAcc "lazy" only. */
  flag: o.oAcc === "lazy" ? 1 : 0,
})

/** Workgroup memory of the kernel for these options, in bytes. */
export const sharedF16WorkgroupBytes = (o: Pick<SharedF16Options, "rows" | "oParts" | "kvStride" | "sStride" | "pStride" | "oPad" | "kv" | "oAcc">): number => {
  const L = sharedF16Layout(o)
  return 2 * (L.hb + L.pb) + 4 * L.big + 8 * L.perRow + 8 * L.perKey + 4 * L.flag
}

/**
 * Shared (stacked) attention on f16 subgroup matrices (f16·f16→f32, tensor cores) for f16 KV, one
 * workgroup of four subgroups per work item (≤ 64 stacked rows × a key range of one chunk and KV head),
 * in the int8 kernel's structure (../sharedInt8/sharedInt8.wgsl.ts) without its quantization:
 * - Q rows (1/√D folded in) are converted to f16 once and staged; each subgroup keeps the 16 Q matrices of
 *   its two row blocks (2 × 8 head-dim steps) in registers for the whole key loop;
 * - K and V tiles (64 keys × 256 bytes) are read with coalesced 16-byte loads and written to workgroup
 *   memory as f16 in padded rows (kvStride); matrix loads read them there;
 * - S = Q·Kᵀ: subgroup s multiplies its two row blocks by two key blocks (64 rows: a 2 × 2 split of the
 *   4 × 4 blocks; 32 rows: both row blocks by key block s), f32 results stored to workgroup memory;
 * - online softmax in f32, 128 / rows invocations per row; P = e^(S−m) written as f16 (the row sum adds
 *   the same f16-rounded values, so it matches what P·V multiplies);
 * - O_tile = P·V into f32 results (subgroup s: column blocks s and s + 4, every row block), stored in
 *   `oParts` column parts; each invocation rescales its f32 accumulators by the softmax correction and adds
 *   its column of the part.
 * f16 tiles are twice the int8 ones, so the O round trip goes in two parts at 64 rows (see oParts).
 * oAcc "lazy" keeps O in the P·V result matrices across tiles instead (see SharedF16Options.oAcc); vLoad "early"
 * reads the V tile with the K tile.
 * Only for D = 128, subgroup size 32, and a device with shader-f16 and f16 16×16×16 subgroup matrices.
 * Bindings, params, work items and outputs (`po`, `pl`) are the f32 kernel's (SHARED_BINDINGS).
 */
export const sharedF16Wgsl = (kvHeads: number, opts: SharedF16Options): string => {
  const D = F16_DIM
  const RT = opts.rows
  const KT = F16_KEY_TILE
  const RB = RT / 16
  const sp = opts.spelling
  // Softmax role: TPR invocations per row, each over KPT keys in NG groups of 4.
  const TPR = NT / RT
  const KPT = KT / TPR
  const NG = KPT / 4
  const VST = opts.kvStride
  const SS = opts.sStride
  const PST = opts.pStride
  const CP = oCols(opts)
  const OS = CP + opts.oPad
  // Rescale role: for each O part, IPC invocations per column, each over RPI rows.
  const IPC = NT / CP
  const RPI = RT / IPC
  const lanes = [1, 2, 4].filter((m) => m < TPR)
  const xor = (v: string): string => lanes.map((m) => `${v} = max(${v}, subgroupShuffleXor(${v}, ${m}u));`).join("\n      ")
  const mat = "f16, 16, 16"
  const v4 = opts.wsm === "vec4"
  const ld = (type: string, ptr: string, offset: string, col: boolean, stride: string): string => sgmLoad(sp, type, ptr, offset, col, stride, v4)
  const left = `subgroup_matrix_left<${mat}>`
  const right = `subgroup_matrix_right<${mat}>`
  const result = "subgroup_matrix_result<f32, 16, 16>"
  // S blocks of subgroup sg: row blocks rb0 + {0, 1}, key blocks kb0 + j (j < KBS).
  const KBS = RB / 2
  const qm = unroll(16, (i) => `  let qm${i} = ${ld(left, "&hb", `(rb0 + ${i % 2}u) * 16u * VST + ${Math.floor(i / 2) * 16}u`, false, "VST")};`)
  const sMma = unroll(KBS, (j) =>
    [
      unroll(8, (d) => {
        const b = ld(right, "&hb", `(kb0 + ${j}u) * 16u * VST + ${d * 16}u`, true, "VST")
        return `      { let b = ${b};\n        c${j}0 = subgroupMatrixMultiplyAccumulate(qm${2 * d}, b, c${j}0);\n        c${j}1 = subgroupMatrixMultiplyAccumulate(qm${2 * d + 1}, b, c${j}1); }`
      }),
      unroll(2, (r) => `      ${sgmStore(sp, "&big", `(rb0 + ${r}u) * 16u * SS + (kb0 + ${j}u) * 16u`, `c${j}${r}`, false, "SS")};`),
    ].join("\n"),
  )
  // Staging: invocation t moves 16-byte column t % CPR of keys t / CPR + (NT / CPR)·j (j < NV) of a 64-key tile;
  // CPR (16-byte columns per key row) is 16 for f16 rows, 8 for int8 rows.
  const i8 = opts.kv === "int8"
  const CPR = i8 ? 8 : 16
  const NV = (KT * CPR) / NT
  const gidx = (j: number): string => `((key0 + min(k0 + t / ${CPR}u + ${(NT / CPR) * j}u, nkeys - 1u)) * params.Hkv + h) * ${CPR}u + t % ${CPR}u`
  // int8: 16 i8 per load become 16 f16 (exact: |x| <= 127), at so = key · VST + column · 16.
  // vLoad "early": V's 16-byte words are read into vw<j> before the K tile's barrier; staging V then writes those.
  const early = opts.vLoad === "early"
  const word = (buf: string, j: number): string => (early && buf === "v" ? `vw${j}` : `${buf}[${gidx(j)}]`)
  const vPreload = unroll(NV, (j) => `    let vw${j} = v[${gidx(j)}];`)
  const stage8 = (buf: string): string =>
    unroll(NV, (j) => {
      const o = `(t / 8u + ${(NT / 8) * j}u) * VST + (t % 8u) * 16u`
      if (v4) return `    { let w = ${word(buf, j)}; let so = (${o}) / 4u;\n${unroll(4, (e) => `      hb[so + ${e}u] = vec4<f16>(unpack4xI8(w[${e}]));`)} }`
      return `    { let w = ${word(buf, j)}; let so = ${o};\n${unroll(4, (e) => `      { let x = vec4<f16>(unpack4xI8(w[${e}])); hb[so + ${4 * e}u] = x.x; hb[so + ${4 * e + 1}u] = x.y; hb[so + ${4 * e + 2}u] = x.z; hb[so + ${4 * e + 3}u] = x.w; }`)} }`
    })
  const stage = (buf: string): string =>
    i8 ? stage8(buf) : unroll(NV, (j) => {
      const o = `(t / 16u + ${(NT / 16) * j}u) * VST + (t % 16u) * 8u`
      // so is a multiple of 8 f16 (VST and the column are), so the vec4 form writes two whole vectors.
      if (v4) return `    { let w = ${word(buf, j)}; let so = (${o}) / 4u; hb[so] = bitcast<vec4<f16>>(w.xy); hb[so + 1u] = bitcast<vec4<f16>>(w.zw); }`
      return `    { let w = ${word(buf, j)}; let so = ${o};\n${unroll(4, (e) => `      { let x = bitcast<vec2<f16>>(w[${e}]); hb[so + ${2 * e}u] = x.x; hb[so + ${2 * e + 1}u] = x.y; }`)} }`
    })
  // P·V: subgroup sg owns column blocks sg and sg + 4 for every row block.
  const lazy = opts.oAcc === "lazy"
  const oDecl = unroll(RB, (rb) => `      var o${rb}0 = ${result}();\n      var o${rb}1 = ${result}();`)
  const pv = [
    ...(lazy ? [] : [oDecl]),
    `      for (var j0 = 0u; j0 < KT; j0 += 16u) {`,
    `        let v0 = ${ld(right, "&hb", "j0 * VST + sg * 16u", false, "VST")};`,
    `        let v1 = ${ld(right, "&hb", "j0 * VST + sg * 16u + 64u", false, "VST")};`,
    unroll(RB, (rb) => `        { let a = ${ld(left, "&pb", `${rb * 16 * PST}u + j0`, false, "PST")};\n          o${rb}0 = subgroupMatrixMultiplyAccumulate(a, v0, o${rb}0);\n          o${rb}1 = subgroupMatrixMultiplyAccumulate(a, v1, o${rb}1); }`),
    `      }`,
  ].join("\n")
  // Part p of the O tile holds columns p·CP ..; column block sg + 4h sits at column 16·sg + 64h.
  const oStore = (part: number): string =>
    [0, 1]
      .filter((h) => opts.oParts === 1 || h === part)
      .flatMap((h) => {
        const col = opts.oParts === 2 ? "sg * 16u" : `sg * 16u + ${64 * h}u`
        return Array.from({ length: RB }, (_, rb) => `      ${sgmStore(sp, "&big", `${rb * 16}u * OS + ${col}`, `o${rb}${h}`, false, "OS")};`)
      })
      .join("\n")
  const rescale = (part: number): string =>
    unroll(RPI, (i) => `      { let row = rr * ${RPI}u + ${i}u; o[${part * RPI + i}] = fma(o[${part * RPI + i}], apw[row].x, big[row * OS + cc]); }`)
  // oAcc "lazy": O part `part` back from workgroup memory into its result matrices (same places as oStore).
  const oLoad = (part: number): string =>
    [0, 1]
      .filter((h) => opts.oParts === 1 || h === part)
      .flatMap((h) => {
        const col = opts.oParts === 2 ? "sg * 16u" : `sg * 16u + ${64 * h}u`
        return Array.from({ length: RB }, (_, rb) => `        o${rb}${h} = ${sgmLoad(sp, result, "&big", `${rb * 16}u * OS + ${col}`, false, "OS")};`)
      })
      .join("\n")
  const lazyO = opts.lazyO ?? "flush"
  const flush = lazy && lazyO === "flush"
  const oZero = unroll(RB, (rb) => `        o${rb}0 = ${result}();\n        o${rb}1 = ${result}();`)
  const lazyRescale =
    lazyO === "none"
      ? `      // lazyO "none" (diagnostic): O is never rescaled.\n      _ = rs;`
      : [
          `      // Some row's reference max moved (not on the first tile, where O is still zero): scale O's rows by apw.x.`,
          `      if (rs != 0u && k0 != 0u) {`,
          ...Array.from({ length: opts.oParts }, (_, part) =>
            lazyO === "flush"
              ? [
                  // The matrices' part is added into the row's output slot in po (this invocation's own elements, so
                  // program order suffices; the first flush writes instead of adding), both scaled by the correction.
                  oStore(part),
                  `        workgroupBarrier();`,
                  unroll(RPI, (i) => `        { let row = rr * ${RPI}u + ${i}u; if (row < nrows) { let at = (slot0 + row) * D + ${part * CP}u + cc; po[at] = (select(0.0, po[at], flushed) + big[row * OS + cc]) * apw[row].x; } }`),
                  `        workgroupBarrier();`,
                ].join("\n")
              : [
                  oStore(part),
                  `        workgroupBarrier();`,
                  unroll(RPI, (i) => `        { let row = rr * ${RPI}u + ${i}u; big[row * OS + cc] *= apw[row].x; }`),
                  `        workgroupBarrier();`,
                  oLoad(part),
                  `        workgroupBarrier();`,
                ].join("\n"),
          ),
          ...(lazyO === "flush" ? [`        // Flushed: the matrices restart from zero (no result matrix is loaded from memory).`, oZero, `        flushed = true;`] : []),
          `      }`,
        ].join("\n")
  const parts =
    opts.oParts === 1
      ? `${oStore(0)}\n    }\n    workgroupBarrier();\n    {\n${rescale(0)}\n    }`
      : `${oStore(0)}\n      workgroupBarrier();\n${rescale(0)}\n      workgroupBarrier();\n${oStore(1)}\n    }\n    workgroupBarrier();\n    {\n${rescale(1)}\n    }`
  const layout = sharedF16Layout(opts)
  // int8 KV: P·diag(v scale) goes to the tile in f16; the row sum adds the unscaled f32 p (the two no longer share
  // one rounding, an error far below int8's own).
  const pInt8 = unroll(NG, (g) => {
    const kb = `hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u`
    const p = `exp(vec4<f32>(sc[${g * 4}], sc[${g * 4 + 1}], sc[${g * 4 + 2}], sc[${g * 4 + 3}]) - mn)`
    const pv = "vec4<f16>(p * vec4<f32>(svw[kb], svw[kb + 1u], svw[kb + 2u], svw[kb + 3u]))"
    const put = v4 ? `pb[(r * PST + kb) / 4u] = pv;` : [0, 1, 2, 3].map((e) => `pb[r * PST + kb + ${e}u] = pv[${e}];`).join(" ")
    return `      { let kb = ${kb};\n        let p = ${p}; lrun += dot(p, vec4<f32>(1.0)); let pv = ${pv}; ${put}\n      }`
  })
  return /* wgsl */ `
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
${SHARED_PARAMS}
const D: u32 = ${D}u;
const RT: u32 = ${RT}u;
const KT: u32 = ${KT}u;
const VST: u32 = ${VST}u;
const SS: u32 = ${SS}u;
const PST: u32 = ${PST}u;
const OS: u32 = ${OS}u;
const NEG: f32 = -1e30;
var<workgroup> hb: array<${v4 ? `vec4<f16>, ${layout.hb / 4}` : `f16, ${layout.hb}`}>;
var<workgroup> pb: array<${v4 ? `vec4<f16>, ${layout.pb / 4}` : `f16, ${layout.pb}`}>;
var<workgroup> big: array<f32, ${layout.big}>;
// Per row: (softmax correction, 0) of the current tile; (l, m) at the end.
var<workgroup> apw: array<vec2<f32>, ${layout.perRow}>;${i8 ? `
// int8 KV: the tile's per-key K and V scales.
var<workgroup> skw: array<f32, ${layout.perKey}>;
var<workgroup> svw: array<f32, ${layout.perKey}>;` : ""}${lazy ? `
// Set when some row's reference max moved this tile (O must be rescaled before P·V adds to it).
var<workgroup> resc: u32;
const LAZY_T: f32 = ${LAZY_RESCALE.toFixed(1)};` : ""}

@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_id) sg: u32) {
  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nitems) { return; }
  let it = wid * 8u;
  let row0 = items[it];
  let nrows = items[it + 1u];
  let key0 = items[it + 2u];
  let nkeys = items[it + 3u];
  let h = items[it + 4u];
  let slot0 = items[it + 5u];
  // S blocks of this subgroup: row blocks rb0, rb0 + 1 and key blocks kb0 .. kb0 + ${KBS - 1}.
  let rb0 = ${RB === 4 ? "(sg / 2u) * 2u" : "0u"};
  let kb0 = ${RB === 4 ? "(sg % 2u) * 2u" : "sg"};
  // Rescale role: column cc of each O part, rows rr·${RPI} .. rr·${RPI} + ${RPI - 1}.
  let cc = t % ${CP}u;
  let rr = t / ${CP}u;
  // Softmax role: row r, part hf of its keys (and of its head dims when staging Q), ${TPR} invocations per row.
  let r = t / ${TPR}u;
  let hf = t % ${TPR}u;
  {
    let ok = r < nrows;
    let qbase = rows[row0 + min(r, nrows - 1u)] * D + hf * ${D / TPR}u;
    ${v4 ? `for (var i = 0u; i < ${D / TPR / 4}u; i++) { let b = qbase + 4u * i; hb[(r * VST + hf * ${D / TPR}u) / 4u + i] = vec4<f16>(select(vec4<f32>(0.0), vec4<f32>(q[b], q[b + 1u], q[b + 2u], q[b + 3u]) * params.scale, ok)); }` : `for (var i = 0u; i < ${D / TPR}u; i++) { hb[r * VST + hf * ${D / TPR}u + i] = f16(select(0.0, q[qbase + i] * params.scale, ok)); }`}
  }
  workgroupBarrier();
${qm}
  workgroupBarrier();
  var mrun = NEG;
  var lrun = 0.0;
${lazy ? `${oDecl}\n` : ""}${flush ? `  // Whether O was flushed into po (set only under the workgroup-uniform rescale flag).
  var flushed = false;` : ""}${!lazy ? `  var o: array<f32, ${RT}>;
${unroll(RT, (i) => `  o[${i}] = 0.0;`)}` : ""}
  for (var k0 = 0u; k0 < nkeys; k0 += KT) {
${lazy ? `    // Last read at the previous tile's flag load, before its closing barrier; first set after this tile's S barrier.
    if (t == 0u) { resc = 0u; }
` : ""}${i8 ? `    // The previous tile read its scales before its P·V barrier, so these writes cannot race them.
    if (t < KT) { let kr = params.srow0 + (key0 + min(k0 + t, nkeys - 1u)) * params.Hkv + h; skw[t] = ks[kr]; svw[t] = vs[kr]; }
` : ""}${early ? `${vPreload}
` : ""}${stage("k")}
    workgroupBarrier();
    {
${unroll(KBS, (j) => `      var c${j}0 = ${result}();\n      var c${j}1 = ${result}();`)}
${sMma}
    }
    workgroupBarrier();
    {
      // Key groups rotated by row so the 32 invocations of a subgroup spread over the banks.
      var sc: array<f32, ${KPT}>;
      var mx = NEG;
${unroll(NG, (g) => `      { let kb = hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u;\n${unroll(4, (e) => `        { let key = kb + ${e}u; let s = select(big[r * SS + key]${i8 ? " * skw[key]" : ""}, NEG, k0 + key >= nkeys); sc[${g * 4 + e}] = s; mx = max(mx, s); }`)}\n      }`)}
      ${xor("mx")}
${lazy ? `      // The reference max moves only by more than LAZY_T (every row on the first tile, O being zero then).
      let up = mx > mrun + LAZY_T;
      let mn = select(mrun, mx, up);` : `      let mn = max(mrun, mx);`}
      let alpha = exp(mrun - mn);
      mrun = mn;
      lrun *= alpha;
${i8 ? pInt8 : v4 ? unroll(NG, (g) => `      { let kb = hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u;\n        let p = vec4<f16>(exp(vec4<f32>(sc[${g * 4}], sc[${g * 4 + 1}], sc[${g * 4 + 2}], sc[${g * 4 + 3}]) - mn)); lrun += dot(vec4<f32>(p), vec4<f32>(1.0)); pb[(r * PST + kb) / 4u] = p;\n      }`) : unroll(NG, (g) => `      { let kb = hf * ${KPT}u + ((${g}u + r) % ${NG}u) * 4u;\n${unroll(4, (e) => `        { let p = f16(exp(sc[${g * 4 + e}] - mn)); lrun += f32(p); pb[r * PST + kb + ${e}u] = p; }`)}\n      }`)}
      if (hf == 0u) { apw[r] = vec2<f32>(alpha, 0.0);${lazy ? " if (up) { resc = 1u; }" : ""} }
    }
${stage("v")}
${lazy ? `    {
      // Also the barrier that orders the V staging and P before P·V.
      let rs = workgroupUniformLoad(&resc);
${lazyRescale}
${pv}
    }
    // The V tile is read until here; the next tile stages K over it.
    workgroupBarrier();
  }` : `    workgroupBarrier();
    {
${pv}
${parts}
    // No barrier here: the next tile's first barrier orders these reads before its S stores into big.
  }`}
  workgroupBarrier();
${lazy ? `  // O's first part goes out before the divergent (hf == 0) write below, so no matrix operation follows a divergent branch without a barrier.
${oStore(0)}
` : ""}  var lt = lrun + subgroupShuffleXor(lrun, 1u);
${lanes.slice(1).map((m) => `  lt += subgroupShuffleXor(lt, ${m}u);`).join("\n")}
  if (hf == 0u) { apw[r] = vec2<f32>(lt, mrun); }
${lazy ? unroll(opts.oParts, (part) => [
    part === 0 ? "" : oStore(part),
    `  workgroupBarrier();`,
    unroll(RPI, (i) => `  { let row = rr * ${RPI}u + ${i}u; if (row < nrows) { let lm = apw[row]; ${flush ? `let at = (slot0 + row) * D + ${part * CP}u + cc; po[at] = select(0.0, (select(0.0, po[at], flushed) + big[row * OS + cc]) / lm.x, lm.x > 0.0);` : `po[(slot0 + row) * D + ${part * CP}u + cc] = select(0.0, big[row * OS + cc] / lm.x, lm.x > 0.0);`} ${part === 0 ? `if (cc == 0u) { pl[slot0 + row] = select(NEG, lm.y + log(lm.x), lm.x > 0.0); } ` : ""}} }`),
    ...(part < opts.oParts - 1 ? [`  workgroupBarrier();`] : []),
  ].filter((x) => x !== "").join("\n")) : `  workgroupBarrier();
${unroll(opts.oParts, (part) => unroll(RPI, (i) => `  { let row = rr * ${RPI}u + ${i}u; if (row < nrows) { let lm = apw[row]; po[(slot0 + row) * D + ${part * CP}u + cc] = select(0.0, o[${part * RPI + i}] / lm.x, lm.x > 0.0); ${part === 0 ? `if (cc == 0u) { pl[slot0 + row] = select(NEG, lm.y + log(lm.x), lm.x > 0.0); } ` : ""}} }`))}`}
}
`
}
