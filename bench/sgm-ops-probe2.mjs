// Issue 14's probe call: subgroup-matrix op costs for f16 next to int8, and whether int8 matrix loads are predicated.
//   bash .gpu/on-host.sh node bench/sgm-ops-probe2.mjs $OUT/sgm-ops2.json      (default path: $OUT/sgm-ops2.json)
// Sections (each case its own pipeline, 4 subgroups per workgroup, 132*16 workgroups, timed as in sgm-ops-probe.mjs):
//   A  base toggles (allow_unsafe_apis, vulkan_enable_f16_on_nvidia): an f16·f16→f32 16x16x16 MMA checked against
//      float64 (exact inputs k/64, so the f32 result must be exact), then f16 and int8 op costs side by side:
//      MMA on registers, loads from storage (row/col-major, walking 64 MiB, and L2-resident 4 MiB), loads from
//      workgroup memory (right row/col-major, left row-major, padded strides), stores of the f32/i32 result.
//   B  one Dawn instance per toggle set: base, + vulkan_use_cooperative_matrix_robust_access, + disable_robustness,
//      + enable_integer_range_analysis_in_robustness. In each: int8 right-matrix loads from storage and workgroup
//      memory as 256 straight-line loads (no loop to hoist) at compile-time-constant offsets vs the same offsets
//      plus a runtime zero (read from a buffer), with array<i32> vs array<vec4<u32>> backing arrays, plus the
//      walking HBM load; the f16 storage load const/runtime; and plain vec4 loads (no matrices) const/runtime.
//      const ≈ runtime ⇒ the offsets are not what costs; a toggle that speeds up both ⇒ bounds checks did.
//   C  (cheap) one int8 load shader pair compiled in a child process with dump_shaders; its stdout/stderr
//      (Dawn's dumps: WGSL after transforms / SPIR-V, if this Dawn build logs them) go to <json dir>/sgm-dump.txt:
//      look for min/select/clamp around the matrix load offsets.
// Prints a compact table at the end and writes all rows as JSON. A case that fails to compile prints its error
// line and the others go on (SGM_DEBUG=1 prints the full message and WGSL). Where the adapter has no subgroup
// matrices (lavapipe), only section B's plain vec4 loads run, and the script says so and exits 0.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);

const BASE = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];
const TOGGLE_SETS = [[], ['vulkan_use_cooperative_matrix_robust_access'], ['disable_robustness'], ['enable_integer_range_analysis_in_robustness']];
const dumpChild = process.argv[2] === '--dump-child';
const outPath = dumpChild ? null : process.argv[2] ?? join(process.env.OUT ?? '.', 'sgm-ops2.json');
const keep = []; // Dawn instances, adapters and devices: an instance collected while its device lives crashes Node.
const log = s => console.log(s);

async function openDevice(extra) {
  const toggles = [...BASE, ...extra];
  const gpu = create(['backend=vulkan', `enable-dawn-features=${toggles.join(',')}`, 'disable-dawn-features=timestamp_quantization']);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { toggles, error: 'no adapter' };
  keep.push(adapter);
  const configs = [...(adapter.info.subgroupMatrixConfigs ?? [])].map(c => ({ c: String(c.componentType), r: String(c.resultComponentType), M: c.M, N: c.N, K: c.K }));
  const has = (c, r, K) => adapter.features.has('chromium-experimental-subgroup-matrix') && configs.some(x => x.c === c && x.r === r && x.M === 16 && x.N === 16 && x.K === K);
  const feats = ['subgroups', 'shader-f16', 'chromium-experimental-subgroup-matrix'].filter(f => adapter.features.has(f));
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: feats,
    requiredLimits: { maxBufferSize: L.maxBufferSize, maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX },
  });
  keep.push(device);
  device.addEventListener('uncapturederror', e => log(`GPU ERROR ${e.error.message.split('\n')[0]}`));
  const info = adapter.info;
  return { toggles, device, configs, i8: has('i8', 'i32', 32), f16: has('f16', 'f32', 16) && device.features.has('shader-f16'),
    name: [info.vendor, info.architecture, info.description].filter(Boolean).join(' | ') };
}

