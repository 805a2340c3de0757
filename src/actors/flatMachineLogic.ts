import type { ActorLogic, ActorScope, AnyStateMachine, ContextFrom, EventFromLogic, EventObject, InputFrom, MachineContext, Snapshot } from "xstate"

/** The snapshot of a flat machine run by `flatMachineLogic`: the machine's state value and context. */
export type FlatSnapshot<TContext extends MachineContext> = Snapshot<undefined> & {
  readonly value: string
  readonly context: TContext
}

/** The actor logic `flatMachineLogic` returns for a machine of that context, those events and that input. */
export type FlatMachineLogic<TContext extends MachineContext, TEvent extends EventObject, TInput> = ActorLogic<FlatSnapshot<TContext>, TEvent, TInput>

type Scope = ActorScope<FlatSnapshot<MachineContext>, EventObject>
type AnyFn = (...args: never[]) => unknown
// An action of a compiled transition: a context update (assign) or an effect run through the actor's executor.
type Run = (context: MachineContext, event: EventObject, scope: Scope) => MachineContext
interface Step {
  readonly to: number // index of the target state, or -1 for a transition without a target
  readonly runs: readonly Run[] // the source's exit actions, the transition's actions, the target's entry actions
}

const unsupported = (machine: AnyStateMachine, what: string): Error =>
  new Error(`flatMachineLogic: machine "${machine.id}" ${what}; run it as createActor(machine) instead`)

const noSpawn = (): never => {
  throw new Error("flatMachineLogic: spawn inside assign is not supported")
}

/** xstate's assign: `Object.assign({}, context, partial)`, each property assigner seeing the context before the update. */
const assignRun = (assignment: unknown, params: unknown): Run => {
  const paramsOf = typeof params === "function" ? (params as AnyFn) : null
  return (context, event, scope) => {
    const args = { context, event, spawn: noSpawn, self: scope.self, system: scope.system }
    const p = paramsOf === null ? params : (paramsOf as (a: object) => unknown)({ context, event })
    let partial: Record<string, unknown>
    if (typeof assignment === "function") partial = (assignment as (a: object, p: unknown) => Record<string, unknown>)(args, p)
    else {
      partial = {}
      for (const key of Object.keys(assignment as object)) {
        const prop = (assignment as Record<string, unknown>)[key]
        partial[key] = typeof prop === "function" ? (prop as (a: object, p: unknown) => unknown)(args, p) : prop
      }
    }
    return Object.assign({}, context, partial)
  }
}

/** A named or inline action with no built-in semantics: run by the actor's executor, as xstate runs it (inspection, deferral before start). */
const effectRun = (type: string, exec: AnyFn | undefined, params: unknown): Run => {
  const paramsOf = typeof params === "function" ? (params as (a: object) => unknown) : null
  return (context, event, scope) => {
    scope.actionExecutor({
      type,
      info: { context, event, self: scope.self, system: scope.system } as never,
      params: paramsOf === null ? params : paramsOf({ context, event }),
      exec: exec as never,
    })
    return context
  }
}

const compileAction = (machine: AnyStateMachine, action: unknown): Run => {
  const inline = typeof action === "function"
  const type = inline ? "" : typeof action === "string" ? action : (action as { type: string }).type
  const impl: unknown = inline ? action : (machine.implementations.actions as Record<string, unknown>)[type]
  const params = inline || typeof action === "string" ? undefined : (action as { params?: unknown }).params
  if (typeof impl === "function" && "resolve" in impl) {
    if ((impl as { type?: string }).type !== "xstate.assign") throw unsupported(machine, `uses the built-in action ${(impl as { type?: string }).type ?? "?"}`)
    return assignRun((impl as unknown as { assignment: unknown }).assignment, params)
  }
  return effectRun(inline ? (impl as AnyFn).name || "(anonymous)" : type, impl as AnyFn | undefined, params)
}

/**
 * Runs a flat xstate machine (a root whose children are atomic or final states) as actor logic of
 * its own: one table lookup per event and one snapshot per transition, where xstate's interpreter
 * builds state-node sets, adjacency maps, tags and two snapshots per microstep. It exists for
 * the request actor, which a run creates per request (45-54 µs of CPU a lifecycle through the
 * interpreter: docs/sim-speed). The machine stays the definition: states, events, `assign`s and
 * named actions (with `.provide()` implementations and params) come from it, so the actor is
 * still an xstate actor with the same parent, system, done event and observers. Semantics kept:
 * the current state's handler first, else the root's; exit, transition and entry actions in that
 * order, custom ones through the actor's executor; a final child ends the actor (`status: "done"`).
 * Anything else (nested or parallel states, guards, `always`, `after`, `invoke`, wildcard events,
 * tags, output, built-in actions other than `assign`) is refused when compiling, with a message.
 * test/actors/flatMachineLogic.test.ts holds it to xstate's interpreter on random event sequences.
 * @example
 * const logic = flatMachineLogic(requestMachine.provide({ actions: { recordEnd } }))
 * createActor(logic, { input: spec, parent: group }).start()
 */
