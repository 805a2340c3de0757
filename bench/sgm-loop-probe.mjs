// Issue 14, helper K3: does an f16·f16→f32 subgroup result matrix that accumulates across a loop back-edge come out
// right on this device? The lazy-O f16 kernel (MOSKA_SHARED_F16_OACC=lazy) keeps O in result matrices across its key
// loop and was wrong on the H200 (err ≈ 0.5, even with LAZY_O=none: docs/kernels-h200.md, sessions 10 / 10b) while
// the default kernel, whose O matrices live for one tile and go through workgroup memory, is right.
//   bash .gpu/on-host.sh node bench/sgm-loop-probe.mjs [$OUT/sgm-loop.json]   (the JSON there; the table on stdout;
//   also step `sgm-loop` of bench/h200-kernels-s10.sh)
// Every variant computes O = Σ_i P_i·V_i (16×16 f16 P and V per subgroup and iteration, or, for kern-*, the lazy
// kernel's 64-row × 128-column O per workgroup from 64×64 P and 64×128 V tiles staged in padded workgroup rows)
// and is checked against float64. Inputs are k/64 (|k| ≤ 64): every product and partial sum is exact in f32, so a
// right result has error 0 and any error is the device getting the program wrong, not rounding.
//   loop           O in a result matrix declared before a loop of n iterations (n from a uniform buffer), stored once
//   loop-const     the same with a constant trip count (the compiler may unroll it)
//   unrolled       n multiply-accumulates written out, no loop
//   wsm-reload     O declared inside the loop, loaded from workgroup memory, accumulated, stored back every iteration
//                  (a barrier between the load and the store, which the emulation needs)
//   wsm-add        O zeroed every iteration, stored to workgroup memory and added into f32 registers (the default
//                  kernel's form)
//   decl-inside    O declared before the loop, copied into a matrix declared inside it, accumulated, copied back
//   fn-value       the multiply-accumulate through a function taking and returning the accumulator
//   fn-ptr         the same through a function taking a pointer to it
//   loop-barrier   the loop with P and V staged into workgroup memory each iteration (barriers), loaded from there
//   loop-wul       loop-barrier plus a workgroupUniformLoad of a flag every iteration (the lazy kernel's, unused)
//   loop-wul-if    the flag (always 0) guards a reset of O (the lazy kernel's flush branch, never taken)
//   kern-lazy      the lazy kernel's P·V: 8 accumulators per subgroup (4 row × 2 column blocks) declared before the
//                  tile loop, an inner loop over 4 key blocks, tiles staged with barriers, stored once at the end
//   kern-lazy-unr  the same with the inner key-block loop written out
//   kern-lazy-wul  kern-lazy plus the lazy kernel's flag and workgroupUniformLoad every tile
//   kern-tile      the default kernel's form: accumulators declared inside the tile loop (live across the inner
//                  loop only), stored every tile to a storage scratch, the tiles summed per invocation at the end
//   neg-skip       (only when SGM_LOOP_ONLY names it) `loop` without iteration 0: must be WRONG, or the check is blind
// Each variant runs with real matrix builtins ("real": where the adapter has f16 16×16×16 configs) and emulated per
// invocation ("emu": the same WGSL with each builtin rewritten into a loop over a whole 16×16 matrix, so it runs on
// lavapipe and, on the H200, tells whether the program around the builtins is right there), under Dawn's default
// robustness ("base") and with disable_robustness ("rob0").
// Environment: SGM_LOOP_ITERS (default "2,16"; comma list of n), SGM_LOOP_WGS (workgroups, default 64; 2 when
// only emulating), SGM_LOOP_MODES (real,emu; default both where real can run, else emu), SGM_LOOP_SETS (base,rob0;
// default both), SGM_LOOP_EMU_SETS (sets the emulated rows run under; default base where real runs, else all),
// SGM_LOOP_ONLY (comma list of variants), SGM_LOOP_STRICT=1 (exit 1 unless every row is right),
// SGM_DEBUG=1 (print a failing compile's full message and WGSL), MOSKA_WEBGPU_BACKEND (default vulkan).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);

