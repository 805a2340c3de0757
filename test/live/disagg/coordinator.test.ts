import { firstValueFrom, NEVER, type Observable } from "rxjs"
import { afterEach, describe, expect, it } from "vitest"
import type { GpuExecutor, WorkDone, WorkItem } from "../../../src/core/executor.js"
import { WorkerLost, WorkersMissing } from "../../../src/core/errors.js"
import { iterationWork } from "../../../src/engine/iterationWork.js"
import { poolCostModelOf } from "../../../src/engine/poolCostModelOf.js"
import { PricedExecutor } from "../../../src/engine/pricedExecutor.js"
import { Coordinator } from "../../../src/live/disagg/coordinator.js"
import { inProcessLink, type InProcessLink } from "../../../src/live/disagg/inProcessTransport.js"
import { RemoteExecutor } from "../../../src/live/disagg/remoteExecutor.js"
import { runWorker, type WorkerEnd } from "../../../src/live/disagg/runWorker.js"
import type { WorkerRole } from "../../../src/live/disagg/protocol.js"
import { WallClock } from "../../../src/live/wallClock.js"
import { loadScenarioFile } from "../../../src/cli/loadScenarioFile.js"
import { resolveScenario } from "../../../src/sim/resolve.js"

// The coordinator, its RemoteExecutor and real worker loops (runWorker), linked in-process; the
// heartbeats are short so losses are noticed quickly, but nothing here asserts a duration.
const scenario = loadScenarioFile("scenarios/live/tiny-disagg.yaml")
const resolved = resolveScenario(scenario)
const modelOf = poolCostModelOf(resolved)
const sharedItem: WorkItem = {
  workerId: "shared-0", label: "shared.iteration", queries: 4,
  kernels: iterationWork(resolved, { decoding: 4, unique: { count: 0, totalTokens: 0, maxTokens: 0 }, histogram: [{ queries: 4, units: 8 }] }).shared,
}

/** An executor that takes work and never finishes it (a hung device). */
const hung: GpuExecutor = { execute: (): Observable<WorkDone> => NEVER, freeAtNs: () => 0 }

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const deployment = (lostAfterMs = 5_000): { link: InProcessLink; coordinator: Coordinator; logs: string[] } => {
  const link = inProcessLink("inproc:test")
  const logs: string[] = []
  const coordinator = new Coordinator({ transport: link.hub, scenario, pools: { unique: 1, shared: 1 }, heartbeatMs: 20, lostAfterMs, log: (l) => logs.push(l) })
  cleanups.push(() => coordinator.close())
  return { link, coordinator, logs }
}

/** A worker loop on a spoke of `link`; `kill()` makes it stop answering at once, as a killed process does. */
const worker = (link: InProcessLink, role: WorkerRole, executor: "priced" | "hung" = "priced"): { ended: Promise<WorkerEnd>; kill: () => void } => {
  let killed: string | null = null
  const ended = runWorker({
    transport: link.connect(), role, adapter: -1, executorName: executor, host: "test", pid: 1, helloMs: 20, lostAfterMs: 5_000,
    log: () => undefined, interrupted: () => killed,
    makeExecutor: (_s, _id, clock) => (executor === "hung" ? hung : new PricedExecutor(clock, modelOf)),
  })
  const kill = (): void => {
    killed = "SIGKILL"
  }
  cleanups.push(async () => {
    kill()
    await ended
  })
  return { ended, kill }
}

const runClock = (): WallClock => {
  const clock = new WallClock()
  clock.start()
  cleanups.push(() => clock.stop())
  return clock
}