export const flatMachineLogic = <M extends AnyStateMachine>(machine: M): FlatMachineLogic<ContextFrom<M>, EventFromLogic<M>, InputFrom<M>> => {
  const root = machine.root
  const refuse = (node: { config: Record<string, unknown> }, where: string): void => {
    for (const key of ["always", "after", "invoke", "onDone", "tags", "output", "history"]) {
      const v = node.config[key]
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) throw unsupported(machine, `has \`${key}\` on ${where}`)
    }
  }
  refuse(root as never, "its root")
  if (root.entry.length > 0 || root.exit.length > 0) throw unsupported(machine, "has root entry or exit actions")
  const nodes = Object.values(root.states)
  const names = nodes.map((n) => n.key)
  const final = nodes.map((n) => n.type === "final")
  for (const n of nodes) {
    if (n.type !== "atomic" && n.type !== "final") throw unsupported(machine, `has a ${n.type} state "${n.key}" (only atomic and final children of the root)`)
    refuse(n as never, `state "${n.key}"`)
  }
  const indexOf = (node: unknown): number => {
    const i = nodes.indexOf(node as (typeof nodes)[number])
    if (i < 0) throw unsupported(machine, "has a transition whose target is not a child of the root")
    return i
  }
  const compileTransitions = (source: (typeof nodes)[number] | typeof root, from: number): Map<string, Step> => {
    const out = new Map<string, Step>()
    for (const [type, list] of source.transitions) {
      if (type.includes("*")) throw unsupported(machine, `has the wildcard event "${type}"`)
      if (list.length !== 1) throw unsupported(machine, `has ${list.length} transitions for "${type}"`)
      const t = list[0] as (typeof list)[number]
      if (t.guard !== undefined) throw unsupported(machine, `has a guard on "${type}"`)
      const targets = t.target ?? []
      if (targets.length > 1) throw unsupported(machine, `has several targets on "${type}"`)
      if (from < 0 && t.reenter) throw unsupported(machine, `has a root transition on "${type}" with reenter`)
      let to = targets.length === 0 ? -1 : indexOf(targets[0])
      // xstate: a state's transition to itself stays in it (no exit, no entry) unless it says reenter
      if (to === from && !t.reenter) to = -1
      out.set(type, { to, runs: t.actions.map((a) => compileAction(machine, a)) })
    }
    return out
  }
  const rootSteps = compileTransitions(root, -1)
  // Per state: its own handlers, then the root's for events it does not handle (xstate's bubbling).
  // A step with a target also carries the current state's exit actions before and the target's entry
  // after, a root transition to the active state included (xstate exits and re-enters it).
  const tables = nodes.map((n, i) => {
    if (final[i]) return new Map<string, Step>() // a final state ends the actor: no event reaches it
    const own = compileTransitions(n, i)
    const table = new Map<string, Step>()
    const exit = n.exit.map((a) => compileAction(machine, a))
    for (const [type, step] of [...rootSteps, ...own]) {
      if (step.to < 0) table.set(type, step)
      else table.set(type, { to: step.to, runs: [...exit, ...step.runs, ...(nodes[step.to] as (typeof nodes)[number]).entry.map((a) => compileAction(machine, a))] })
    }
    return table
  })
  const initialTarget = root.initial.target[0]
  if (root.initial.target.length !== 1 || initialTarget === undefined) throw unsupported(machine, "has no single initial state")
  const initial = indexOf(initialTarget)
  const initialEntry = nodes[initial]?.entry.map((a) => compileAction(machine, a)) ?? []
  const contextConfig: unknown = machine.config.context

  const snapshotAt = (state: number, context: MachineContext): FlatSnapshot<MachineContext> =>
    ({ status: final[state] ? "done" : "active", value: names[state] as string, context, output: undefined, error: undefined }) as FlatSnapshot<MachineContext>
  const stateOf = new Map(names.map((n, i) => [n, i]))
  const run = (runs: readonly Run[], context: MachineContext, event: EventObject, scope: Scope): MachineContext => {
    let c = context
    for (const r of runs) c = r(c, event, scope)
    return c
  }

  const logic: FlatMachineLogic<MachineContext, EventObject, unknown> = {
    config: machine,
    getInitialSnapshot: (scope, input) => {
      const event = { type: "xstate.init", input }
      const context = (typeof contextConfig === "function"
        ? (contextConfig as (a: object) => MachineContext)({ input, self: scope.self, spawn: noSpawn })
        : (contextConfig ?? {})) as MachineContext
      return snapshotAt(initial, run(initialEntry, context, event, scope as unknown as Scope))
    },
    transition: (snapshot, event, scope) => {
      if (snapshot.status !== "active") return snapshot
      const state = stateOf.get(snapshot.value) as number
      const step = (tables[state] as Map<string, Step>).get(event.type)
      if (step === undefined) return snapshot // unhandled: xstate leaves the snapshot as it was
      const context = run(step.runs, snapshot.context, event, scope as unknown as Scope)
      return snapshotAt(step.to < 0 ? state : step.to, context)
    },
    getPersistedSnapshot: (snapshot) => ({ ...snapshot }),
    restoreSnapshot: (persisted) => {
      const p = persisted as unknown as FlatSnapshot<MachineContext>
      const state = stateOf.get(p.value)
      if (state === undefined) throw unsupported(machine, `has no state "${String(p.value)}" to restore`)
      return { ...snapshotAt(state, p.context), status: p.status, error: p.error } as FlatSnapshot<MachineContext>
    },
  }
  return logic as unknown as FlatMachineLogic<ContextFrom<M>, EventFromLogic<M>, InputFrom<M>>
}
