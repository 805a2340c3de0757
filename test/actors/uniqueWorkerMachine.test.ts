import { createActor } from "xstate"
import { describe, expect, it } from "vitest"
import { uniqueWorkerMachine } from "../../src/actors/uniqueWorkerMachine.js"

/** A worker over a toy queue: `admit` moves queued requests to prefill; prefill moves them to decoding. */
const make = () => {
  const s = { queued: 0, prefill: 0, decoding: 0 }
  const log: string[] = []
  const actor = createActor(
    uniqueWorkerMachine.provide({
      actions: {
        admit: () => {
          if (s.queued > 0) log.push(`admit ${s.queued}`)
          s.prefill += s.queued
          s.queued = 0
        },
        launchPrefill: () => log.push(`prefill ${s.prefill}`),
        completePrefill: () => {
          s.decoding += s.prefill
          s.prefill = 0
        },
        startDecoding: () => log.push(`decode ${s.decoding}`),
        failPhase: () => log.push("fail"),
        stopWork: () => log.push("stop"),
      },
      guards: { hasPrefill: () => s.prefill > 0, hasDecode: () => s.decoding > 0 },
    }),
  )
  actor.subscribe({ error: (e) => { throw e } })
  actor.start()
  return { actor, log, s }
}

describe("uniqueWorkerMachine", () => {
  it("goes back to idle when woken with nothing queued", () => {
    const { actor, log } = make()
    actor.send({ type: "worker.wake" })
    expect(actor.getSnapshot().value).toBe("idle")
    expect(log).toEqual([])
  })

  it("admits, prefills the newcomers, then decodes until the phase ends, then idles", () => {
    const { actor, log, s } = make()
    s.queued = 3
    actor.send({ type: "worker.wake" })
    expect(actor.getSnapshot().value).toBe("prefilling")
    actor.send({ type: "phase.completed" })
    expect(actor.getSnapshot().value).toBe("decoding")
    s.decoding = 0 // everyone finished inside the decoding phase
    actor.send({ type: "phase.completed" })
    expect(actor.getSnapshot().value).toBe("idle")
    expect(log).toEqual(["admit 3", "prefill 3", "decode 3"])
  })

  it("interrupts decoding for a prefill when requests were admitted, then resumes decoding", () => {
    const { actor, log, s } = make()
    s.queued = 1
    actor.send({ type: "worker.wake" })
    actor.send({ type: "phase.completed" })
    s.queued = 2 // arrived while decoding
    actor.send({ type: "phase.completed" })
    expect(actor.getSnapshot().value).toBe("prefilling")
    actor.send({ type: "phase.completed" })
    expect(actor.getSnapshot().value).toBe("decoding")
    expect(log).toEqual(["admit 1", "prefill 1", "decode 1", "admit 2", "prefill 2", "decode 3"])
  })

  it("ignores wake-ups while busy (work is picked up at the next phase boundary) and stops from any state", () => {
    const { actor, log, s } = make()
    s.queued = 1
    actor.send({ type: "worker.wake" })
    actor.send({ type: "worker.wake" })
    expect(log).toEqual(["admit 1", "prefill 1"])
    actor.send({ type: "worker.stop" })
    expect(actor.getSnapshot().status).toBe("done")
    expect(log.at(-1)).toBe("stop")
  })
})