// ---- WGSL helpers ----
// Offsets and strides are given in BYTES here and converted per spelling: the template spelling counts elements
// of the backing array (src/gpu/sharedInt8/sgm.ts), the legacy one counts matrix elements. A numeric offset
// stays a literal (a compile-time constant); a string is a runtime expression in bytes.
const KINDS = {
  i8: { L: 'subgroup_matrix_left<i8, 32, 16>', R: 'subgroup_matrix_right<i8, 16, 32>', C: 'subgroup_matrix_result<i32, 16, 16>', eb: 1, K: 32, cT: 'i32', cb: 4 },
  f16: { L: 'subgroup_matrix_left<f16, 16, 16>', R: 'subgroup_matrix_right<f16, 16, 16>', C: 'subgroup_matrix_result<f32, 16, 16>', eb: 2, K: 16, cT: 'f32', cb: 4 },
};
const ARR_BYTES = { i32: 4, u32: 4, f32: 4, f16: 2, 'vec4<u32>': 16, 'vec4<i32>': 16 };
const conv = (b, per) => typeof b === 'number' ? (b % per ? NaN : `${b / per}u`) : `(${b}) / ${per}u`;
const ld = (sp, T, eb, ptr, arrT, offB, col, strideB) => {
  const per = sp === 'new' ? ARR_BYTES[arrT] : eb;
  return sp === 'new'
    ? `subgroupMatrixLoad<${T}, ${col ? 'col_major' : 'row_major'}>(${ptr}, ${conv(offB, per)}, ${conv(strideB, per)})`
    : `subgroupMatrixLoad<${T}>(${ptr}, ${conv(offB, per)}, ${col}, ${conv(strideB, per)})`;
};
const st = (sp, ptr, arrT, offB, m, strideB) => {
  const per = sp === 'new' ? ARR_BYTES[arrT] : 4;
  return sp === 'new' ? `subgroupMatrixStore<row_major>(${ptr}, ${conv(offB, per)}, ${m}, ${conv(strideB, per)});`
    : `subgroupMatrixStore(${ptr}, ${conv(offB, per)}, ${m}, false, ${conv(strideB, per)});`;
};
const mma = (c, a, b) => `${c} = subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c});`;
const range = n => [...Array(n).keys()];
const srcOf = kn => (kn === 'f16' ? 'f16' : 'i32');
// Bindings: 0 = 64 MiB source (srcT), 1 = 512 KiB output (outT), 2 = rt: u32 zeros (the runtime zero `z`, read-only
// storage so it is subgroup-uniform, as matrix load offsets must be).
function shader({ wg, srcT = 'i32', outT = 'i32', wsmT = 'i32', wsmLen = 16, f16 = false, sgm = true, body }) {
  return `${sgm ? 'enable chromium_experimental_subgroup_matrix;\n' : ''}enable subgroups;
${f16 ? 'enable f16;' : ''}
@group(0) @binding(0) var<storage, read> src: array<${srcT}>;
@group(0) @binding(1) var<storage, read_write> out: array<${outT}>;
@group(0) @binding(2) var<storage, read> rt: array<u32>;
var<workgroup> wsm: array<${wsmT}, ${wsmLen}>;
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_id) sg: u32,
                                        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x * ${wg / 32}u + sg;
  let z = rt[0];
${body}
  if (z == 12345u) { wsm[lid] = wsm[lid + 1u]; out[lid] = out[lid + 1u]; }
}`;
}
const accs = (k, n) => range(n).map(j => `  var c${j} = ${k.C}();`).join('\n');
const storeAccs = (sp, n) => range(n).map(j => '  ' + st(sp, '&out', 'i32', `((g & 63u) * 8u + ${j}u) * 1024u`, `c${j}`, 64)).join('\n');
// Left operand A: from src (its first 256 KiB, so every kind's bytes are finite f16 there: see the fill).
const loadA = (sp, k, srcT) => `  let a = ${ld(sp, k.L, k.eb, '&src', srcT, '(g & 63u) * 512u', false, 16 * k.eb * (k.K / 16))};`;
// Fill workgroup memory (n elements of it) from src once; `w` is the element index in `expr`.
const fillWsm = (wg, n, expr) => `  for (var w = lid; w < ${n}u; w += ${wg}u) { wsm[w] = ${expr}; }
  workgroupBarrier();`;

