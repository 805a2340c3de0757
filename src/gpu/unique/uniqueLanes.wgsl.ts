import { elemsPerVec, kvWgsl, type KvFormat } from "../kvFormat.js"
import { UNIQUE_PARAMS, uniqueSplitPrologue } from "./unique.wgsl.js"

/** Default threads per workgroup of the lane-group kernel (keys per round = this). */
export const LANES_WG = 128

/** Vec4 columns per key row the lane-group kernel accepts (register budget: G·NV partial dots per lane). */
export const LANES_MAX_NV = 16

/**
 * Whether the lane-group kernel applies: subgroups, and a key row's NV vec4 columns (a power of two,
 * at most 16) fit in the smallest subgroup, so a row is read by NV lanes of one subgroup.
 */
export const lanesFit = (dim: number, format: KvFormat, subgroups: boolean, subgroupMinSize: number): boolean => {
  const nv = dim / elemsPerVec(format)
  return subgroups && Number.isInteger(nv) && (nv & (nv - 1)) === 0 && nv <= LANES_MAX_NV && nv <= subgroupMinSize && LANES_WG % nv === 0
}

/**
 * Flash-decoding split, lane-group layout (same bindings and Params as `uniqueWgsl`). The workgroup
 * is cut into groups of NV consecutive lanes; lane c of a group always reads vec4 column c, so one
 * key row (NV·16 bytes) is one coalesced load of NV lanes. Each round a group takes NV keys: every
 * lane dots its column with its slice of the G query rows (held in registers) for all NV keys, then
 * a transposed butterfly (subgroupShuffleXor, NV−1 shuffles per query row) leaves lane i with the
 * full scores of key i. Softmax state is per group (its max by xor shuffles), so the loop has no
 * workgroup barrier; p is broadcast back with subgroupShuffle for the V pass in the same layout.
 * Groups are merged once at the end: with `foldMin` (the device's smallest subgroup size) the groups of each
 * foldMin-lane block are summed by xor shuffles and the blocks' slices added after one barrier; with 0, each
 * group adds into one workgroup row in turn, a barrier per group (slower on the H200, sweep 16). All per-row work is emitted unrolled
 * with constant indices, so the arrays live in registers. K/V rows past the end are clamped reads
 * with p = 0 (stored values are finite). int8: dot4I8Packed against the row-quantized query slice.
 * `headsInner`: workgroup ids run over the KV heads of a split first (see uniqueSplitPrologue). `lateV`: V loads
 * after the softmax instead of before the butterfly (fewer live registers, one more exposed load latency per round).
 * @example const src = uniqueLanesWgsl(128, 4, "f16") // then gpuOps.pipeline(gpu, key, UNIQUE_BINDINGS, src)
 */