const env = process.env;
const outArg = process.argv[2] ?? join(env.OUT ?? '.', 'sgm-loop.json');
const say = s => process.stdout.write(`${s}\n`);
const list = (v, d) => (v ?? d).split(',').map(s => s.trim()).filter(Boolean);
const keep = []; // Dawn instances, adapters, devices: an instance collected while its device lives crashes Node.

// ---- WGSL ----
const Lt = 'subgroup_matrix_left<f16, 16, 16>', Rt = 'subgroup_matrix_right<f16, 16, 16>', Ct = 'subgroup_matrix_result<f32, 16, 16>';
// Spellings as src/gpu/sharedInt8/sgm.ts writes them (offsets and strides in elements of f16 / f32 arrays).
const ldM = (sp, T, arr, off, stride) => sp === 'template' ? `subgroupMatrixLoad<${T}, row_major>(&${arr}, ${off}, ${stride})` : `subgroupMatrixLoad<${T}>(&${arr}, ${off}, false, ${stride})`;
const stM = (sp, arr, off, m, stride) => sp === 'template' ? `subgroupMatrixStore<row_major>(&${arr}, ${off}, ${m}, ${stride});` : `subgroupMatrixStore(&${arr}, ${off}, ${m}, false, ${stride});`;
const mma = (a, b, c) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`;
const range = n => [...Array(n).keys()];

// Simple group: subgroup g = w·4 + sg owns P_(g,i), V_(g,i) at (g·n + i)·256 (16×16, row-major) and O at g·256.
const simple = (sp, body, { wsm = '', helpers = '' } = {}) => ({ group: 'simple', wsm, helpers, body: body({
  P: i => ldM(sp, Lt, 'pm', `(g * n + ${i}) * 256u`, '16u'),
  V: i => ldM(sp, Rt, 'vm', `(g * n + ${i}) * 256u`, '16u'),
  storeO: m => stM(sp, 'out', 'g * 256u', m, '16u'),
}) });
// Staging for loop-barrier/-wul: the workgroup's four subgroups' P_i and V_i into pw / vw (256 f16 each per subgroup).
const stage4 = `    for (var e = lid; e < 1024u; e += 128u) { let x = ((w * 4u + e / 256u) * n + i) * 256u + e % 256u; pw[e] = pm[x]; vw[e] = vm[x]; }
    workgroupBarrier();`;
const WSM4 = 'var<workgroup> pw: array<f16, 1024>;\nvar<workgroup> vw: array<f16, 1024>;';
const FLAG = 'var<workgroup> fl: u32;';

const VARIANTS = {
  loop: (sp) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    let a = ${P('i')};
    let b = ${V('i')};
    o = ${mma('a', 'b', 'o')};
  }
  ${storeO('o')}`),
  'loop-const': (sp, n) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < ${n}u; i++) {
    let a = ${P('i')};
    let b = ${V('i')};
    o = ${mma('a', 'b', 'o')};
  }
  ${storeO('o')}`),
  unrolled: (sp, n) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
${range(n).map(i => `  { let a = ${P(`${i}u`)}; let b = ${V(`${i}u`)}; o = ${mma('a', 'b', 'o')}; }`).join('\n')}
  ${storeO('o')}`),
  'wsm-reload': (sp) => simple(sp, ({ P, V }) => `  for (var e = lid; e < 1024u; e += 128u) { ow[e] = 0.0; }
  workgroupBarrier();
  for (var i = 0u; i < n; i++) {
    var o = ${ldM(sp, Ct, 'ow', 'sg * 256u', '16u')};
    // Every emulated invocation reads the whole matrix: all must have read it before any stores over it.
    workgroupBarrier();
    let a = ${P('i')};
    let b = ${V('i')};
    o = ${mma('a', 'b', 'o')};
    ${stM(sp, 'ow', 'sg * 256u', 'o', '16u')}
    workgroupBarrier();
  }
  for (var e = lid; e < 1024u; e += 128u) { out[w * 1024u + e] = ow[e]; }`, { wsm: 'var<workgroup> ow: array<f32, 1024>;' }),
  'wsm-add': (sp) => simple(sp, ({ P, V }) => `  var acc: array<f32, 8>;
  for (var k = 0u; k < 8u; k++) { acc[k] = 0.0; }
  for (var i = 0u; i < n; i++) {
    var o = ${Ct}();
    let a = ${P('i')};
    let b = ${V('i')};
    o = ${mma('a', 'b', 'o')};
    ${stM(sp, 'ow', 'sg * 256u', 'o', '16u')}
    workgroupBarrier();
    for (var k = 0u; k < 8u; k++) { acc[k] += ow[lid + 128u * k]; }
    workgroupBarrier();
  }
  for (var k = 0u; k < 8u; k++) { out[w * 1024u + lid + 128u * k] = acc[k]; }`, { wsm: 'var<workgroup> ow: array<f32, 1024>;' }),
  'decl-inside': (sp) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    var t = o;
    let a = ${P('i')};
    let b = ${V('i')};
    t = ${mma('a', 'b', 't')};
    o = t;
  }
  ${storeO('o')}`),
  'fn-value': (sp) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    let a = ${P('i')};
    let b = ${V('i')};
    o = acc_value(a, b, o);
  }
  ${storeO('o')}`, { helpers: `fn acc_value(a: ${Lt}, b: ${Rt}, c: ${Ct}) -> ${Ct} { return ${mma('a', 'b', 'c')}; }` }),
  'fn-ptr': (sp) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    let a = ${P('i')};
    let b = ${V('i')};
    acc_ptr(&o, a, b);
  }
  ${storeO('o')}`, { helpers: `fn acc_ptr(c: ptr<function, ${Ct}>, a: ${Lt}, b: ${Rt}) { *c = ${mma('a', 'b', '*c')}; }` }),
  'loop-barrier': (sp) => simple(sp, ({ storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
${stage4}
    let a = ${ldM(sp, Lt, 'pw', 'sg * 256u', '16u')};
    let b = ${ldM(sp, Rt, 'vw', 'sg * 256u', '16u')};
    o = ${mma('a', 'b', 'o')};
    workgroupBarrier();
  }
  ${storeO('o')}`, { wsm: WSM4 }),
  'loop-wul': (sp) => simple(sp, ({ storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    if (lid == 0u) { fl = 0u; }
${stage4}
    let rs = workgroupUniformLoad(&fl);
    _ = rs;
    let a = ${ldM(sp, Lt, 'pw', 'sg * 256u', '16u')};
    let b = ${ldM(sp, Rt, 'vw', 'sg * 256u', '16u')};
    o = ${mma('a', 'b', 'o')};
    workgroupBarrier();
  }
  ${storeO('o')}`, { wsm: `${WSM4}\n${FLAG}` }),
  'loop-wul-if': (sp) => simple(sp, ({ storeO }) => `  var o = ${Ct}();
  for (var i = 0u; i < n; i++) {
    if (lid == 0u) { fl = 0u; }
${stage4}
    let rs = workgroupUniformLoad(&fl);
    if (rs != 0u) { o = ${Ct}(); }
    let a = ${ldM(sp, Lt, 'pw', 'sg * 256u', '16u')};
    let b = ${ldM(sp, Rt, 'vw', 'sg * 256u', '16u')};
    o = ${mma('a', 'b', 'o')};
    workgroupBarrier();
  }
  ${storeO('o')}`, { wsm: `${WSM4}\n${FLAG}` }),
  // Negative control, run only when SGM_LOOP_ONLY names it: `loop` skipping iteration 0 must come out WRONG.
  'neg-skip': (sp) => simple(sp, ({ P, V, storeO }) => `  var o = ${Ct}();
  for (var i = 1u; i < n; i++) {
    let a = ${P('i')};
    let b = ${V('i')};
    o = ${mma('a', 'b', 'o')};
  }
  ${storeO('o')}`),
  'kern-lazy': (sp) => kern(sp, { lazy: true }),
  'kern-lazy-wul': (sp) => kern(sp, { lazy: true, wul: true }),
  'kern-tile': (sp) => kern(sp, { lazy: false }),
  // Last: its 32 written-out multiplies are the slowest to compile when emulated.
  'kern-lazy-unr': (sp) => kern(sp, { lazy: true, unroll: true }),
};

// Kernel group: workgroup w's tile i is P (64 rows × 64 keys) at (w·n + i)·4096 and V (64 keys × 128 columns) at
// (w·n + i)·8192, both row-major; O (64 × 128) at w·8192. Staged in the kernel's padded rows (P 72, V 136 f16) and
// multiplied in its order: subgroup sg owns column blocks sg and sg + 4 of every row block (sharedF16.wgsl.ts, pv).
const PST = 72, VST = 136;
function kern(sp, { lazy, unroll = false, wul = false }) {
  const decl = range(4).map(rb => `var o${rb}0 = ${Ct}(); var o${rb}1 = ${Ct}();`).join(' ');
  const step = j0 => [
    `let v0 = ${ldM(sp, Rt, 'hb', `${j0} * ${VST}u + sg * 16u`, `${VST}u`)};`,
    `let v1 = ${ldM(sp, Rt, 'hb', `${j0} * ${VST}u + sg * 16u + 64u`, `${VST}u`)};`,
    ...range(4).map(rb => `{ let a = ${ldM(sp, Lt, 'pb', `${rb * 16 * PST}u + ${j0}`, `${PST}u`)}; o${rb}0 = ${mma('a', 'v0', `o${rb}0`)}; o${rb}1 = ${mma('a', 'v1', `o${rb}1`)}; }`),
  ].map(l => `      ${l}`).join('\n');
  const pv = unroll ? range(4).map(j => `    {\n${step(`${16 * j}u`)}\n    }`).join('\n') : `    for (var j0 = 0u; j0 < 64u; j0 += 16u) {\n${step('j0')}\n    }`;
  const stores = (arr, base) => range(4).flatMap(rb => [0, 1].map(h => `  ${stM(sp, arr, `(${base} + ${rb * 16}u) * 128u + sg * 16u + ${64 * h}u`, `o${rb}${h}`, '128u')}`));
  const body = `${lazy ? `  ${decl}\n` : ''}  for (var i = 0u; i < n; i++) {
${wul ? '    if (lid == 0u) { fl = 0u; }\n' : ''}    for (var e = lid; e < 4096u; e += 128u) { pb[(e / 64u) * ${PST}u + e % 64u] = pm[(w * n + i) * 4096u + e]; }
    for (var e = lid; e < 8192u; e += 128u) { hb[(e / 128u) * ${VST}u + e % 128u] = vm[(w * n + i) * 8192u + e]; }
${wul ? '    let rs = workgroupUniformLoad(&fl);\n    _ = rs;' : '    workgroupBarrier();'}
${lazy ? '' : `    ${decl}\n`}${pv}
${lazy ? '' : `${stores('scr', '(w * n + i) * 64u').map(s => `  ${s}`).join('\n')}\n`}    workgroupBarrier();
  }
${lazy ? stores('out', 'w * 64u').join('\n') : `  storageBarrier();
  for (var e = lid; e < 8192u; e += 128u) { var s = 0.0; for (var i = 0u; i < n; i++) { s += scr[(w * n + i) * 8192u + e]; } out[w * 8192u + e] = s; }`}`;
  return { group: 'kern', body, helpers: '', wsm: `var<workgroup> pb: array<f16, ${64 * PST}>;\nvar<workgroup> hb: array<f16, ${64 * VST}>;${wul ? `\n${FLAG}` : ''}` };
}

const shader = (v, real) => `enable f16;
${real ? 'enable subgroups;\nenable chromium_experimental_subgroup_matrix;\n' : ''}struct Prm { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> pm: array<f16>;
@group(0) @binding(1) var<storage, read> vm: array<f16>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> prm: Prm;
@group(0) @binding(4) var<storage, read_write> scr: array<f32>;
${v.wsm}
${v.helpers}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${real ? ', @builtin(subgroup_id) sgid: u32' : ''}) {
  let sg = ${real ? 'sgid' : 'lid / 32u'};
  let w = wid.x;
  let g = w * 4u + sg;
  let n = prm.n;
  _ = g;
${v.body}
}
`;

/**
 * The template-spelled WGSL with every subgroup-matrix builtin emulated per invocation: each invocation holds a
 * whole 16×16 matrix (element (i, j) at v[16i + j]), loads and stores it at the same offset and stride (row-major:
 * off + i·stride + j) and multiplies in f32 with fma (exact on these inputs). The subgroup id becomes lid / 32, so
 * the roles are the real ones whatever the device's subgroup width. Same rewrite as test/gpu/sgmRewrite.ts.
 */
const emulate = wgsl => {
  let s = wgsl.replace('enable subgroups;\nenable chromium_experimental_subgroup_matrix;\n', '')
    .replace(', @builtin(subgroup_id) sgid: u32', '').replace('let sg = sgid;', 'let sg = lid / 32u;');
  const types = { [Lt]: 'MatL', [Rt]: 'MatR', [Ct]: 'MatF' };
  for (const [from, to] of Object.entries(types)) s = s.replaceAll(from, to);
  const loads = new Set(), stores = new Set();
  s = s.replace(/subgroupMatrixLoad<(MatL|MatR|MatF), row_major>\(&(\w+), /g, (_, T, arr) => { loads.add(`${T}:${arr}`); return `ld_${T}_${arr}(`; });
  s = s.replace(/subgroupMatrixStore<row_major>\(&(\w+), /g, (_, arr) => { stores.add(arr); return `st_${arr}(`; });
  s = s.replaceAll('subgroupMatrixMultiplyAccumulate(', 'mma(');
  if (/subgroupMatrix|subgroup_matrix/.test(s)) throw new Error('emulate: a subgroup-matrix builtin or type was left unrewritten');
  const elem = { MatL: 'f16', MatR: 'f16', MatF: 'f32' };
  const helpers = [
    ...Object.entries(elem).map(([T, e]) => `struct ${T} { v: array<${e}, 256> }`),
    ...[...loads].map(x => { const [T, arr] = x.split(':');
      return `fn ld_${T}_${arr}(off: u32, stride: u32) -> ${T} { var m: ${T}; for (var i = 0u; i < 16u; i++) { for (var j = 0u; j < 16u; j++) { m.v[i * 16u + j] = ${arr}[off + i * stride + j]; } } return m; }`; }),
    ...[...stores].map(arr => `fn st_${arr}(off: u32, m: MatF, stride: u32) { for (var i = 0u; i < 16u; i++) { for (var j = 0u; j < 16u; j++) { ${arr}[off + i * stride + j] = m.v[i * 16u + j]; } } }`),
    'fn mma(a: MatL, b: MatR, c: MatF) -> MatF { var r = c; for (var i = 0u; i < 16u; i++) { for (var j = 0u; j < 16u; j++) { var acc = r.v[i * 16u + j]; for (var k = 0u; k < 16u; k++) { acc = fma(f32(a.v[i * 16u + k]), f32(b.v[k * 16u + j]), acc); } r.v[i * 16u + j] = acc; } } return r; }',
  ];
  return `${s}\n${helpers.join('\n')}\n`;
};

// ---- data and float64 references ----
// k/64 for k in [-64, 64] from a fixed xorshift (no Math.random: the same data every run).
const f16Bits = v => { if (v === 0) return 0; const s = v < 0 ? 0x8000 : 0; const a = Math.abs(v); const e = Math.floor(Math.log2(a));
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024); };
const makeValues = (count, seed) => { const v = new Float64Array(count); let x = seed | 0;
  for (let i = 0; i < count; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; v[i] = (((x >>> 0) % 129) - 64) / 64; } return v; };
// O = Σ_i P_i·V_i with P_i: rows × kk at pOff(i), V_i: kk × cols at vOff(i), both row-major.
const matSum = (P, V, n, rows, kk, cols, pOff, vOff) => { const o = new Float64Array(rows * cols);
  for (let i = 0; i < n; i++) { const p0 = pOff(i), v0 = vOff(i);
    for (let r = 0; r < rows; r++) for (let k = 0; k < kk; k++) { const a = P[p0 + r * kk + k]; if (a === 0) continue; const vr = v0 + k * cols, or = r * cols;
      for (let c = 0; c < cols; c++) o[or + c] += a * V[vr + c]; } }
  return o; };
const reference = (group, P, V, n, wgs) => {
  const ref = new Float64Array(group === 'kern' ? wgs * 8192 : wgs * 1024);
  if (group === 'kern') for (let w = 0; w < wgs; w++) ref.set(matSum(P, V, n, 64, 64, 128, i => (w * n + i) * 4096, i => (w * n + i) * 8192), w * 8192);
  else for (let g = 0; g < wgs * 4; g++) ref.set(matSum(P, V, n, 16, 16, 16, i => (g * n + i) * 256, i => (g * n + i) * 256), g * 256);
  return ref;
};

// ---- devices ----
const SETS = { base: [], rob0: ['disable_robustness'] };
async function openSet(label) {
  const toggles = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', ...SETS[label]];
  const gpu = create([`backend=${env.MOSKA_WEBGPU_BACKEND ?? 'vulkan'}`, `enable-dawn-features=${toggles.join(',')}`]);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { label, toggles, error: 'no adapter' };
  keep.push(adapter);
  const configs = [...(adapter.info.subgroupMatrixConfigs ?? [])].map(c => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`);
  const feats = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'].filter(f => adapter.features.has(f));
  if (!feats.includes('shader-f16')) return { label, toggles, error: 'no shader-f16' };
  const L = adapter.limits;
  const device = await adapter.requestDevice({ requiredFeatures: feats, requiredLimits: {
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize, maxStorageBufferBindingSize: L.maxStorageBufferBindingSize, maxBufferSize: L.maxBufferSize } });
  keep.push(device);
  const dev = { label, toggles, device, configs, lost: null, name: [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' | '),
    real: feats.includes('chromium-experimental-subgroup-matrix') && configs.includes('f16->f32 16x16x16') && (adapter.info.subgroupMinSize ?? 0) === 32 };
  void device.lost.then(l => { dev.lost = `${l.reason}: ${l.message}`; });
  device.addEventListener('uncapturederror', e => { dev.uncaptured ??= e.error.message.split('\n')[0]; });
  // The spelling this compiler takes (as src/gpu/device.ts probes it): the template form, else the legacy one.
  dev.spelling = 'template';
  if (dev.real) {
    device.pushErrorScope('validation');
    const info = await device.createShaderModule({ code: `enable f16;\nenable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> b: array<f16>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(32) fn main() { let m = ${ldM('template', Lt, 'b', '0u', '16u')}; var r = ${Ct}(); r = ${mma('m', `${Rt}()`, 'r')}; ${stM('template', 'c', '0u', 'r', '16u')} }` }).getCompilationInfo();
    const err = await device.popErrorScope();
    if (err || info.messages.some(m => m.type === 'error')) dev.spelling = 'legacy';
  }
  return dev;
}

const errLine = msg => msg.split('\n').find(l => /error/i.test(l)) ?? msg.split('\n')[0];
async function runRow(dev, bufs, { name, mode, n, wgs }) {
  const row = { set: dev.label, mode, variant: name, iters: n, workgroups: wgs };
  if (dev.lost) return { ...row, error: `device lost before this row (${dev.lost})` };
  const v = VARIANTS[name](mode === 'real' ? dev.spelling : 'template', n);
  const code = mode === 'real' ? shader(v, true) : emulate(shader(v, true));
  const { device } = dev;
  device.pushErrorScope('internal'); device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({ layout: bufs.layout, compute: { module, entryPoint: 'main' } });
  const ev = await device.popErrorScope(), ei = await device.popErrorScope();
  if (ev || ei) { if (env.SGM_DEBUG) say(`${(ev ?? ei).message}\n${code}`); return { ...row, error: `compile: ${errLine((ev ?? ei).message)}` }; }
  const outLen = v.group === 'kern' ? wgs * 8192 : wgs * 1024;
  device.queue.writeBuffer(bufs.out, 0, new Uint32Array(outLen).fill(0x7fc00000)); // NaN: an unwritten element fails
  device.queue.writeBuffer(bufs.prm, 0, new Uint32Array([n, 0, 0, 0]));
  device.pushErrorScope('validation');
  const e = device.createCommandEncoder();
  const pass = e.beginComputePass(); pass.setPipeline(pipeline); pass.setBindGroup(0, bufs.group); pass.dispatchWorkgroups(wgs); pass.end();
  e.copyBufferToBuffer(bufs.out, 0, bufs.read, 0, outLen * 4);
  const t0 = performance.now();
  device.queue.submit([e.finish()]);
  try { await bufs.read.mapAsync(GPUMapMode.READ, 0, outLen * 4); } catch (err) {
    const ve = await device.popErrorScope();
    return { ...row, error: `dispatch: ${errLine(ve?.message ?? String(err))}` };
  }
  row.ms = performance.now() - t0; // dispatch + readback wall time, for orientation only
  const got = new Float32Array(bufs.read.getMappedRange(0, outLen * 4).slice(0)); bufs.read.unmap();
  const ve = await device.popErrorScope();
  if (ve) return { ...row, error: `dispatch: ${errLine(ve.message)}` };
  if (dev.lost) return { ...row, error: `device lost (${dev.lost})` };
  const ref = bufs.ref(v.group, n);
  let maxErr = 0, maxRef = 0, e2 = 0, r2 = 0, bad = 0;
  for (let i = 0; i < outLen; i++) { const d = Math.abs(got[i] - ref[i]); const dd = Number.isFinite(d) ? d : Infinity; if (dd > 0) bad++;
    maxErr = Math.max(maxErr, dd); maxRef = Math.max(maxRef, Math.abs(ref[i])); e2 += dd * dd; r2 += ref[i] * ref[i]; }
  // Exact inputs: a right result is exact; 1e-6 only allows for a device that flushes something below f32's ulp.
  const relErr = Math.sqrt(e2 / r2);
  return { ...row, maxAbsErr: maxErr, relErr, maxRef, wrongElements: bad, elements: outLen, ok: relErr < 1e-6 };
}

// float64 references by (group, n, workgroups): the data depend only on those, so the toggle sets share them.
const REFS = new Map();
function buffers(dev, P, V, maxN, wgs) {
  const { device } = dev;
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const halves = a => Uint16Array.from(a, f16Bits);
  const mk = (bytes, usage) => device.createBuffer({ size: Math.max(256, Math.ceil(bytes / 256) * 256), usage });
  const pm = mk(P.length * 2, S), vm = mk(V.length * 2, S), out = mk(wgs * 8192 * 4, S), scr = mk(wgs * maxN * 8192 * 4, S);
  const prm = mk(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST), read = mk(wgs * 8192 * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(pm, 0, halves(P)); device.queue.writeBuffer(vm, 0, halves(V));
  const ro = { type: 'read-only-storage' }, rw = { type: 'storage' };
  const bgl = device.createBindGroupLayout({ entries: [ro, ro, rw, { type: 'uniform' }, rw].map((buffer, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer })) });
  const group = device.createBindGroup({ layout: bgl, entries: [pm, vm, out, prm, scr].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  return { out, prm, read, group, layout: device.createPipelineLayout({ bindGroupLayouts: [bgl] }), all: [pm, vm, out, scr, prm, read],
    ref: (g, n) => { const k = `${g}:${n}:${wgs}`; if (!REFS.has(k)) REFS.set(k, reference(g, P, V, n, wgs)); return REFS.get(k); } };
}

// ---- main ----
const iters = list(env.SGM_LOOP_ITERS, '2,16').map(Number);
if (iters.some(n => !Number.isInteger(n) || n < 1 || n > 64)) throw new Error(`SGM_LOOP_ITERS=${env.SGM_LOOP_ITERS}: want integers 1..64`);
const only = list(env.SGM_LOOP_ONLY, Object.keys(VARIANTS).filter(v => v !== 'neg-skip').join(','));
for (const v of only) if (!VARIANTS[v]) throw new Error(`SGM_LOOP_ONLY: unknown variant ${v} (have ${Object.keys(VARIANTS).join(', ')})`);
const sets = list(env.SGM_LOOP_SETS, 'base,rob0');
for (const s of sets) if (!SETS[s]) throw new Error(`SGM_LOOP_SETS: unknown set ${s} (base, rob0)`);
const rows = [], meta = [];
const maxN = Math.max(...iters);
// Every set's device first, then the rows: real builtins under each set, then the emulated control (by default
// under base only where real runs: the cheap, decisive rows come first if the step's time runs out).
const devs = [];
for (const label of sets) {
  const dev = await openSet(label);
  meta.push({ set: label, toggles: dev.toggles, adapter: dev.name, configs: dev.configs, realMatrices: dev.real ?? false, spelling: dev.spelling, error: dev.error });
  if (!dev.device) { say(`${label}: ${dev.error}`); continue; }
  devs.push(dev);
}
const anyReal = devs.some(d => d.real);
const modes = list(env.SGM_LOOP_MODES, anyReal ? 'real,emu' : 'emu');
const emuSets = list(env.SGM_LOOP_EMU_SETS, anyReal && !env.SGM_LOOP_MODES ? 'base' : sets.join(','));
const wgs = Number(env.SGM_LOOP_WGS ?? (modes.includes('real') ? 64 : 2));
const P = makeValues(wgs * maxN * 4096, 0x2545f491), V = makeValues(wgs * maxN * 8192, 0x6c078965);
for (const dev of devs) {
  dev.bufs = buffers(dev, P, V, maxN, wgs);
  say(`${dev.label}: ${dev.name}; toggles ${dev.toggles.join(',')}; f16 16x16x16 matrices ${dev.real ? `yes (${dev.spelling} spelling)` : 'no'}; ${wgs} workgroups`);
}
for (const mode of modes) for (const dev of devs) {
  if (mode === 'emu' && !emuSets.includes(dev.label)) continue;
  if (mode === 'real' && !dev.real) { rows.push({ set: dev.label, mode, error: 'no f16 16x16x16 subgroup matrices with 32-wide subgroups on this adapter' }); say(fmt(rows.at(-1))); continue; }
  for (const name of only) for (const n of iters) {
    const r = await runRow(dev, dev.bufs, { name, mode, n, wgs });
    rows.push(r);
    say(fmt(r));
  }
}
for (const dev of devs) { dev.bufs.all.forEach(b => b.destroy()); dev.device.destroy(); }
function fmt(r) {
  const head = `${(r.set ?? '').padEnd(5)} ${(r.mode ?? '').padEnd(5)} ${(r.variant ?? '-').padEnd(14)} n=${String(r.iters ?? '-').padEnd(3)}`;
  if (r.error) return `${head} ERROR ${r.error}`;
  return `${head} ${r.ok ? 'right' : 'WRONG'}  max|err| ${r.maxAbsErr.toExponential(2).padStart(9)}  rel ${r.relErr.toExponential(2).padStart(9)}  wrong ${r.wrongElements}/${r.elements}`;
}
say('\nsgm-loop-probe summary (f16·f16→f32 16x16x16, O = Σ P_i·V_i vs float64; inputs exact, so a right O matches exactly):');
for (const r of rows) say(fmt(r));
const json = JSON.stringify({ probe: 'sgm-loop', iters, workgroups: wgs, modes, emuSets, sets: meta, rows }, null, 1);
writeFileSync(outArg, json);
say(`wrote ${outArg}`);
const allRight = rows.length > 0 && rows.every(r => r.ok);
for (const d of keep) if (d && typeof d.destroy === 'function') d.destroy();
if (env.SGM_LOOP_STRICT === '1' && !allRight) process.exit(1);
