import { createActor, setup } from "xstate"
import { describe, expect, it } from "vitest"
import { xstateClock } from "../../src/actors/xstateClock.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"

const timer = setup({ delays: { window: 2.5 } }).createMachine({
  initial: "waiting",
  states: { waiting: { after: { window: "fired" }, on: { cancel: "cancelled" } }, fired: {}, cancelled: {} },
})

describe("xstateClock", () => {
  it("fires an xstate `after` delay in virtual time, converting ms to ns", () => {
    const clock = new VirtualClock()
    const actor = createActor(timer, { clock: xstateClock(clock) })
    actor.subscribe({ error: (e) => { throw e } })
    actor.start()
    expect(actor.getSnapshot().value).toBe("waiting")
    clock.run()
    expect(actor.getSnapshot().value).toBe("fired")
    expect(clock.now()).toBe(2_500_000)
  })

  it("cancels the delay when the state is left before it fires", () => {
    const clock = new VirtualClock()
    const actor = createActor(timer, { clock: xstateClock(clock) })
    actor.subscribe({ error: (e) => { throw e } })
    actor.start()
    clock.schedule(1_000_000 as never, () => actor.send({ type: "cancel" }))
    clock.run()
    expect(actor.getSnapshot().value).toBe("cancelled")
    expect(clock.events).toBe(1)
  })
})