export const uniqueLanesWgsl = (dim: number, group: number, format: KvFormat, wg = LANES_WG, foldMin = 0, headsInner = false, lateV = false): string => {
  const E = elemsPerVec(format)
  const NV = dim / E
  const G = group
  const int8 = format === "int8"
  const steps: number[] = []
  for (let w = NV / 2; w >= 1; w /= 2) steps.push(w)
  const L: string[] = []
  const emit = (s: string): void => void L.push(s)
  // Query slice: f32 values (float formats) or packed int8 words plus one scale per query row.
  if (int8) {
    emit(`var qi: array<u32, ${G * 4}>;`)
    emit(`var qsc: array<f32, ${G}>;`)
    for (let g = 0; g < G; g++) {
      emit(`{ var x: array<vec4<f32>, 4>;`)
      emit(`  var amax = 0.0;`)
      for (let w = 0; w < 4; w++) {
        const o = `qrow + ${g * dim + 4 * w}u`
        emit(`  x[${w}] = vec4<f32>(q[${o}], q[${o} + 1u], q[${o} + 2u], q[${o} + 3u]) * params.scale;`)
        emit(`  amax = max(amax, max(max(abs(x[${w}].x), abs(x[${w}].y)), max(abs(x[${w}].z), abs(x[${w}].w))));`)
      }
      for (const o of steps) emit(`  amax = max(amax, subgroupShuffleXor(amax, ${o}u));`)
      emit(`  let qscale = select(1.0, amax / 127.0, amax > 0.0);`)
      emit(`  qsc[${g}] = qscale;`)
      for (let w = 0; w < 4; w++) emit(`  qi[${g * 4 + w}] = pack4xI8(vec4<i32>(round(x[${w}] / qscale)));`)
      emit(`}`)
    }
  } else {
    emit(`var qr: array<f32, ${G * E}>;`)
    for (let g = 0; g < G; g++) for (let e = 0; e < E; e++) emit(`qr[${g * E + e}] = q[qrow + ${g * dim + e}u] * params.scale;`)
  }
  emit(`var m: array<f32, ${G}>;`)
  emit(`var l: array<f32, ${G}>;`)
  emit(`var acc: array<f32, ${G * E}>;`)
  for (let g = 0; g < G; g++) emit(`m[${g}] = NEG; l[${g}] = 0.0;`)
  for (let i = 0; i < G * E; i++) emit(`acc[${i}] = 0.0;`)
  emit(`for (var r0 = start; r0 < end; r0 += WG) {`)
  emit(`  let rb = r0 + grp * NV;`)
  // Row indices (clamped to the last valid key) and the K loads, all issued before any use.
  for (let i = 0; i < NV; i++) emit(`  let row${i} = (bl * params.reqStride + min(rb + ${i}u, end - 1u) - base) * params.Hkv + h;`)
  for (let i = 0; i < NV; i++) emit(`  let kw${i} = k[row${i} * NV + li];`)
  emit(`  var part: array<f32, ${G * NV}>;`)
  for (let i = 0; i < NV; i++) {
    if (int8) {
      for (let g = 0; g < G; g++)
        emit(
          `  part[${g * NV + i}] = f32(dot4I8Packed(kw${i}.x, qi[${g * 4}]) + dot4I8Packed(kw${i}.y, qi[${g * 4 + 1}]) + dot4I8Packed(kw${i}.z, qi[${g * 4 + 2}]) + dot4I8Packed(kw${i}.w, qi[${g * 4 + 3}]));`,
        )
    } else {
      emit(`  { let x = unpackVec(kw${i});`)
      for (let g = 0; g < G; g++) {
        let expr = `qr[${g * E}] * x[0]`
        for (let e = 1; e < E; e++) expr = `fma(qr[${g * E + e}], x[${e}], ${expr})`
        emit(`    part[${g * NV + i}] = ${expr};`)
      }
      emit(`  }`)
    }
  }
  // V loads go out before the shuffles so their latency hides behind the reduction; lateV issues them after the
  // softmax instead, so the NV V vectors are not live beside the NV·G partial dots (fewer registers per lane).
  const vLoads = (): void => {
    for (let i = 0; i < NV; i++) emit(`  let vw${i} = v[row${i} * NV + li];`)
  }
  if (!lateV) vLoads()
  // Transposed butterfly: at offset w a lane keeps the half of its keys selected by bit w of its
  // column and sends the other half, so after log2(NV) steps lane i holds key i's full dot.
  for (const w of steps) {
    emit(`  { let up = (li & ${w}u) != 0u;`)
    for (let g = 0; g < G; g++)
      for (let j = 0; j < w; j++) {
        const lo = g * NV + j
        const hi = lo + w
        emit(`    { let send = select(part[${hi}], part[${lo}], up); let keep = select(part[${lo}], part[${hi}], up); part[${lo}] = keep + subgroupShuffleXor(send, ${w}u); }`)
      }
    emit(`  }`)
  }
  emit(`  let valid = rb + li < end;`)
  if (int8) emit(`  let rme = (bl * params.reqStride + min(rb + li, end - 1u) - base) * params.Hkv + h;`)
  emit(`  var pb: array<f32, ${G}>;`)
  for (let g = 0; g < G; g++) {
    const sc = int8 ? `part[${g * NV}] * qsc[${g}] * ks[params.srow0 + rme]` : `part[${g * NV}]`
    emit(`  { let sv = select(NEG, ${sc}, valid);`)
    emit(`    var mx = sv;`)
    for (const o of steps) emit(`    mx = max(mx, subgroupShuffleXor(mx, ${o}u));`)
    emit(`    let mn = max(m[${g}], mx);`)
    emit(`    let alpha = exp(m[${g}] - mn);`)
    emit(`    m[${g}] = mn;`)
    emit(`    let p = select(0.0, exp(sv - mn), valid);`)
    emit(`    l[${g}] = l[${g}] * alpha + p;`)
    emit(`    pb[${g}] = p${int8 ? " * vs[params.srow0 + rme]" : ""};`)
    for (let e = 0; e < E; e++) emit(`    acc[${g * E + e}] *= alpha;`)
    emit(`  }`)
  }
  if (lateV) vLoads()
  for (let i = 0; i < NV; i++) {
    emit(`  { let x = unpackVec(vw${i});`)
    for (let g = 0; g < G; g++) {
      emit(`    let p${g} = subgroupShuffle(pb[${g}], lane0 + ${i}u);`)
      for (let e = 0; e < E; e++) emit(`    acc[${g * E + e}] = fma(p${g}, x[${e}], acc[${g * E + e}]);`)
    }
    emit(`  }`)
  }
  emit(`}`)
  // Per group: the sum of l over its lanes; then the groups are merged under one max.
  for (let g = 0; g < G; g++) {
    emit(`{ var ls = l[${g}];`)
    for (const o of steps) emit(`  ls += subgroupShuffleXor(ls, ${o}u);`)
    emit(`  if (li == 0u) { gm[grp * G + ${g}u] = m[${g}]; gl[grp * G + ${g}u] = ls; } }`)
  }
  // Epilogue. Default: groups add their rescaled accumulators into one workgroup row, one barrier per group.
  // fold (foldMin = the device's smallest subgroup size): the groups of each foldMin-lane block are first summed
  // by xor shuffles, then each block writes its own slice and one barrier later every thread sums the slices.
  const fold = foldMin > 0
  const NS = fold ? wg / foldMin : 1
  if (!fold) emit(`for (var i = t; i < G * D; i += WG) { oacc[i] = 0.0; }`)
  emit(`workgroupBarrier();`)
  emit(`var f: array<f32, ${G}>;`)
  emit(`var M: array<f32, ${G}>;`)
  emit(`var LT: array<f32, ${G}>;`)
  for (let g = 0; g < G; g++) {
    emit(`{ var mm = NEG; for (var k = 0u; k < NGRP; k++) { mm = max(mm, gm[k * G + ${g}u]); }`)
    emit(`  var lt = 0.0; for (var k = 0u; k < NGRP; k++) { lt += gl[k * G + ${g}u] * exp(gm[k * G + ${g}u] - mm); }`)
    emit(`  M[${g}] = mm; LT[${g}] = lt; f[${g}] = exp(m[${g}] - mm); }`)
  }
  if (fold) {
    for (let g = 0; g < G; g++) for (let e = 0; e < E; e++) emit(`acc[${g * E + e}] *= f[${g}];`)
    for (let o = NV; o < foldMin; o *= 2) for (let i = 0; i < G * E; i++) emit(`acc[${i}] += subgroupShuffleXor(acc[${i}], ${o}u);`)
    emit(`if (t % ${foldMin}u < NV) {`)
    emit(`  let so = (t / ${foldMin}u) * G * D + li * E;`)
    for (let g = 0; g < G; g++) for (let e = 0; e < E; e++) emit(`  oacc[so + ${g * dim + e}u] = acc[${g * E + e}];`)
    emit(`}`)
    emit(`workgroupBarrier();`)
    emit(`for (var i = t; i < G * D; i += WG) {`)
    emit(`  var sum = oacc[i];`)
    emit(`  for (var k = 1u; k < ${NS}u; k++) { sum += oacc[k * G * D + i]; }`)
    emit(`  let g = i / D;`)
    emit(`  let lt = LT[g];`)
    emit(`  let slot = (b * Hq + h * G + g) * params.nsplit + s;`)
    emit(`  po[slot * D + i % D] = select(0.0, sum / lt, lt > 0.0);`)
    emit(`}`)
    for (let g = 0; g < G; g++) emit(`if (t == 0u) { let lt = LT[${g}]; pl[(b * Hq + h * G + ${g}u) * params.nsplit + s] = select(NEG, M[${g}] + log(lt), lt > 0.0); }`)
  } else {
    emit(`for (var k = 0u; k < NGRP; k++) {`)
    emit(`  if (grp == k) {`)
    for (let g = 0; g < G; g++) for (let e = 0; e < E; e++) emit(`    oacc[${g * dim + e}u + li * E] += acc[${g * E + e}] * f[${g}];`)
    emit(`  }`)
    emit(`  workgroupBarrier();`)
    emit(`}`)
    for (let g = 0; g < G; g++) {
      emit(`{ let slot = (b * Hq + h * G + ${g}u) * params.nsplit + s;`)
      emit(`  let lt = LT[${g}];`)
      emit(`  for (var d = t; d < D; d += WG) { po[slot * D + d] = select(0.0, oacc[${g * dim}u + d] / lt, lt > 0.0); }`)
      emit(`  if (t == 0u) { pl[slot] = select(NEG, M[${g}] + log(lt), lt > 0.0); } }`)
    }
  }
  return /* wgsl */ `
enable subgroups;
${kvWgsl(format)}
${UNIQUE_PARAMS}
const D: u32 = ${dim}u;
const G: u32 = ${G}u;
const E: u32 = ${E}u;
const NV: u32 = ${NV}u;
const WG: u32 = ${wg}u;
const NGRP: u32 = ${wg / NV}u;
const NEG: f32 = -1e30;
var<workgroup> gm: array<f32, ${(wg / NV) * G}>;
var<workgroup> gl: array<f32, ${(wg / NV) * G}>;
var<workgroup> oacc: array<f32, ${NS * G * dim}>;

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sgi: u32) {
${uniqueSplitPrologue(headsInner)}  let li = t % NV;
  let grp = t / NV;
  let lane0 = sgi - sgi % NV;
  let qrow = (b * Hq + h * G) * D + li * E;
  ${L.join("\n  ")}
}
`
}
