import fc from "fast-check"
import { assign, createActor, createMachine, setup, type AnyActorLogic, type InspectionEvent } from "xstate"
import { describe, expect, it } from "vitest"
import { flatMachineLogic } from "../../src/actors/flatMachineLogic.js"
import { requestGroup } from "../../src/actors/requestGroup.js"
import { requestMachine, type RequestEvent } from "../../src/actors/requestMachine.js"
import type { RequestStatus } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"

const spec = { id: 7, arrivalNs: 100 as Ns, uniqueTokens: 4096, outputTokens: 3 }

const event: fc.Arbitrary<RequestEvent> = fc.oneof(
  ...(["request.admitted", "request.prefillStarted", "request.decodeStarted", "request.firstToken"] as const).map((type) =>
    fc.nat(10_000).map((atNs) => ({ type, atNs: atNs as Ns })),
  ),
  fc.record({ type: fc.constant("request.completed" as const), atNs: fc.nat(10_000).map((n) => n as Ns), outputTokens: fc.nat(64) }),
  fc.record({ type: fc.constant("request.cancelled" as const), atNs: fc.nat(10_000).map((n) => n as Ns), outputTokens: fc.nat(64) }),
  fc.record({ type: fc.constant("request.rejected" as const), atNs: fc.nat(10_000).map((n) => n as Ns), reason: fc.string({ maxLength: 4 }) }),
  fc.record({ type: fc.constant("request.failed" as const), atNs: fc.nat(10_000).map((n) => n as Ns), outputTokens: fc.nat(64), reason: fc.string({ maxLength: 4 }) }),
)

// Everything an observer of a request can see: each snapshot's state, status and context, each
// recordEnd call with the context it saw, the inspection stream's action events, the group's done count.
const observe = (make: (recordEnd: (a: { context: unknown }, p: { status: RequestStatus }) => void) => AnyActorLogic, events: readonly RequestEvent[]) => {
  const log: unknown[] = []
  const group = createActor(requestGroup, { inspect: (e: InspectionEvent) => { if (e.type === "@xstate.action") log.push(["action", e.action.type, e.action.params]) } }).start()
  const actor = createActor(make(({ context }, p) => log.push(["recordEnd", p.status, context])), { input: spec, parent: group })
  actor.subscribe({ next: (s: { value: unknown; status: unknown; context: unknown }) => log.push(["next", s.value, s.status, s.context]), error: (e) => log.push(["error", e]), complete: () => log.push(["complete"]) })
  actor.start()
  for (const e of events) {
    if (actor.getSnapshot().status !== "active") break // a stopped actor drops events in xstate's Actor, whatever its logic
    actor.send(e)
    const s = actor.getSnapshot() as { value: unknown; status: unknown; context: unknown }
    log.push(["after", e.type, s.value, s.status, s.context])
  }
  log.push(["group", group.getSnapshot().context])
  return log
}

describe("flatMachineLogic", () => {
  it("runs the request machine exactly as xstate's interpreter does on random event sequences", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), (events) => {
        const viaXstate = observe((recordEnd) => requestMachine.provide({ actions: { recordEnd } }), events)
        const viaTable = observe((recordEnd) => flatMachineLogic(requestMachine.provide({ actions: { recordEnd } })), events)
        expect(viaTable).toEqual(viaXstate)
      }),
      { numRuns: 400, seed: 12 },
    )
  })

  it("keeps exit, transition and entry actions in xstate's order, inline actions and function params included", () => {
    const make = (log: string[]) =>
      createMachine({
        id: "m",
        initial: "a",
        context: { n: 0 },
        on: { reset: { target: ".a", actions: assign({ n: 0 }) } },
        states: {
          a: { entry: () => log.push("enter a"), exit: () => log.push("exit a"), on: { go: { target: "b", actions: [assign({ n: ({ context }) => context.n + 1 }), ({ context }) => log.push(`go n=${context.n}`)] } } },
          b: { entry: { type: "named", params: ({ context }: { context: { n: number } }) => ({ n: context.n }) }, on: { stay: { actions: assign(({ context }) => ({ n: context.n * 10 })) }, again: { target: "b", reenter: true }, same: "b", end: "c" } },
          c: { type: "final" },
        },
      }).provide({ actions: { named: (_a: unknown, p: unknown) => log.push(`named ${JSON.stringify(p)}`) } })
    const run = (flat: boolean) => {
      const log: string[] = []
      const m = make(log)
      const actor = createActor(flat ? (flatMachineLogic(m) as unknown as typeof m) : m).start()
      for (const type of ["go", "stay", "again", "same", "reset", "reset", "go", "end", "go"]) {
        actor.send({ type })
        log.push(`${type}: ${JSON.stringify(actor.getSnapshot().value)} ${actor.getSnapshot().status} ${JSON.stringify(actor.getSnapshot().context)}`)
      }
      return log
    }
    expect(run(true)).toEqual(run(false))
    expect(run(true)).toContain("named {\"n\":1}")
  })

  it("refuses machines it cannot run as xstate would, naming what", () => {
    const nested = createMachine({ id: "n", initial: "a", states: { a: { initial: "x", states: { x: {} } } } })
    expect(() => flatMachineLogic(nested)).toThrow(/machine "n" has a compound state "a"/)
    const guarded = setup({ guards: { ok: () => true } }).createMachine({ id: "g", initial: "a", states: { a: { on: { e: { target: "b", guard: "ok" } } }, b: {} } })
    expect(() => flatMachineLogic(guarded)).toThrow(/has a guard on "e"/)
    const always = createMachine({ id: "w", initial: "a", states: { a: { always: "b" }, b: {} } })
    expect(() => flatMachineLogic(always)).toThrow(/has `always` on state "a"/)
    const delayed = createMachine({ id: "d", initial: "a", states: { a: { after: { 10: "b" } }, b: {} } })
    expect(() => flatMachineLogic(delayed)).toThrow(/has `after` on state "a"/)
    const wild = createMachine({ id: "s", initial: "a", states: { a: { on: { "x.*": "b" } }, b: {} } })
    expect(() => flatMachineLogic(wild)).toThrow(/wildcard event "x\.\*"/)
    const rootReenter = createMachine({ id: "l", initial: "a", on: { e: { target: ".a", reenter: true } }, states: { a: {} } })
    expect(() => flatMachineLogic(rootReenter)).toThrow(/root transition on "e" with reenter/)
  })
})
