import fc from "fast-check"
import { assign, createActor, createMachine, not, type AnyActorLogic, type InspectionEvent } from "xstate"
import { describe, expect, it } from "vitest"
import { flatMachineLogic } from "../../src/actors/flatMachineLogic.js"
import { requestGroup } from "../../src/actors/requestGroup.js"
import { requestMachine, type RequestEvent } from "../../src/actors/requestMachine.js"
import { routerMachine, type RouterEvent } from "../../src/actors/routerMachine.js"
import { uniqueWorkerMachine, type UniqueWorkerEvent } from "../../src/actors/uniqueWorkerMachine.js"
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

// Run through flatMachineLogic and through xstate's interpreter, a machine leaves the same log on every generated input.
const sameAsXstate = <T>(input: fc.Arbitrary<T>, run: (flat: boolean, x: T) => unknown[], numRuns: number, seed: number): void =>
  fc.assert(fc.property(input, (x) => { expect(run(true, x)).toEqual(run(false, x)) }), { numRuns, seed })

describe("flatMachineLogic", () => {
  it("runs the request machine exactly as xstate's interpreter does on random event sequences", () => {
    const provided = (recordEnd: (a: { context: unknown }, p: { status: RequestStatus }) => void) => requestMachine.provide({ actions: { recordEnd } })
    sameAsXstate(fc.array(event, { maxLength: 8 }), (flat, events) => observe(flat ? (r) => flatMachineLogic(provided(r)) : provided, events), 400, 12)
  })

  it("runs the unique worker machine (guards, `always`) exactly as xstate's interpreter does", () => {
    // The guards read a world the actions change, as the engine's replica does: a queue admitted into
    // a prefill set, prefills that join the decode set, decodes that finish.
    const workerEvent: fc.Arbitrary<UniqueWorkerEvent> = fc.oneof(
      { weight: 2, arbitrary: fc.constant({ type: "worker.wake" as const }) },
      { weight: 6, arbitrary: fc.constant({ type: "phase.completed" as const }) },
      { weight: 1, arbitrary: fc.constant({ type: "phase.failed" as const, reason: "x" }) },
      { weight: 1, arbitrary: fc.constant({ type: "worker.stop" as const }) },
    )
    const step = fc.record({ event: workerEvent, arrivals: fc.nat(3), finished: fc.nat(3) })
    const runWorker = (flat: boolean, steps: readonly { event: UniqueWorkerEvent; arrivals: number; finished: number }[]) => {
      const w = { queued: 0, prefill: 0, decoding: 0, justPrefilled: false }
      const log: unknown[] = []
      const m = uniqueWorkerMachine.provide({
        actions: {
          admit: () => { log.push(["admit", { ...w }]); w.prefill += w.queued; w.queued = 0 },
          launchPrefill: () => log.push(["launchPrefill", { ...w }]),
          completePrefill: () => { log.push(["completePrefill", { ...w }]); w.decoding += w.prefill; w.prefill = 0; w.justPrefilled = true },
          startDecoding: () => { log.push(["startDecoding", { ...w }]); w.justPrefilled = false },
          failPhase: (_a, p) => log.push(["failPhase", p]),
          stopWork: () => log.push(["stopWork"]),
        },
        guards: {
          hasPrefill: () => w.prefill > 0 && !(w.justPrefilled && w.decoding > 0),
          hasDecode: () => w.decoding > 0,
        },
      })
      const actor = createActor(flat ? (flatMachineLogic(m) as unknown as typeof m) : m)
      actor.subscribe({ next: (s) => log.push(["next", s.value, s.status]), error: (e) => log.push(["error", e]), complete: () => log.push(["complete"]) })
      actor.start()
      for (const { event, arrivals, finished } of steps) {
        if (actor.getSnapshot().status !== "active") break
        w.queued += arrivals
        w.decoding = Math.max(0, w.decoding - finished)
        actor.send(event)
        log.push(["after", event.type, actor.getSnapshot().value, actor.getSnapshot().status, { ...w }])
      }
      return log
    }
    sameAsXstate(fc.array(step, { maxLength: 24 }), runWorker, 400, 14)
  })

  it("runs the router machine (actions with params computed from the event) exactly as xstate's interpreter does", () => {
    const routerEvent: fc.Arbitrary<RouterEvent> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ type: fc.constant("router.requestJoined" as const), worker: fc.nat(3), requestId: fc.nat(50), blocks: fc.option(fc.array(fc.nat(99), { maxLength: 3 }), { nil: undefined }) }) },
      { weight: 5, arbitrary: fc.record({ type: fc.constant("router.requestLeft" as const), worker: fc.nat(3), requestId: fc.nat(50) }) },
      { weight: 1, arbitrary: fc.constant({ type: "router.stop" as const }) },
    )
    const runRouter = (flat: boolean, events: readonly RouterEvent[]) => {
      const log: unknown[] = []
      const m = routerMachine.provide({ actions: { join: (_a, p) => log.push(["join", p]), leave: (_a, p) => log.push(["leave", p]) } })
      const actor = createActor(flat ? (flatMachineLogic(m) as unknown as typeof m) : m).start()
      for (const e of events) {
        if (actor.getSnapshot().status !== "active") break
        actor.send(e)
        log.push(["after", e.type, actor.getSnapshot().value, actor.getSnapshot().status])
      }
      return log
    }
    sameAsXstate(fc.array(routerEvent, { maxLength: 16 }), runRouter, 200, 15)
  })

  it("keeps xstate's order: exit, transition and entry actions; a state's guarded handler before the root's; eventless checks after any event", () => {
    const make = (log: string[], world: { pokeB: boolean; leave: boolean }) =>
      createMachine({
        id: "m",
        initial: "a",
        context: { n: 0 },
        on: { reset: { target: ".a", actions: assign({ n: 0 }) }, poke: { actions: () => log.push("root poke") } },
        states: {
          a: { entry: () => log.push("enter a"), exit: () => log.push("exit a"), on: { go: { target: "b", actions: [assign({ n: ({ context }) => context.n + 1 }), ({ context }) => log.push(`go n=${context.n}`)] } } },
          b: {
            entry: { type: "named", params: ({ context }: { context: { n: number } }) => ({ n: context.n }) },
            always: { guard: () => world.leave, target: "d", actions: () => log.push("leave b") },
            on: { stay: { actions: assign(({ context }) => ({ n: context.n * 10 })) }, again: { target: "b", reenter: true }, same: "b", end: "c", poke: { guard: () => world.pokeB, actions: () => log.push("b poke") } },
          },
          c: { type: "final" },
          d: { entry: () => log.push("enter d"), on: { back: { target: "b", actions: () => { world.leave = false } } } },
        },
      }).provide({ actions: { named: (_a: unknown, p: unknown) => log.push(`named ${JSON.stringify(p)}`) } })
    const run = (flat: boolean) => {
      const log: string[] = []
      const world = { pokeB: false, leave: false }
      const m = make(log, world)
      const actor = createActor(flat ? (flatMachineLogic(m) as unknown as typeof m) : m).start()
      // "+poke" / "+leave" set the world's flag, then send an event nobody handles
      for (const type of ["go", "poke", "+poke", "poke", "stay", "again", "same", "+leave", "back", "reset", "reset", "go", "end", "go"]) {
        if (type === "+poke") world.pokeB = true
        if (type === "+leave") world.leave = true
        actor.send({ type })
        log.push(`${type}: ${JSON.stringify(actor.getSnapshot().value)} ${actor.getSnapshot().status} ${JSON.stringify(actor.getSnapshot().context)}`)
      }
      return log
    }
    expect(run(true)).toEqual(run(false))
    expect(run(true)).toEqual(expect.arrayContaining(["named {\"n\":1}", "root poke", "b poke", "leave b", "enter d"]))
  })

  it("persists and restores a snapshot: the restored actor goes on as the original would", () => {
    const ends: unknown[] = []
    const logic = flatMachineLogic(requestMachine.provide({ actions: { recordEnd: ({ context }, p) => ends.push([p.status, context.finishedNs, context.firstTokenNs]) } }))
    const a = createActor(logic, { input: spec }).start()
    a.send({ type: "request.prefillStarted", atNs: 200 as Ns })
    a.send({ type: "request.firstToken", atNs: 300 as Ns })
    const persisted = JSON.parse(JSON.stringify(a.getPersistedSnapshot()))
    expect(persisted).toMatchObject({ status: "active", value: "decoding" })
    const b = createActor(logic, { input: spec, snapshot: persisted }).start()
    expect(b.getSnapshot().value).toBe("decoding")
    b.send({ type: "request.completed", atNs: 500 as Ns, outputTokens: 3 })
    expect(b.getSnapshot().status).toBe("done")
    expect(ends).toEqual([["completed", 500, 300]])
    // xstate's Actor turns a failed restore into an errored actor
    const bad = createActor(logic, { input: spec, snapshot: { ...persisted, value: "nowhere" } }).getSnapshot()
    expect(bad.status).toBe("error")
    expect(String(bad.error)).toMatch(/no state "nowhere" to restore/)
  })

  it("refuses machines it cannot run as xstate would, naming what", () => {
    const nested = createMachine({ id: "n", initial: "a", states: { a: { initial: "x", states: { x: {} } } } })
    expect(() => flatMachineLogic(nested)).toThrow(/machine "n" has a compound state "a"/)
    const targetless = createMachine({ id: "w", initial: "a", states: { a: { always: { actions: () => undefined } }, b: {} } })
    expect(() => flatMachineLogic(targetless)).toThrow(/`always` transition of "a" without another target/)
    const builtin = createMachine({ id: "b", initial: "a", states: { a: { on: { e: { target: "b", guard: not(() => true) } } }, b: {} } })
    expect(() => flatMachineLogic(builtin)).toThrow(/built-in guard/)
    const delayed = createMachine({ id: "d", initial: "a", states: { a: { after: { 10: "b" } }, b: {} } })
    expect(() => flatMachineLogic(delayed)).toThrow(/has `after` on state "a"/)
    const wild = createMachine({ id: "s", initial: "a", states: { a: { on: { "x.*": "b" } }, b: {} } })
    expect(() => flatMachineLogic(wild)).toThrow(/wildcard event "x\.\*"/)
    const rootReenter = createMachine({ id: "l", initial: "a", on: { e: { target: ".a", reenter: true } }, states: { a: {} } })
    expect(() => flatMachineLogic(rootReenter)).toThrow(/root transition on "e" with reenter/)
  })
})
