import { createActor } from "xstate"
import { describe, expect, it } from "vitest"
import { routerMachine } from "../../src/actors/routerMachine.js"
import { sharedBatcherMachine } from "../../src/actors/sharedBatcherMachine.js"
import { sharedWorkerMachine } from "../../src/actors/sharedWorkerMachine.js"
import { traceSinkMachine } from "../../src/actors/traceSinkMachine.js"

describe("routerMachine", () => {
  it("forwards membership changes to its join/leave actions until stopped", () => {
    const log: string[] = []
    const actor = createActor(
      routerMachine.provide({
        actions: {
          join: (_a, p) => log.push(`join ${p.worker}/${p.requestId} ${p.blocks?.join(",") ?? "-"}`),
          leave: (_a, p) => log.push(`leave ${p.worker}/${p.requestId}`),
        },
      }),
    ).start()
    actor.send({ type: "router.requestJoined", worker: 0, requestId: 3, blocks: [1, 2] })
    actor.send({ type: "router.requestLeft", worker: 0, requestId: 3 })
    actor.send({ type: "router.stop" })
    actor.send({ type: "router.requestJoined", worker: 0, requestId: 4, blocks: undefined })
    expect(log).toEqual(["join 0/3 1,2", "leave 0/3"])
    expect(actor.getSnapshot().status).toBe("done")
  })
})

describe("sharedBatcherMachine", () => {
  it("opens its pipeline on start, flushes on command and closes once", () => {
    const log: string[] = []
    const actor = createActor(
      sharedBatcherMachine.provide({ actions: { open: () => log.push("open"), flush: () => log.push("flush"), close: () => log.push("close") } }),
    ).start()
    actor.send({ type: "batcher.flush" })
    actor.send({ type: "batcher.close" })
    actor.send({ type: "batcher.close" })
    expect(log).toEqual(["open", "flush", "close"])
  })
})

describe("sharedWorkerMachine", () => {
  it("serves, drains without accepting new work, and stops", () => {
    const log: string[] = []
    const actor = createActor(sharedWorkerMachine.provide({ actions: { open: () => log.push("open"), close: () => log.push("close") } })).start()
    expect(actor.getSnapshot().value).toBe("serving")
    actor.send({ type: "worker.drain" })
    expect(actor.getSnapshot().value).toBe("draining")
    actor.send({ type: "worker.stop" })
    expect(actor.getSnapshot().status).toBe("done")
    expect(log).toEqual(["open", "close"])
  })
})

describe("traceSinkMachine", () => {
  it("subscribes on start, flushes on command, and closes", () => {
    const log: string[] = []
    const actor = createActor(
      traceSinkMachine.provide({ actions: { open: () => log.push("open"), flush: () => log.push("flush"), close: () => log.push("close") } }),
    ).start()
    actor.send({ type: "sink.flush" })
    actor.send({ type: "sink.close" })
    expect(log).toEqual(["open", "flush", "close"])
    expect(actor.getSnapshot().status).toBe("done")
  })
})
