import type { Actor, ActorLogic, ActorScope, AnyStateMachine, ContextFrom, EventFromLogic, EventObject, InputFrom, MachineContext, Snapshot } from "xstate"

/** The snapshot of a flat machine run by `flatMachineLogic`: the machine's state value and context. */
export type FlatSnapshot<TContext extends MachineContext> = Snapshot<undefined> & {
  readonly value: string
  readonly context: TContext
}

/** The actor logic `flatMachineLogic` returns for a machine of that context, those events and that input. */
export type FlatMachineLogic<TContext extends MachineContext, TEvent extends EventObject, TInput> = ActorLogic<FlatSnapshot<TContext>, TEvent, TInput>

/** The actor of a machine run through `flatMachineLogic`, typed from the machine. */
export type FlatActor<M extends AnyStateMachine> = Actor<FlatMachineLogic<ContextFrom<M>, EventFromLogic<M>, InputFrom<M>>>

type Scope = ActorScope<FlatSnapshot<MachineContext>, EventObject>
type AnyFn = (...args: never[]) => unknown
type Params = (context: MachineContext, event: EventObject) => unknown
// An action of a compiled transition: a context update (assign) or an effect run through the actor's executor.
type Run = (context: MachineContext, event: EventObject, scope: Scope) => MachineContext
type Guard = (context: MachineContext, event: EventObject) => boolean
interface Step {
  readonly guard: Guard | null
  readonly to: number // index of the target state, or -1 for a transition without a target
  readonly runs: readonly Run[] // the source's exit actions, the transition's actions, the target's entry actions
}

const unsupported = (machine: AnyStateMachine, what: string): Error =>
  new Error(`flatMachineLogic: machine "${machine.id}" ${what}; run it as createActor(machine) instead`)

const noSpawn = (): never => {
  throw new Error("flatMachineLogic: spawn inside assign is not supported")
}

/** An action's or guard's params: a value, or a function of `{ context, event }` that xstate calls each time. */
const paramsOf = (params: unknown): Params =>
  typeof params === "function" ? (context, event) => (params as (a: object) => unknown)({ context, event }) : () => params

