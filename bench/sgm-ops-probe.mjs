// Subgroup-matrix op-cost microbenchmark (Dawn's Node binding, Vulkan backend, int8 16x16x32 tensor cores).
// Measures throughput of single subgroup-matrix operations, each case in its own pipeline:
//   mma-reg        8 independent MMAs per iteration on register operands (loaded once), no memory ops
//   gload-row/col  per iteration 8x: load right<i8,16,32> from a 64 MiB storage buffer (stride 1024 i8,
//                  row- or column-major, offsets walk the buffer per iteration and subgroup) + 1 MMA into
//                  its own accumulator (8 accumulators, so MMAs don't form one dependent chain);
//                  the -4M variants walk only 4 MiB (L2-resident)
//   sload-*        same, from a 24 KiB var<workgroup> array<i32> filled once: right row-major (strides 64-144 i8),
//                  right column-major (128/144), left row-major (64/80/144); non-powers of two pad against bank conflicts
//   sstore-s64/72  per iteration 4x: MMA + subgroupMatrixStore of result<i32,16,16> to workgroup memory
//   vec4-stage     per stage: each invocation loads one vec4 from storage (coalesced), 4 scalar stores to
//                  workgroup memory, workgroupBarrier, then a right matrix load from there + 1 MMA (double-buffered)
// Each case at workgroup size 128 (4 subgroups) and 256 (8 subgroups), 132*16 workgroups per dispatch.
// The gload cases run in both WGSL spellings (old: bool colMajor argument; new: row_major/col_major template
// argument) when the new one compiles; the other cases use the new one then.
// Printed: ms per dispatch, TOPS = 2*16*16*32*MMAs/s/1e12, mem G/s = matrix loads or stores/s/1e9, and GB/s
// moved by them; the JSON also has nsPerMmaPerSubgroup = dispatch time / MMAs of one subgroup (waves included).
// Timing: `reps` dispatches in one command encoder, submit, await onSubmittedWorkDone; median of 5 batches;
// reps is chosen from one timed dispatch so a batch takes ~100 ms. About 25 s in all on an H200.
// Run on the GPU host:   bash .gpu/on-host.sh node bench/sgm-ops-probe.mjs $OUT/ops.json
// Extra Dawn toggles:    SGM_TOGGLES=disable_robustness bash .gpu/on-host.sh node bench/sgm-ops-probe.mjs ...
// SGM_DEBUG=1 prints the full error and WGSL of a failing case. Dawn itself prints the old spelling's
// deprecation warnings to stdout, so all rows are printed again as a summary at the end.
import { writeFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);

const toggles = ['allow_unsafe_apis', ...(process.env.SGM_TOGGLES ? process.env.SGM_TOGGLES.split(',') : [])];
const gpu = create(['backend=vulkan', `enable-dawn-features=${toggles.join(',')}`]);
const adapter = await gpu.requestAdapter();
if (!adapter) { console.log('no adapter'); process.exit(0); }
const configs = [...(adapter.info.subgroupMatrixConfigs ?? [])];
const hasI8 = adapter.features.has('chromium-experimental-subgroup-matrix') &&
  configs.some(c => String(c.componentType) === 'i8' && String(c.resultComponentType) === 'i32' && c.M === 16 && c.N === 16 && c.K === 32);
console.log('adapter', adapter.info.vendor, adapter.info.architecture, adapter.info.description, 'configs',
  JSON.stringify(configs.map(c => [c.componentType, c.resultComponentType, c.M, c.N, c.K])));
if (!hasI8) { console.log('no subgroup-matrix int8 configs on this adapter'); process.exit(0); }
const feats = ['subgroups', 'chromium-experimental-subgroup-matrix'].filter(f => adapter.features.has(f));
const L = adapter.limits;
const device = await adapter.requestDevice({
  requiredFeatures: feats,
  requiredLimits: {
    maxBufferSize: L.maxBufferSize, maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
  },
});
device.addEventListener('uncapturederror', e => console.log('GPU ERROR', e.error.message.split('\n')[0]));
const S = GPUBufferUsage.STORAGE, CD = GPUBufferUsage.COPY_DST;

// ---- WGSL helpers ----
const LT = 'subgroup_matrix_left<i8, 32, 16>', RT = 'subgroup_matrix_right<i8, 16, 32>', CT = 'subgroup_matrix_result<i32, 16, 16>';
// Offsets and strides below count i8 elements. The new spelling counts elements of the (32-bit) array
// instead, so they are divided by 4 there (every offset and stride here is a multiple of 4).
const ld = (sp, T, ptr, off, col, stride) => sp === 'new'
  ? `subgroupMatrixLoad<${T}, ${col ? 'col_major' : 'row_major'}>(${ptr}, (${off}) / 4u, (${stride}) / 4u)`
  : `subgroupMatrixLoad<${T}>(${ptr}, ${off}, ${col}, ${stride})`;
