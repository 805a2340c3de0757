import { createActor } from "xstate"
import { describe, expect, it } from "vitest"
import { uniqueWorkerMachine } from "../../src/actors/uniqueWorkerMachine.js"

const make = (state: { work: number; idleAfter: boolean }) => {
  const log: string[] = []
  const actor = createActor(
    uniqueWorkerMachine.provide({
      actions: {
        launchStep: () => log.push("launch"),
        completeStep: () => log.push("complete"),
        failStep: () => log.push("fail"),
        stopWork: () => log.push("stop"),
      },
      guards: { hasWork: () => state.work > 0, willIdle: () => state.idleAfter },
    }),
  )
  actor.subscribe({ error: (e) => { throw e } })
  actor.start()
  return { actor, log }
}

describe("uniqueWorkerMachine", () => {
  it("stays idle when woken with nothing to do", () => {
    const { actor, log } = make({ work: 0, idleAfter: true })
    actor.send({ type: "worker.wake" })
    expect(actor.getSnapshot().value).toBe("idle")
    expect(log).toEqual([])
  })

  it("launches a step when woken with work, and chains steps while work remains", () => {
    const state = { work: 1, idleAfter: false }
    const { actor, log } = make(state)
    actor.send({ type: "worker.wake" })
    expect(actor.getSnapshot().value).toBe("running")
    actor.send({ type: "step.completed" })
    expect(actor.getSnapshot().value).toBe("running")
    state.idleAfter = true
    actor.send({ type: "step.completed" })
    expect(actor.getSnapshot().value).toBe("idle")
    expect(log).toEqual(["launch", "complete", "launch", "complete"])
  })

  it("ignores wake-ups while running (work is picked up at the next step boundary)", () => {
    const { actor, log } = make({ work: 1, idleAfter: false })
    actor.send({ type: "worker.wake" })
    actor.send({ type: "worker.wake" })
    expect(log).toEqual(["launch"])
  })

  it("stops from any state", () => {
    const { actor, log } = make({ work: 1, idleAfter: false })
    actor.send({ type: "worker.wake" })
    actor.send({ type: "worker.stop" })
    expect(actor.getSnapshot().status).toBe("done")
    expect(log).toEqual(["launch", "stop"])
  })
})