const ITER = { mma: 1024, gload: 128, sload: 128, sstore: 256 };
const STRAIGHT = 256; // straight-line loads of the const/runtime cases

// Section A cases, per kind (i8 or f16). Right-matrix geometry: N = 16 columns, K rows; row-major rows are
// 16·eb bytes; column-major: 16 columns of K·eb bytes.
function mmaReg(sp, kn) {
  const k = KINDS[kn];
  const sT = srcOf(kn);
  const body = `  let a0 = ${ld(sp, k.L, k.eb, '&src', sT, '(g & 63u) * 512u', false, 16 * k.eb * (k.K / 16))};
  let a1 = ${ld(sp, k.L, k.eb, '&src', sT, '((g + 1u) & 63u) * 512u', false, 16 * k.eb * (k.K / 16))};
${range(4).map(j => `  let b${j} = ${ld(sp, k.R, k.eb, '&src', sT, `((g * 4u + ${j}u) & 4095u) * 512u`, false, 16 * k.eb)};`).join('\n')}
${accs(k, 8)}
  for (var i = 0u; i < ${ITER.mma}u; i++) {
${range(8).map(j => '    ' + mma(`c${j}`, `a${j >> 2}`, `b${j & 3}`)).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: `${kn} mma-reg`, make: wg => shader({ wg, srcT: sT, f16: kn === 'f16', outT: k.cT, body }), mmas: ITER.mma * 8, memops: 0, bytes: 0, kind: kn };
}
function gload(sp, kn, col, mib = 64, srcT = srcOf(kn)) {
  // Buffer as 65536 lines of 1024 bytes. Row-major tile: K lines × 16·eb bytes; column-major: 16 lines × K·eb bytes.
  const k = KINDS[kn];
  const [w, lines] = col ? [k.K * k.eb, 16] : [16 * k.eb, k.K];
  const perLine = 1024 / w, blk = lines * 1024, mask = (mib << 20) / blk - 1;
  const body = `${loadA(sp, k, srcT)}
${accs(k, 8)}
  let x = (g & ${perLine - 1}u) * ${w}u;
  let y = g >> ${Math.log2(perLine)}u;
  for (var i = 0u; i < ${ITER.gload}u; i++) {
${range(8).map(j => `    let b${j} = ${ld(sp, k.R, k.eb, '&src', srcT, `((y + i * 8u + ${j}u) & ${mask}u) * ${blk}u + x`, col, 1024)};
    ${mma(`c${j}`, 'a', `b${j}`)}`).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: `${kn} gload-${col ? 'col' : 'row'}${mib === 64 ? '' : `-${mib}M`}${srcT === srcOf(kn) ? '' : ` ${srcT}`}`, kind: kn,
    make: wg => shader({ wg, srcT, f16: kn === 'f16', outT: k.cT, body }), mmas: ITER.gload * 8, memops: ITER.gload * 8, bytes: 512 };
}
function sload(sp, kn, col, strideB, left = false) {
  // 4x4 grid of tiles in workgroup memory: row-major right tiles step 16·eb bytes across and K·stride down;
  // column-major right and row-major left tiles step K·eb bytes across and 16·stride down.
  const k = KINDS[kn], sT = srcOf(kn), per = ARR_BYTES[sT];
  const [cs, rs] = left || col ? [k.K * k.eb, 16 * strideB] : [16 * k.eb, k.K * strideB];
  const n = Math.ceil((3 * rs + 3 * cs + (left || col ? 16 : k.K) * strideB) / per / 32) * 32 + 64;
  const body = `${loadA(sp, k, sT)}
  let bb = ${ld(sp, k.R, k.eb, '&src', sT, '(g & 1023u) * 512u', false, 16 * k.eb)};
${fillWsm(128, n, 'src[(wid.x * 4096u + w) & 0xFFFFu]')}
${accs(k, 8)}
  for (var i = 0u; i < ${ITER.sload}u; i++) {
${range(8).map(j => `    let t${j} = i * 5u + sg * 3u + ${j}u;
    let b${j} = ${ld(sp, left ? k.L : k.R, k.eb, '&wsm', sT, `((t${j} >> 2u) & 3u) * ${rs}u + (t${j} & 3u) * ${cs}u`, col, strideB)};
    ${left ? mma(`c${j}`, `b${j}`, 'bb') : mma(`c${j}`, 'a', `b${j}`)}`).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: `${kn} sload-${left ? 'left' : col ? 'col' : 'row'}-s${strideB}B`, kind: kn, mmas: ITER.sload * 8, memops: ITER.sload * 8, bytes: 512,
    make: wg => shader({ wg, srcT: sT, wsmT: sT, f16: kn === 'f16', outT: k.cT, wsmLen: n, body }) };
}
function sstore(sp, kn, strideW) {
  // Workgroup memory as 64 rows × strideW words = 4x4 tiles of 16x16 results; subgroup sg only touches tiles sg + 4k.
  const k = KINDS[kn];
  const sT = srcOf(kn);
  const body = `${loadA(sp, k, sT)}
  let b = ${ld(sp, k.R, k.eb, '&src', sT, '(g & 1023u) * 512u', false, 16 * k.eb)};
${accs(k, 4)}
  for (var i = 0u; i < ${ITER.sstore}u; i++) {
${range(4).map(j => `    ${mma(`c${j}`, 'a', 'b')}
    let t${j} = (sg + 4u * ((i + ${j}u) & 3u)) & 15u;
    ${st(sp, '&wsm', k.cT, `(t${j} >> 2u) * ${64 * strideW}u + (t${j} & 3u) * 64u`, `c${j}`, 4 * strideW)}`).join('\n')}
  }
  workgroupBarrier();
  out[(wid.x * 128u + lid) & 131071u] = wsm[lid] + wsm[4095u - lid];
${storeAccs(sp, 4)}`;
  return { name: `${kn} sstore-s${strideW}w`, kind: kn, mmas: ITER.sstore * 4, memops: ITER.sstore * 4, bytes: 1024,
    make: wg => shader({ wg, srcT: sT, f16: kn === 'f16', outT: k.cT, wsmT: k.cT, wsmLen: 64 * strideW, body }) };
}
// Section B: n right-matrix loads (straight-line: no loop the compiler could hoist them out of) at offsets that are
// literals (const) or literals + z·64 (runtime; z = 0 read from a buffer), each into an MMA, cycling over 48 tiles
// of one ~27 KiB region (storage: cache-resident) laid out 8 tiles across rows of 128·eb + 16 bytes (the pad
// avoids workgroup-memory bank conflicts). `where`: storage or wsm; arrT: the backing array's element type.
function straight(sp, kn, where, offs, arrT, n = STRAIGHT) {
  const k = KINDS[kn];
  const ptr = where === 'storage' ? '&src' : '&wsm';
  const stride = 128 * k.eb + 16;
  const tileOff = t => (t >> 3) * (k.K * stride) + (t & 7) * 16 * k.eb;
  const wsmLen = (6 * k.K * stride) / ARR_BYTES[arrT];
  const fill = arrT === 'vec4<u32>' ? 'vec4<u32>(bitcast<u32>(src[(wid.x * 4096u + w) & 0xFFFFu]))' : 'src[(wid.x * 4096u + w) & 0xFFFFu]';
  const sT = where === 'storage' ? arrT : srcOf(kn);
  const body = `${loadA(sp, k, sT)}
${where === 'wsm' ? fillWsm(128, wsmLen, fill) : ''}
${accs(k, 8)}
${range(n).map(i => {
    const o = tileOff((i * 5 + 3) % 48);
    return `  ${mma(`c${i & 7}`, 'a', ld(sp, k.R, k.eb, ptr, arrT, offs === 'const' ? o : `z * 64u + ${o}u`, false, stride))}`;
  }).join('\n')}
${storeAccs(sp, 8)}`;
  return { name: `${kn} ${where === 'storage' ? 'gload' : 'sload'}-${offs} ${arrT}`, kind: kn, mmas: n, memops: n, bytes: 512,
    make: wg => shader({ wg, f16: kn === 'f16', outT: k.cT, srcT: sT, wsmT: where === 'wsm' ? arrT : 'i32', wsmLen: where === 'wsm' ? wsmLen : 16, body }) };
}
// Plain vec4 loads (no matrices; runs on lavapipe): STRAIGHT/8 coalesced loads per invocation, const vs runtime offsets.
function vec4Loads(offs) {
  const n = STRAIGHT / 8;
  const body = `  var s = vec4<u32>(0u);
  let base = (wid.x & 255u) * ${128 * n}u + lid;
${range(n).map(i => `  s += src[${offs === 'const' ? '' : 'z + '}base + ${i * 128}u];`).join('\n')}
  out[(wid.x * 128u + lid) & 32767u] = s.x ^ s.y ^ s.z ^ s.w;`;
  return { name: `vec4 load-${offs}`, kind: 'none', mmas: 0, memops: n, bytes: 512,
    make: wg => shader({ wg, sgm: false, srcT: 'vec4<u32>', outT: 'u32', wsmT: 'u32', body }) };
}

// ---- running ----
const SRC_BYTES = 64 << 20, OUT_BYTES = 512 << 10, BUDGET_MS = 50000;
let spent = 0;
// Source words: both 16-bit halves finite f16 in [0.125, 1) (so f16 cases compute on numbers); any bytes suit int8.
const fillSrc = bytes => { const a = new Uint32Array(bytes / 4); let x = 0x9e3779b9 | 0;
  for (let i = 0; i < a.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; a[i] = (((x & 0x0bff) | 0x3000) | ((((x >>> 16) & 0x0bff) | 0x3000) << 16)) >>> 0; } return a; };
const SRC_DATA = fillSrc(SRC_BYTES);
function buffers(dev) {
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const src = dev.device.createBuffer({ size: SRC_BYTES, usage: S }), out = dev.device.createBuffer({ size: OUT_BYTES, usage: S });
  const rt = dev.device.createBuffer({ size: 256, usage: S }); // zeros
  dev.device.queue.writeBuffer(src, 0, SRC_DATA); dev.device.queue.writeBuffer(out, 0, SRC_DATA.subarray(0, OUT_BYTES / 4));
  return [src, out, rt];
}
const errLine = msg => msg.split('\n').find(l => /error/i.test(l)) ?? msg.split('\n')[0];
async function compile(device, code) {
  device.pushErrorScope('internal'); device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const ev = await device.popErrorScope(), ei = await device.popErrorScope();
  return ev || ei ? { error: (ev ?? ei).message } : { p };
}
async function runCase(dev, bufs, c, wgs, label) {
  const wg = 128;
  const row = { set: label, name: c.name, wg, workgroups: wgs, subgroups: wgs * wg / 32 };
  if (spent > BUDGET_MS) { row.error = 'skipped (time budget)'; return row; }
  const code = c.make(wg);
  if (code.includes('NaN')) { row.error = 'offset not a multiple of the array element'; return row; }
  const { p, error } = await compile(dev.device, code);
  if (error) { row.error = errLine(error); if (process.env.SGM_DEBUG) log(`${error}\n${code}`); return row; }
  const bg = dev.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })) });
  const go = async n => {
    const e = dev.device.createCommandEncoder();
    for (let r = 0; r < n; r++) { const pass = e.beginComputePass(); pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(wgs); pass.end(); }
    const t0 = performance.now(); dev.device.queue.submit([e.finish()]); await dev.device.queue.onSubmittedWorkDone();
    const dt = performance.now() - t0; spent += dt; return dt;
  };
  await go(1); const t1 = await go(1);
  const reps = Math.max(1, Math.min(500, Math.round(40 / Math.max(t1, 1e-3))));
  const ts = []; for (let t = 0; t < 5; t++) ts.push((await go(reps)) / reps);
  ts.sort((x, y) => x - y);
  const ms = ts[2], sec = ms / 1e3, mmaOps = c.kind === 'i8' ? 2 * 16 * 16 * 32 : 2 * 16 * 16 * 16;
  const mmas = row.subgroups * c.mmas, memops = row.subgroups * c.memops;
  Object.assign(row, { reps, ms, mmas, memops, tops: mmaOps * mmas / sec / 1e12, memGps: memops / sec / 1e9, memGBps: memops * c.bytes / sec / 1e9,
    nsPerOpPerSubgroup: ms * 1e6 / Math.max(c.mmas, c.memops) });
  return row;
}
const fmtRow = r => `${r.set.padEnd(18)} ${r.name.padEnd(30)}` + (r.error ? ` ERROR ${r.error}` :
  `${r.ms.toFixed(3).padStart(9)} ms ${r.tops.toFixed(1).padStart(7)} TOPS ${r.memGps.toFixed(2).padStart(7)} G ops/s ${r.memGBps.toFixed(0).padStart(6)} GB/s`);

// f16·f16→f32 16x16x16 against float64: inputs k/64 (|k| ≤ 64) are exact in f16 and every product and 16-term sum
// is exact in f32, so any nonzero error means the f16 path is wrong, not rounding.
const f16Bits = v => { if (v === 0) return 0; const s = v < 0 ? 0x8000 : 0; const a = Math.abs(v); const e = Math.floor(Math.log2(a));
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024); };
async function f16Check(dev, sp) {
  const vals = range(512).map(i => (((i * 37 + 11) % 129) - 64) / 64);
  const halves = Uint16Array.from(vals.map(f16Bits));
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const a = dev.device.createBuffer({ size: 1024, usage: S }), o = dev.device.createBuffer({ size: 1024, usage: S });
  const rb = dev.device.createBuffer({ size: 1024, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  dev.device.queue.writeBuffer(a, 0, halves);
  const k = KINDS.f16;
  const code = `enable chromium_experimental_subgroup_matrix;
enable f16;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(32) fn main() {
  let l = ${ld(sp, k.L, 2, '&a', 'f16', 0, false, 32)};
  let r = ${ld(sp, k.R, 2, '&a', 'f16', 512, false, 32)};
  var c = ${k.C}();
  ${mma('c', 'l', 'r')}
  ${st(sp, '&o', 'f32', 0, 'c', 64)}
}`;
  const { p, error } = await compile(dev.device, code);
  if (error) return { error: errLine(error) };
  const e = dev.device.createCommandEncoder(); const pass = e.beginComputePass(); pass.setPipeline(p);
  pass.setBindGroup(0, dev.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [a, o].map((buffer, i) => ({ binding: i, resource: { buffer } })) }));
  pass.dispatchWorkgroups(1); pass.end(); e.copyBufferToBuffer(o, 0, rb, 0, 1024); dev.device.queue.submit([e.finish()]);
  await rb.mapAsync(GPUMapMode.READ); const got = new Float32Array(rb.getMappedRange().slice(0)); rb.unmap();
  // Left: M = 16 rows × K = 16 (row-major, A[m][k] = vals[m*16+k]); right: K rows × N = 16 (B[k][n] = vals[256+k*16+n]).
  let e2 = 0, n2 = 0, worst = 0;
  for (let m = 0; m < 16; m++) for (let n = 0; n < 16; n++) {
    let ref = 0; for (let kk = 0; kk < 16; kk++) ref += vals[m * 16 + kk] * vals[256 + kk * 16 + n];
    const d = got[m * 16 + n] - ref; e2 += d * d; n2 += ref * ref; worst = Math.max(worst, Math.abs(d));
  }
  return { relErr: Math.sqrt(e2 / n2), maxAbsErr: worst };
}

async function spellingOf(device) {
  const k = KINDS.i8;
  device.pushErrorScope('validation');
  device.createShaderModule({ code: `enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> b: array<i32>;
@compute @workgroup_size(32) fn main() {
  let m = ${ld('new', k.L, 1, '&b', 'i32', 0, false, 32)};
  var c = ${k.C}();
  ${mma('c', 'm', `${k.R}()`)}
  ${st('new', '&b', 'i32', 0, 'c', 64)}
}` });
  return (await device.popErrorScope()) ? 'old' : 'new';
}

if (dumpChild) {
  // Section C, in its own process so Dawn's dump output can be captured whole.
  const dev = await openDevice(['dump_shaders', 'disable_symbol_renaming']);
  if (!dev.device || !dev.i8) { log('dump: no int8 subgroup matrices'); process.exit(0); }
  const sp = await spellingOf(dev.device);
  for (const offs of ['const', 'runtime']) {
    // 8 loads, not 256, keep the dump readable.
    const code = straight(sp, 'i8', 'storage', offs, 'i32', 8).make(128);
    log(`==== int8 storage load, ${offs} offsets: WGSL ====\n${code}\n==== Dawn output ====`);
    const r = await compile(dev.device, code);
    log(r.error ? `compile error: ${r.error}` : 'compiled');
  }
  dev.device.destroy();
  process.exit(0);
}

// Every case's WGSL (both spellings) builds without a device; SGM_WGSL=<dir> writes them there and exits (for reading).
const allCases = sp => {
  const A = [];
  for (const kn of ['i8', 'f16']) {
    A.push(mmaReg(sp, kn), gload(sp, kn, false), gload(sp, kn, true), gload(sp, kn, false, 4), gload(sp, kn, true, 4));
    // Right row-major at the int8 kernel's strides (64/80 B) and a padded one; column-major right; left row-major.
    for (const [col, s] of [[false, 64], [false, 80], [false, 144], [true, 80], [true, 144]]) A.push(sload(sp, kn, col, s));
    for (const s of [80, 144]) A.push(sload(sp, kn, false, s, true));
    A.push(sstore(sp, kn, 64), sstore(sp, kn, 72));
  }
  const B = [vec4Loads('const'), vec4Loads('runtime')];
  for (const arrT of ['i32', 'vec4<u32>']) for (const offs of ['const', 'runtime']) B.push(straight(sp, 'i8', 'storage', offs, arrT));
  for (const arrT of ['i32', 'vec4<u32>']) for (const offs of ['const', 'runtime']) B.push(straight(sp, 'i8', 'wsm', offs, arrT));
  B.push(gload(sp, 'i8', false), gload(sp, 'i8', false, 64, 'vec4<u32>'));
  for (const offs of ['const', 'runtime']) B.push(straight(sp, 'f16', 'storage', offs, 'f16'));
  return { A, B };
};
if (process.env.SGM_WGSL) {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(process.env.SGM_WGSL, { recursive: true });
  for (const sp of ['new', 'old']) { const { A, B } = allCases(sp); for (const c of [...A, ...B]) writeFileSync(join(process.env.SGM_WGSL, `${sp} ${c.name}.wgsl`.replace(/[^\w.-]+/g, '_')), c.make(128)); }
  log(`wrote WGSL to ${process.env.SGM_WGSL}`);
  process.exit(0);
}

const rows = [];
const meta = { toggleSets: [], f16Check: null, dump: null };
const base = await openDevice([]);
if (!base.device) { log(`no adapter (${base.error}); nothing to probe`); process.exit(0); }
log(`adapter ${base.name}; configs ${JSON.stringify(base.configs.map(c => `${c.c}->${c.r} ${c.M}x${c.N}x${c.K}`))}`);
const sgmOk = base.i8;
if (!sgmOk) log('no subgroup-matrix int8 configs on this adapter (lavapipe?): only the plain vec4 load cases run, under each toggle set.');
const sp = sgmOk ? await spellingOf(base.device) : 'new';
if (sgmOk) log(`subgroup-matrix spelling: ${sp === 'new' ? 'template (row_major/col_major)' : 'legacy (bool argument)'}`);
const WGS = sgmOk ? 132 * 16 : 64; // lavapipe: keep it short

// Section A.
if (sgmOk) {
  const bufs = buffers(base);
  if (base.f16) {
    meta.f16Check = await f16Check(base, sp);
    log(`f16·f16→f32 16x16x16 vs float64 (exact inputs): ${meta.f16Check.error ? `ERROR ${meta.f16Check.error}` : `rel err ${meta.f16Check.relErr.toExponential(2)}, max abs ${meta.f16Check.maxAbsErr.toExponential(2)} (want 0)`}`);
  } else log('no f16->f32 16x16x16 config (is vulkan_enable_f16_on_nvidia honoured?): f16 cases skipped');
  const A = allCases(sp).A.filter(c => base.f16 || c.kind !== 'f16');
  for (const c of A) { const r = await runCase(base, bufs, c, WGS, 'A base'); rows.push(r); log(fmtRow(r)); }
  bufs.forEach(b => b.destroy());
}

// Section B: one instance per toggle set (the base one is reused), each case in each.
for (const extra of TOGGLE_SETS) {
  const label = extra.length ? extra[0].replace('vulkan_use_cooperative_matrix_robust_access', 'coop_robust').replace('enable_integer_range_analysis_in_robustness', 'int_range') : 'base';
  const dev = extra.length ? await openDevice(extra) : base;
  meta.toggleSets.push({ label, toggles: dev.toggles, error: dev.error ?? null });
  if (!dev.device) { log(`${label}: ${dev.error}`); continue; }
  const bufs = buffers(dev);
  const B = allCases(sp).B.filter(c => c.kind === 'none' || (sgmOk && (dev.f16 || c.kind !== 'f16')));
  for (const c of B) { const r = await runCase(dev, bufs, c, WGS, label); rows.push(r); log(fmtRow(r)); }
  bufs.forEach(b => b.destroy());
}

// Section C: dump_shaders in a child process (skipped without subgroup matrices).
if (sgmOk && spent < BUDGET_MS) {
  const dumpPath = join(dirname(outPath), 'sgm-dump.txt');
  const r = spawnSync(process.execPath, [process.argv[1], '--dump-child'], { encoding: 'utf8', timeout: 30000, maxBuffer: 64 << 20 });
  writeFileSync(dumpPath, `${r.stdout ?? ''}\n==== stderr ====\n${r.stderr ?? ''}\n(exit ${r.status}${r.error ? `, ${r.error.message}` : ''})\n`);
  meta.dump = dumpPath;
  log(`dump_shaders output (${((r.stdout ?? '').length + (r.stderr ?? '').length)} chars) -> ${dumpPath}`);
}

log(`\nsummary (${base.name}; ${(spent / 1000).toFixed(1)} s of GPU timing):`);
for (const r of rows) log(fmtRow(r));
writeFileSync(outPath, JSON.stringify({ adapter: base.name, configs: base.configs, spelling: sp, subgroupMatrix: sgmOk, ...meta, rows }, null, 1));
log(`wrote ${outPath}`);
for (const d of keep) if (d && typeof d.destroy === 'function') d.destroy();
log(sgmOk ? 'done' : 'done (no subgroup matrices on this adapter: matrix cases not run; exit 0)');