const st = (sp, ptr, off, m, col, stride) => sp === 'new'
  ? `subgroupMatrixStore<${col ? 'col_major' : 'row_major'}>(${ptr}, ${off}, ${m}, ${stride});`
  : `subgroupMatrixStore(${ptr}, ${off}, ${m}, ${col}, ${stride});`;
const mma = (c, a, b) => `${c} = subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c});`;
const range = n => [...Array(n).keys()];
// Shader skeleton: binding 0 = 64 MiB source, binding 1 = 512 KiB output (also holds the left matrices).
function wgsl(wg, srcType, body, wsmLen = 4096) {
  return `enable chromium_experimental_subgroup_matrix;
enable subgroups;
@group(0) @binding(0) var<storage, read> src: array<${srcType}>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
var<workgroup> wsm: array<i32, ${wsmLen}>;
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_id) sg: u32,
                                        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x * ${wg / 32}u + sg;
${body}
}`;
}
// Left operand (from the output buffer, random-filled) and final stores of accumulators c0..c{n-1}.
const loadA = sp => `  let a = ${ld(sp, LT, '&out', '(g & 63u) * 512u', false, '32u')};`;
const accs = n => range(n).map(j => `  var c${j} = ${CT}();`).join('\n');
const storeAccs = (sp, n) => range(n).map(j => '  ' + st(sp, '&out', `((g & 63u) * 8u + ${j}u) * 256u`, `c${j}`, false, '16u')).join('\n');
const SLOAD_WORDS = 6144; // 24 KiB: room for a 4x4 grid of row-major tiles at stride 144
const fillWsm = wg => `  for (var k = 0u; k < ${SLOAD_WORDS / wg}u; k++) { wsm[k * ${wg}u + lid] = src[(wid.x * 4096u + k * ${wg}u + lid) & 0xFFFFFFu]; }
  workgroupBarrier();`;

