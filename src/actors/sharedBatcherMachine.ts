import { setup } from "xstate"

export type SharedBatcherEvent = { readonly type: "batcher.flush" } | { readonly type: "batcher.close" }

/**
 * The SharedBatcher: groups routed queries by chunk across requests and workers under a policy
 * (lockstep barrier across the replicas — or per replica —, or time window with max rows). Routed queries flow through an RxJS
 * pipeline built from the batching operators in `src/streams` (`open` subscribes it, `close`
 * completes it, flushing what is pending); the machine carries the control plane: open → closed,
 * and `batcher.flush` as a command (end of run).
 * @example createActor(sharedBatcherMachine.provide({ actions: { open, flush, close } }), { clock }).start()
 */
export const sharedBatcherMachine = setup({
  types: { events: {} as SharedBatcherEvent },
  actions: { open: () => undefined, flush: () => undefined, close: () => undefined },
}).createMachine({
  id: "sharedBatcher",
  initial: "open",
  states: {
    open: {
      entry: "open",
      on: { "batcher.flush": { actions: "flush" }, "batcher.close": "closed" },
    },
    closed: { entry: "close", type: "final" },
  },
})
