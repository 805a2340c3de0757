import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../../src/core/hardware.js"
import { DEFAULT_MODEL_PARAMS } from "../../../src/sim/hw/modelParams.js"
import { tileKernel } from "../../../src/sim/hw/tiling.js"
import { torchTopkLaunches, type TopkCall } from "../../../src/sim/hw/torchTopk.js"
import { waveCycles } from "../../../src/sim/hw/waveModel.js"

const H200 = GPU_PRESETS.H200
const P = DEFAULT_MODEL_PARAMS
const call = (slices: number, sliceSize: number, k: number): TopkCall => ({ slices, sliceSize, k, elemBytes: 2, label: "topk", klass: "t", repeat: 1 })
const labels = (c: TopkCall) => torchTopkLaunches(c, H200, P).map((l) => l.label)
const ideal = { compute: 1, memory: 1, launchNs: 0 }

describe("torch.topk as PyTorch launches it", () => {
  it("runs one block per row (select + sort) below PyTorch's multi-block thresholds and 16 launches above them", () => {
    // should_use_multiblock: 800-4000 rows need >= 800 values, more than 4000 rows >= 400
    expect(labels(call(512, 1024, 64))).toEqual(["topk.select", "topk.sort"])
    expect(labels(call(4000, 799, 64))).toHaveLength(2)
    expect(labels(call(4000, 800, 64))).toHaveLength(16)
    expect(labels(call(4001, 399, 64))).toHaveLength(2)
    const mb = labels(call(8192, 400, 64))
    expect(mb).toHaveLength(16)
    // two 8-bit digit passes for a 16-bit type, each a histogram, a cumulative sum and a within-k count
    expect(mb.filter((l) => l === "topk.digitCounts")).toHaveLength(2)
    expect(mb.at(-2)).toBe("topk.gather")
    expect(mb.at(-1)).toBe("topk.sort")
  })

  it("pays the single-block select's 8 radix passes and 1.5 gather loops as latency, once per round of co-resident blocks", () => {
    // 256 values a row: a 256-thread block, 8 warps
    const pass = P.selectPassLatencyCycles + 8 * P.selectPassCyclesPerWarp
    const [select] = torchTopkLaunches(call(128, 256, 16), H200, P)
    expect(select!.fillCycles).toBe(P.fillCycles + 9.5 * pass)
    const lat0 = torchTopkLaunches(call(128, 256, 16), H200, { ...P, selectPassLatencyCycles: 0, selectPassCyclesPerWarp: 0 })[0]!
    expect(waveCycles(select!, H200, ideal, P).cycles - waveCycles(lat0, H200, ideal, P).cycles).toBeCloseTo(9.5 * pass, 6)
  })

  it("makes a pass of a wider block wait longer: every warp's lane-0 atomics hit the same shared digit counters", () => {
    const fill = (size: number) => torchTopkLaunches(call(128, size, 16), H200, P)[0]!.fillCycles
    expect(fill(1024) - fill(64)).toBe(9.5 * (32 - 2) * P.selectPassCyclesPerWarp)
    expect(P.selectPassCyclesPerWarp).toBeGreaterThan(0)
  })

  it("sorts k <= 128 in a 32- or 128-slot network and larger k in a block radix sort of at least 1024 slots", () => {
    const sortFlops = (k: number) => torchTopkLaunches(call(128, 4096, k), H200, P).at(-1)!.groups[0]!.flops
    expect(sortFlops(16)).toBe(sortFlops(32))
    expect(sortFlops(64)).toBe(sortFlops(128))
    expect(sortFlops(256)).toBe(sortFlops(1024))
    expect(sortFlops(2048)).toBeGreaterThan(sortFlops(1024))
    expect(sortFlops(256)).toBeGreaterThan(8 * sortFlops(128))
  })

  it("is the eager router's selection; moska's own router keeps its one fused launch", () => {
    const spec = { kind: "router", requests: 1024, chunks: 4096, topK: 256, kvHeads: 8, groupSize: 4, headDim: 128, layers: 1, dtype: "bf16" } as const
    expect(tileKernel(spec, H200, "torch-eager").launches).toHaveLength(18) // bmm, group sum, 16 of topk
    expect(tileKernel({ ...spec, requests: 16, chunks: 256, topK: 16 }, H200, "torch-eager").launches).toHaveLength(4)
    expect(tileKernel(spec, H200).launches.map((l) => l.label)).toEqual(["router.scores", "router.topk"])
  })
})