const ITER = { mma: 1024, gload: 128, sload: 128, sstore: 256, stage: 256 };
// Each case: { name, sp (spelling), make(wg) -> WGSL, mmas / memops per subgroup per dispatch }.
const cases = [];
function mmaReg(sp) {
  const body = `${loadA(sp).replace('let a =', 'let a0 =')}
  let a1 = ${ld(sp, LT, '&out', '((g + 1u) & 63u) * 512u', false, '32u')};
${range(4).map(j => `  let b${j} = ${ld(sp, RT, '&src', `((g * 4u + ${j}u) & 4095u) * 512u`, false, '16u')};`).join('\n')}
${accs(8)}
  for (var i = 0u; i < ${ITER.mma}u; i++) {
${range(8).map(j => '    ' + mma(`c${j}`, `a${j >> 2}`, `b${j & 3}`)).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: 'mma-reg', sp, make: wg => wgsl(wg, 'i32', body), mmas: ITER.mma * 8, memops: 0, bytes: 0 };
}
function gload(sp, col, mib = 64) {
  // Buffer viewed as 65536 lines of 1024 i8. Row-major tile: 32 lines x 16 i8 (64 tiles across a line).
  // Column-major tile: 16 lines x 32 i8 (32 tiles across). Tile line-block walks with iteration and subgroup.
  // The walk covers the first `mib` MiB (64: the whole buffer, mostly HBM; 4: L2-resident).
  const [perLine, sh, w, blk] = col ? [32, 5, 32, 16 * 1024] : [64, 6, 16, 32 * 1024], mask = (mib << 20) / blk - 1;
  const body = `${loadA(sp)}
${accs(8)}
  let x = (g & ${perLine - 1}u) * ${w}u;
  let y = g >> ${sh}u;
  for (var i = 0u; i < ${ITER.gload}u; i++) {
${range(8).map(j => `    let b${j} = ${ld(sp, RT, '&src', `((y + i * 8u + ${j}u) & ${mask}u) * ${blk}u + x`, col, '1024u')};
    ${mma(`c${j}`, 'a', `b${j}`)}`).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: `gload-${col ? 'colmajor' : 'rowmajor'}${mib === 64 ? '' : `-${mib}M`}`, sp, make: wg => wgsl(wg, 'i32', body),
    mmas: ITER.gload * 8, memops: ITER.gload * 8, bytes: 512 };
}
function sload(sp, col, stride, left = false) {
  // 4x4 grid of tiles inside the 16 KiB: row-major steps 16 i8 across, 32*stride down;
  // column-major steps 32 i8 along K, 16*stride across N. A left matrix (16 rows x 32 i8, row-major)
  // steps 32 i8 across and 16*stride down. Strides up to 144 keep the grid inside the 16 KiB.
  const [cs, rs] = left ? [32, 16 * stride] : col ? [32, 16 * stride] : [16, 32 * stride];
  const body = `${loadA(sp)}
  let bb = ${ld(sp, RT, '&src', '(g & 1023u) * 512u', false, '16u')};
${accs(8)}
  for (var i = 0u; i < ${ITER.sload}u; i++) {
${range(8).map(j => `    let t${j} = i * 5u + sg * 3u + ${j}u;
    let b${j} = ${ld(sp, left ? LT : RT, '&wsm', `((t${j} >> 2u) & 3u) * ${rs}u + (t${j} & 3u) * ${cs}u`, col, `${stride}u`)};
    ${left ? mma(`c${j}`, `b${j}`, 'bb') : mma(`c${j}`, 'a', `b${j}`)}`).join('\n')}
  }
${storeAccs(sp, 8)}`;
  return { name: `sload-${left ? 'left' : col ? 'col' : 'row'}-s${stride}`, sp, mmas: ITER.sload * 8, memops: ITER.sload * 8, bytes: 512,
    make: wg => wgsl(wg, 'i32', `${fillWsm(wg)}\n${body}`, SLOAD_WORDS) };
}
function sstore(sp, stride) {
  // wsm as 64 rows x stride i32 = 4x4 tiles of 16x16; subgroup sg only touches tiles sg + nsg*k (no races).
  const make = wg => {
    const nsg = wg / 32, m = 16 / nsg - 1;
    return wgsl(wg, 'i32', `${loadA(sp)}
  let b = ${ld(sp, RT, '&src', '(g & 1023u) * 512u', false, '16u')};
${accs(4)}
  for (var i = 0u; i < ${ITER.sstore}u; i++) {
${range(4).map(j => `    ${mma(`c${j}`, 'a', 'b')}
    let t${j} = (sg + ${nsg}u * ((i + ${j}u) & ${m}u)) & 15u;
    ${st(sp, '&wsm', `(t${j} >> 2u) * ${16 * stride}u + (t${j} & 3u) * 16u`, `c${j}`, false, `${stride}u`)}`).join('\n')}
  }
  workgroupBarrier();
  out[(wid.x * ${wg}u + lid) & 131071u] = wsm[lid] + wsm[4095u - lid];
${storeAccs(sp, 4)}`, 64 * stride);
  };
  return { name: `sstore-s${stride}`, sp, make, mmas: ITER.sstore * 4, memops: ITER.sstore * 4, bytes: 1024 };
}
function vec4Stage(sp) {
  // Two stages per iteration (buffers 0 and 1 of wg*4 i32 each); subgroup sg reads the 512 i8 its invocations wrote.
  const make = wg => {
    const stage = (s, c) => `    {
      let v = src[(base + (i * 2u + ${s}u) * ${wg}u + lid) & 0x3FFFFFu];
      let o = ${s * wg * 4}u + lid * 4u;
      wsm[o] = v.x; wsm[o + 1u] = v.y; wsm[o + 2u] = v.z; wsm[o + 3u] = v.w;
      workgroupBarrier();
      let b = ${ld(sp, RT, '&wsm', `${s * wg * 16}u + sg * 512u`, false, '16u')};
      ${mma(c, 'a', 'b')}
    }`;
    return wgsl(wg, 'vec4<i32>', `${loadA(sp)}
${accs(2)}
  let base = wid.x * ${ITER.stage * 2 * wg}u;
  for (var i = 0u; i < ${ITER.stage}u; i++) {
${stage(0, 'c0')}
${stage(1, 'c1')}
  }
${storeAccs(sp, 2)}`);
  };
  return { name: 'vec4-stage', sp, make, mmas: ITER.stage * 2, memops: ITER.stage * 2, bytes: 512 };
}

// ---- spelling check ----
async function compiles(code) {
  device.pushErrorScope('validation');
  const mod = device.createShaderModule({ code });
  const err = await device.popErrorScope();
  const info = await mod.getCompilationInfo();
  const warn = info.messages.filter(m => m.type === 'warning').map(m => m.message.split('\n')[0]);
  return { err: err ? err.message.split('\n').find(l => l.includes('error')) ?? err.message.split('\n')[0] : null, warn };
}
const tiny = sp => `enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> buf: array<i32>;
@compute @workgroup_size(32) fn main() {
  let m = ${ld(sp, RT, '&buf', '0u', false, '16u')};
  ${st(sp, '&buf', '1024u', 'm', true, '32u')}
}`;
const newc = await compiles(tiny('new')), oldc = await compiles(tiny('old'));
console.log(newc.err ? `new syntax: ${newc.err}` : `new syntax: ok${newc.warn.length ? ' (warnings: ' + newc.warn.join('; ') + ')' : ''}`);
console.log(oldc.err ? `old syntax: ${oldc.err}` : `old syntax: ok${oldc.warn.length ? ' (warnings: ' + oldc.warn[0] + ')' : ''}`);
const sp = newc.err ? 'old' : 'new';
const spellings = newc.err ? ['old'] : ['old', 'new'];
cases.push(mmaReg(sp));
for (const s of spellings) for (const col of [false, true]) cases.push(gload(s, col));
for (const col of [false, true]) cases.push(gload(sp, col, 4));
// Row-major right (V in the attention kernel), left (P; or K as the left operand), column-major right (K).
for (const [col, stride] of [[false, 64], [false, 80], [false, 128], [false, 144], [true, 128], [true, 144]]) cases.push(sload(sp, col, stride));
for (const stride of [64, 80, 144]) cases.push(sload(sp, false, stride, true));
cases.push(sstore(sp, 64), sstore(sp, 72), sstore(sp, 136), vec4Stage(sp));

// ---- buffers ----
const SRC_BYTES = 64 << 20, OUT_BYTES = 512 << 10;
const src = device.createBuffer({ size: SRC_BYTES, usage: S | CD }), out = device.createBuffer({ size: OUT_BYTES, usage: S | CD });
const fill = bytes => { const a = new Int32Array(bytes / 4); let x = 0x9e3779b9 | 0;
  for (let i = 0; i < a.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; a[i] = x; } return a; };
device.queue.writeBuffer(src, 0, fill(SRC_BYTES)); device.queue.writeBuffer(out, 0, fill(OUT_BYTES));
await device.queue.onSubmittedWorkDone();

// ---- run ----
const WGS = 132 * 16, MMA_OPS = 2 * 16 * 16 * 32, BUDGET_MS = 60000;
const rows = []; let spent = 0;
async function runCase(c, wg) {
  const row = { name: c.name, spelling: c.sp, wg, workgroups: WGS, subgroups: WGS * wg / 32 };
  if (spent > BUDGET_MS) { row.error = 'skipped (time budget)'; return row; }
  const code = c.make(wg);
  device.pushErrorScope('internal'); device.pushErrorScope('validation');
  const mod = device.createShaderModule({ code });
  const p = device.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' } });
  const ev = await device.popErrorScope(), ei = await device.popErrorScope();
  if (ev || ei) {
    const msg = (ev ?? ei).message; row.error = msg.split('\n').find(l => /error/i.test(l)) ?? msg.split('\n')[0];
    if (process.env.SGM_DEBUG) console.log(msg, '\n', code);
    return row;
  }
  const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [src, out].map((buffer, i) => ({ binding: i, resource: { buffer } })) });
  const go = async n => {
    const e = device.createCommandEncoder();
    for (let r = 0; r < n; r++) { const pass = e.beginComputePass(); pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(WGS); pass.end(); }
    const t0 = performance.now(); device.queue.submit([e.finish()]); await device.queue.onSubmittedWorkDone();
    const dt = performance.now() - t0; spent += dt; return dt;
  };
  await go(1); const t1 = await go(1);
  const reps = Math.max(1, Math.min(500, Math.round(100 / Math.max(t1, 1e-3))));
  const ts = []; for (let t = 0; t < 5; t++) ts.push((await go(reps)) / reps);
  ts.sort((x, y) => x - y);
  const ms = ts[2], sec = ms / 1e3;
  const mmas = row.subgroups * c.mmas, memops = row.subgroups * c.memops;
  Object.assign(row, { reps, ms, mmasPerSubgroup: c.mmas, memopsPerSubgroup: c.memops, mmas, memops,
    tops: MMA_OPS * mmas / sec / 1e12, memGps: memops / sec / 1e9, memGBps: memops * c.bytes / sec / 1e9,
    nsPerMmaPerSubgroup: ms * 1e6 / c.mmas });
  return row;
}
const fmt = r => `${r.name.padEnd(18)} ${r.spelling} wg${String(r.wg).padEnd(4)}` + (r.error ? ` ERROR ${r.error}` :
  `${r.ms.toFixed(3).padStart(9)} ms ${r.tops.toFixed(1).padStart(7)} TOPS ${r.memGps.toFixed(1).padStart(6)} G mem ops/s ${r.memGBps.toFixed(0).padStart(6)} GB/s (reps ${r.reps})`);
for (const c of cases) for (const wg of [128, 256]) { const r = await runCase(c, wg); rows.push(r); console.log(fmt(r)); }
// Dawn prints the old spelling's deprecation warnings to stdout between the lines above: repeat them cleanly.
console.log(`\nsummary (toggles ${toggles.join(',')}):`); for (const r of rows) console.log(fmt(r));
if (process.argv[2]) { writeFileSync(process.argv[2], JSON.stringify(rows, null, 1)); console.log('wrote', process.argv[2]); }
device.destroy(); console.log('done');
