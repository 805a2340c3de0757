// CPU per decode-attention price: the wave-level cycle model's fused path (decodeWavePricer, what
// makeCycleCostModel uses) against the generic one it replaces (priceTiling(tileKernel(...))), on the same
// 1M shapes (batch 1-200, varying lengths), alternating, 2 rounds. Needs dist/ (npm run build).
//   node bench/decode-price-speed.mjs
const root = new URL("../", import.meta.url).pathname
const { makeCycleCostModel, priceTiling } = await import(`${root}dist/sim/hw/cycleCostModel.js`)
const { tileKernel } = await import(`${root}dist/sim/hw/tiling.js`)
const { efficiencyFor } = await import(`${root}dist/sim/hw/efficiency.js`)
const { DEFAULT_MODEL_PARAMS: P } = await import(`${root}dist/sim/hw/modelParams.js`)
const { GPU_PRESETS } = await import(`${root}dist/core/hardware.js`)
const gpu = GPU_PRESETS.H200
const fused = makeCycleCostModel(gpu)
const generic = (s) => {
  const t = tileKernel(s, gpu, "default", P)
  return Math.round(priceTiling(t, gpu, efficiencyFor(gpu, t.klass), "wave", P).seconds * 1e9)
}
const N = 1_000_000
const shape = (i) => {
  const B = 1 + (i % 200)
  return { kind: "decodeAttention", requests: B, totalTokens: B * 3000 + i, maxTokens: 9000 + (i % 977), qHeads: 32, kvHeads: 8, headDim: 128, layers: 32, kvDtype: "fp8", mathDtype: "fp8" }
}
const sums = {}
for (let round = 1; round <= 2; round++) {
  for (const [name, price] of [["fused", (s) => fused.price(s).ns], ["generic", generic]]) {
    let acc = 0
    const t0 = process.cpuUsage()
    for (let i = 0; i < N; i++) acc += price(shape(i))
    const u = process.cpuUsage(t0)
    sums[name] = acc
    console.log(`round ${round} ${name.padEnd(7)} ${((u.user + u.system) / N).toFixed(3)} µs CPU per price`)
  }
}
console.log(sums.fused === sums.generic ? "same ns sum" : `ns sums differ: ${sums.fused} vs ${sums.generic}`)
