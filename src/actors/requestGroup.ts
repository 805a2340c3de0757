import { fromTransition, type AnyEventObject } from "xstate"

/**
 * The parent of a run's request actors: `createActor(requestMachine, { parent: group })` puts every
 * request in this actor's system instead of a system of its own. A root actor builds a system per
 * actor (a scheduler, maps and about twenty closures, ~4 KB while the request waits or decodes);
 * a request spends most of its life queued, so an overloaded run holds thousands of them. The group
 * counts requests that reached a final state (each relays `xstate.done.actor.*` to its parent) and
 * ignores everything else; a request's error still reaches the observers of that request.
 * @example
 * const group = createActor(requestGroup, { clock }).start()
 * createActor(requestMachine, { input: spec, clock, parent: group }).start()
 */
export const requestGroup = fromTransition(
  (ended: number, event: AnyEventObject) => (event.type.startsWith("xstate.done.actor.") ? ended + 1 : ended),
  0,
)