/** xstate's assign: `Object.assign({}, context, partial)`, each property assigner seeing the context before the update. */
const assignRun = (assignment: unknown, params: unknown): Run => {
  const paramsAt = paramsOf(params)
  return (context, event, scope) => {
    const args = { context, event, spawn: noSpawn, self: scope.self, system: scope.system }
    const p = paramsAt(context, event)
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
  const paramsAt = paramsOf(params)
  return (context, event, scope) => {
    scope.actionExecutor({
      type,
      info: { context, event, self: scope.self, system: scope.system } as never,
      params: paramsAt(context, event),
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

/** xstate's evaluateGuard: a named guard (with params) from the machine's implementations, or an inline function. */
const compileGuard = (machine: AnyStateMachine, guard: unknown): Guard => {
  const inline = typeof guard === "function"
  const name = inline ? "" : typeof guard === "string" ? guard : (guard as { type: string }).type
  const impl: unknown = inline ? guard : (machine.implementations.guards as Record<string, unknown>)[name]
  if (impl === undefined) throw unsupported(machine, `has the guard "${name}" without an implementation`)
  if (typeof impl !== "function") return compileGuard(machine, impl)
  if ("check" in impl) throw unsupported(machine, `uses a built-in guard (${name || "inline"})`)
  const paramsAt = paramsOf(inline || typeof guard === "string" ? undefined : (guard as { params?: unknown }).params)
  const check = impl as (a: object, p: unknown) => boolean
  return (context, event) => check({ context, event }, paramsAt(context, event))
}

/**
 * Runs a flat xstate machine (a root whose children are atomic or final states) as actor logic of
 * its own: a table lookup per event and one snapshot per step, where xstate's interpreter builds
 * state-node sets, adjacency maps, tags and two snapshots per microstep. It exists for the actors a
 * run drives most: the request actor, created per request (45-54 µs of CPU a lifecycle through the
 * interpreter), the unique worker (a transition per decode phase) and the router (a membership
 * event per request joining or leaving, under trace routing); docs/sim-speed. The machine
 * stays the definition: states, events, guards, `always`, `assign`s and named actions (with
 * `.provide()` implementations and params) come from it, so the actor is still an xstate actor with
 * the same parent, system, done event and observers. Semantics kept: the current state's
 * transitions first (first whose guard passes), else the root's; exit, transition and entry actions
 * in that order, effects through the actor's executor; then eventless transitions until none is
 * enabled, after every event and the initial entry; a final child ends the actor (`status: "done"`).
 * Anything else (nested or parallel states, `after`, `invoke`, wildcard events, tags, output,
 * built-in actions other than `assign`, built-in guards) is refused when compiling, with a message.
 * test/actors/flatMachineLogic.test.ts holds it to xstate's interpreter on random event sequences.
 * @example
 * const logic = flatMachineLogic(requestMachine.provide({ actions: { recordEnd } }))
 * createActor(logic, { input: spec, parent: group }).start()
 */
export const flatMachineLogic = <M extends AnyStateMachine>(machine: M): FlatMachineLogic<ContextFrom<M>, EventFromLogic<M>, InputFrom<M>> => {
  const root = machine.root
  const refuse = (node: { config: Record<string, unknown> }, where: string): void => {
    for (const key of ["after", "invoke", "onDone", "tags", "output", "history"]) {
      const v = node.config[key]
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) throw unsupported(machine, `has \`${key}\` on ${where}`)
    }
  }
  refuse(root as never, "its root")
  if (root.config.always !== undefined) throw unsupported(machine, "has `always` on its root")
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
  const entryOf = nodes.map((n) => n.entry.map((a) => compileAction(machine, a)))
  const exitOf = nodes.map((n) => n.exit.map((a) => compileAction(machine, a)))
  // One candidate per transition definition, in xstate's order; a targeted one carries the source
  // state's exit actions before its own and the target's entry actions after (a root transition to
  // the active state included: xstate exits and re-enters it). A state's transition to itself stays
  // in it (no exit, no entry) unless it says reenter.
  const candidate = (t: (typeof nodes)[number]["transitions"] extends Map<string, infer L> ? L extends readonly (infer T)[] ? T : never : never, owner: number, state: number, what: string): Step => {
    const targets = t.target ?? []
    if (targets.length > 1) throw unsupported(machine, `has several targets on ${what}`)
    if (owner < 0 && t.reenter) throw unsupported(machine, `has a root transition on ${what} with reenter`)
    let to = targets.length === 0 ? -1 : indexOf(targets[0])
    if (to === owner && !t.reenter) to = -1
    const own = t.actions.map((a) => compileAction(machine, a))
    return {
      guard: t.guard === undefined ? null : compileGuard(machine, t.guard),
      to,
      runs: to < 0 ? own : [...(exitOf[state] as Run[]), ...own, ...(entryOf[to] as Run[])],
    }
  }
  const handlers = (source: (typeof nodes)[number] | typeof root, owner: number, state: number): [string, Step[]][] =>
    [...source.transitions].map(([type, list]) => {
      if (type.includes("*")) throw unsupported(machine, `has the wildcard event "${type}"`)
      return [type, list.map((t) => candidate(t, owner, state, `"${type}"`))]
    })
  // Per state: its own candidates, then the root's (xstate's bubbling: the root's handler runs when
  // the state has none for the event or none of its guards passes). A final state ends the actor.
  const tables = nodes.map((n, i) => {
    const table = new Map<string, Step[]>()
    if (final[i]) return table
    for (const [type, list] of handlers(root, -1, i)) table.set(type, list)
    for (const [type, list] of handlers(n, i, i)) table.set(type, [...list, ...(table.get(type) ?? [])])
    return table
  })
  // Eventless transitions, taken after every event (handled or not) and after the initial entry.
  const always = nodes.map((n, i) =>
    (n.always ?? []).map((t) => {
      const step = candidate(t, i, i, `\`always\` of "${n.key}"`)
      if (step.to < 0) throw unsupported(machine, `has an \`always\` transition of "${n.key}" without another target`)
      return step
    }),
  )
  const initialTarget = root.initial.target[0]
  if (root.initial.target.length !== 1 || initialTarget === undefined) throw unsupported(machine, "has no single initial state")
  const initial = indexOf(initialTarget)
  const contextConfig: unknown = machine.config.context
  const maxIterations = (machine.options as { maxIterations?: number } | undefined)?.maxIterations ?? Infinity

  const snapshotAt = (state: number, context: MachineContext): FlatSnapshot<MachineContext> =>
    ({ status: final[state] ? "done" : "active", value: names[state] as string, context, output: undefined, error: undefined }) as FlatSnapshot<MachineContext>
  const stateOf = new Map(names.map((n, i) => [n, i]))
  const pick = (list: readonly Step[], context: MachineContext, event: EventObject): Step | undefined => {
    for (const c of list) if (c.guard === null || c.guard(context, event)) return c
    return undefined
  }
  const run = (runs: readonly Run[], context: MachineContext, event: EventObject, scope: Scope): MachineContext => {
    let c = context
    for (const r of runs) c = r(c, event, scope)
    return c
  }
  // From (state, context) after a step: eventless transitions until none is enabled or a final state.
  const settle = (state: number, context: MachineContext, event: EventObject, scope: Scope, unchanged: FlatSnapshot<MachineContext> | null): FlatSnapshot<MachineContext> => {
    let s = state
    let c = context
    for (let n = 1; !final[s]; n++) {
      const step = pick(always[s] as Step[], c, event)
      if (step === undefined) break
      if (n > maxIterations) throw unsupported(machine, `took more than ${maxIterations} eventless transitions without reaching a stable state`)
      c = run(step.runs, c, event, scope)
      s = step.to
    }
    return unchanged !== null && s === state && c === context ? unchanged : snapshotAt(s, c)
  }

  const logic: FlatMachineLogic<MachineContext, EventObject, unknown> = {
    config: machine,
    getInitialSnapshot: (scope, input) => {
      const event = { type: "xstate.init", input }
      const context = (typeof contextConfig === "function"
        ? (contextConfig as (a: object) => MachineContext)({ input, self: scope.self, spawn: noSpawn })
        : (contextConfig ?? {})) as MachineContext
      const sc = scope as unknown as Scope
      return settle(initial, run(entryOf[initial] as Run[], context, event, sc), event, sc, null)
    },
    transition: (snapshot, event, scope) => {
      if (snapshot.status !== "active") return snapshot
      const state = stateOf.get(snapshot.value) as number
      const list = (tables[state] as Map<string, Step[]>).get(event.type)
      const step = list === undefined ? undefined : pick(list, snapshot.context, event)
      const sc = scope as unknown as Scope
      // unhandled: xstate keeps the snapshot (the same object) unless an eventless transition is enabled
      if (step === undefined) return settle(state, snapshot.context, event, sc, snapshot)
      return settle(step.to < 0 ? state : step.to, run(step.runs, snapshot.context, event, sc), event, sc, null)
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