describe("Coordinator", () => {
  it("waits until a worker holds every id of the pools, and refuses a worker beyond them", async () => {
    const { link, coordinator, logs } = deployment()
    worker(link, "unique")
    const ready = coordinator.ready(60_000)
    while (coordinator.slots.get("unique-0")?.state !== "up") await new Promise((r) => setTimeout(r, 10))
    expect(coordinator.status()).toMatchObject({ state: "waiting for workers", missing: ["shared-0"] })
    worker(link, "shared")
    await ready
    expect(coordinator.status()).toEqual({ state: "ready", missing: [], lost: [] })
    const extra = await worker(link, "shared").ended
    expect(extra).toEqual({ kind: "refused", reason: "the scenario has 1 shared worker and it is connected" })
    expect(logs.some((l) => l.includes("shared-0 joined: test pid 1, executor priced (ready)"))).toBe(true)
  })

  it("refuses a shared worker without a data socket when links are real", async () => {
    const link = inProcessLink("inproc:test")
    const coordinator = new Coordinator({ transport: link.hub, scenario, pools: { unique: 1, shared: 1 }, heartbeatMs: 20, lostAfterMs: 5_000, realLinks: true, log: () => undefined })
    cleanups.push(() => coordinator.close())
    expect(await worker(link, "shared").ended).toEqual({
      kind: "refused", reason: "this coordinator moves query rows and partials between the workers (--links real): start the shared worker with --data-bind ADDR",
    })
  })

  it("stops waiting with WorkersMissing, naming the missing ids and the command that starts them", async () => {
    const { link, coordinator } = deployment()
    worker(link, "shared")
    const err = await coordinator.ready(300).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkersMissing)
    expect((err as WorkersMissing).missing).toEqual(["unique-0"])
    expect((err as WorkersMissing).message).toContain("start `moska worker --role unique --connect inproc:test`")
  })
})

describe("RemoteExecutor", () => {
  it("runs a pool's item on the process holding its id, at the worker's price, inside [sent, heard] on the run's clock", async () => {
    const { link, coordinator } = deployment()
    worker(link, "unique")
    worker(link, "shared")
    await coordinator.ready(60_000)
    const clock = runClock()
    const exec = new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: 0 })
    const sentNs = clock.now()
    const done = await firstValueFrom(exec.execute(sharedItem))
    const local = await firstValueFrom(new PricedExecutor(clock, modelOf).execute(sharedItem))
    expect(done.flops).toBe(local.flops)
    expect(done.bytes).toBe(local.bytes)
    expect(done.startNs).toBeGreaterThanOrEqual(sentNs)
    expect(done.endNs).toBeGreaterThanOrEqual(done.startNs)
    expect(done.endNs).toBeLessThanOrEqual(clock.now())
    expect(exec.facts()["disagg.shared-0.host"]).toBe("test pid 1 (priced)")
  })

  it("holds a lost worker's item and sends it again to the worker that takes its id, where it completes", async () => {
    const { link, coordinator, logs } = deployment(200)
    worker(link, "unique")
    const first = worker(link, "shared", "hung")
    await coordinator.ready(60_000)
    const clock = runClock()
    const exec = new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: 60_000_000_000 })
    const done = firstValueFrom(exec.execute(sharedItem))
    await new Promise((r) => setTimeout(r, 50))
    first.kill()
    await first.ended
    while (coordinator.status().state !== "degraded") await new Promise((r) => setTimeout(r, 20))
    expect(coordinator.status().lost).toEqual(["shared-0"])
    worker(link, "shared")
    expect((await done).item).toBe(sharedItem)
    expect(exec.facts()["disagg.resentItems"]).toBe(1)
    expect(coordinator.slots.get("shared-0")).toMatchObject({ state: "up", joins: 2, losses: 1 })
    expect(logs.some((l) => l.startsWith("moska coordinator: lost shared-0"))).toBe(true)
    expect(logs.some((l) => l.includes("shared-0 rejoined"))).toBe(true)
  })

  it("fails a lost worker's items with WorkerLost when no worker takes its id in time", async () => {
    const { link, coordinator } = deployment(200)
    worker(link, "unique")
    const first = worker(link, "shared", "hung")
    await coordinator.ready(60_000)
    const clock = runClock()
    const exec = new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: 100_000_000 })
    const done = firstValueFrom(exec.execute(sharedItem)).catch((e: unknown) => e)
    first.kill()
    const err = await done
    expect(err).toBeInstanceOf(WorkerLost)
    expect(err).toMatchObject({ workerId: "shared-0", items: 1 })
    expect((err as WorkerLost).message).toMatch(/^shared-0 \(test pid 1\) sent nothing for \d+ ms \(heartbeat timeout 200 ms\); no worker took its place within 100 ms, so 1 work item of the run did not complete$/)
  })
})
