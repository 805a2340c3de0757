import { setup } from "xstate"

/** Membership events: which requests decode on which unique worker (trace routing follows them). */
export type RouterEvent =
  | { readonly type: "router.requestJoined"; readonly worker: number; readonly requestId: number; readonly blocks: readonly number[] | undefined }
  | { readonly type: "router.requestLeft"; readonly worker: number; readonly requestId: number }
  | { readonly type: "router.stop" }

/**
 * The Router: owns each unique worker's route tracker. Membership changes arrive as events (one
 * per request joining or leaving a decode set); the per-iteration question "where do this batch's
 * queries go?" is answered synchronously through the tracker port by the worker launching the
 * iteration (sim: drawn from the routing law; live: scored on the GPU), so a decode step does not
 * pay an actor round trip per chunk or per request.
 * @example createActor(routerMachine.provide({ actions: { join, leave } }), { clock })
 */
export const routerMachine = setup({
  types: { events: {} as RouterEvent },
  actions: {
    join: (_args, _params: { worker: number; requestId: number; blocks: readonly number[] | undefined }) => undefined,
    leave: (_args, _params: { worker: number; requestId: number }) => undefined,
  },
}).createMachine({
  id: "router",
  initial: "active",
  states: {
    active: {
      on: {
        "router.requestJoined": {
          actions: { type: "join", params: ({ event }) => ({ worker: event.worker, requestId: event.requestId, blocks: event.blocks }) },
        },
        "router.requestLeft": { actions: { type: "leave", params: ({ event }) => ({ worker: event.worker, requestId: event.requestId }) } },
        "router.stop": "stopped",
      },
    },
    stopped: { type: "final" },
  },
})
