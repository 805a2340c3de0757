import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"
import { tileCount, type Launch } from "./launch.js"
import type { ModelParams } from "./modelParams.js"
import { launchRates, type LaunchCycles } from "./waveModel.js"

/**
 * Event-driven per-SM tile scheduler with HBM contention (a fluid model). Tiles are dispatched in
 * launch order to the least-loaded SM with a free slot (occupancy = `tilesPerSm`). A resident tile
 * first spends its pipeline fill, then streams its bytes and does its math concurrently; it ends
 * when both are done. Math is shared evenly by the tiles of one SM; HBM bandwidth is shared
 * max-min fairly among SMs that are loading (each SM capped at the per-SM bandwidth), then evenly
 * among that SM's loading tiles. Time advances to the next fill, math or load completion.
 * Above `eventMaxTiles` tiles, consecutive tiles of a group are merged into one (work summed).
 * @example scheduleCycles(launch, GPU_PRESETS.H200, efficiencyFor(gpu, launch.klass), DEFAULT_MODEL_PARAMS)
 */
export const scheduleCycles = (launch: Launch, gpu: GpuSpec, eff: KernelEfficiency, p: ModelParams): LaunchCycles => {
  const T0 = tileCount(launch)
  const { rate, bw, cap } = launchRates(launch, gpu, eff, p)
  const F = launch.groups.reduce((s, g) => s + g.tiles * g.flops, 0)
  const B = launch.groups.reduce((s, g) => s + g.tiles * g.bytes, 0)
  const base = { tiles: T0, waves: Math.ceil(T0 / (gpu.sms * launch.tilesPerSm)), computeCycles: F / (rate * gpu.sms), memoryCycles: B / bw }
  if (T0 === 0) return { ...base, cycles: 0 }
  const merge = Math.max(1, Math.ceil(T0 / p.eventMaxTiles))
  // queue of tiles as (fill, flops, bytes), merged `merge` at a time within a group
  const queue: Array<[number, number, number]> = []
  for (const g of launch.groups) {
    let left = g.tiles
    while (left > 0) {
      const n = Math.min(merge, left)
      queue.push([launch.fillCycles * n, g.flops * n, g.bytes * n])
      left -= n
    }
  }
  const sms = gpu.sms
  const k = launch.tilesPerSm
  const load = new Int32Array(sms)
  const smOf: number[] = []
  const fill: number[] = []
  const fl: number[] = []
  const by: number[] = []
  let next = 0
  let t = 0
  const EPS = 1e-9
  const dispatch = (): void => {
    while (next < queue.length) {
      let best = -1
      for (let s = 0; s < sms; s++) if (load[s]! < k && (best < 0 || load[s]! < load[best]!)) best = s
      if (best < 0) return
      const [f0, f1, b1] = queue[next++]!
      load[best]!++
      smOf.push(best); fill.push(f0); fl.push(f1); by.push(b1)
    }
  }
  const mathN = new Int32Array(sms)
  const memN = new Int32Array(sms)
  const smBw = new Float64Array(sms)
  dispatch()
  while (smOf.length > 0) {
    mathN.fill(0); memN.fill(0)
    for (let i = 0; i < smOf.length; i++) {
      if (fill[i]! > EPS) continue
      if (fl[i]! > EPS) mathN[smOf[i]!]!++
      if (by[i]! > EPS) memN[smOf[i]!]!++
    }
    // max-min fair split of device bandwidth over loading SMs, each capped
    let loading = 0
    for (let s = 0; s < sms; s++) if (memN[s]! > 0) loading++
    const level = loading > 0 ? Math.min(cap, bw / loading) : 0
    for (let s = 0; s < sms; s++) smBw[s] = memN[s]! > 0 ? level / memN[s]! : 0
    let dt = Infinity
    for (let i = 0; i < smOf.length; i++) {
      const s = smOf[i]!
      if (fill[i]! > EPS) { dt = Math.min(dt, fill[i]!); continue }
      if (fl[i]! > EPS) dt = Math.min(dt, fl[i]! / (rate / mathN[s]!))
      if (by[i]! > EPS) dt = Math.min(dt, by[i]! / smBw[s]!)
    }
    t += dt
    for (let i = smOf.length - 1; i >= 0; i--) {
      const s = smOf[i]!
      if (fill[i]! > EPS) {
        fill[i] = fill[i]! - dt
      } else {
        if (fl[i]! > EPS) fl[i] = fl[i]! - (rate / mathN[s]!) * dt
        if (by[i]! > EPS) by[i] = by[i]! - smBw[s]! * dt
      }
      const scale = 1e-9 * (1 + t)
      if (fill[i]! <= scale && fl[i]! <= scale * rate && by[i]! <= scale * bw) {
        load[s]!--
        smOf.splice(i, 1); fill.splice(i, 1); fl.splice(i, 1); by.splice(i, 1)
      } else {
        if (fill[i]! <= scale) fill[i] = 0
        if (fl[i]! <= scale * rate) fl[i] = 0
        if (by[i]! <= scale * bw) by[i] = 0
      }
    }
    dispatch()
  }
  return { ...base, cycles: t }
}
