import { setup } from "xstate"

/** Control events of a Shared-KV worker. */
export type SharedWorkerEvent = { readonly type: "worker.drain" } | { readonly type: "worker.stop" }

/**
 * A Shared-KV worker: runs the stacked per-chunk attention batches the SharedBatcher emits, in
 * order, on its device (the executor queues them FIFO), and returns each batch's results to the
 * unique workers that contributed queries. Batches arrive on a stream (`open` subscribes the
 * worker to it; `close` unsubscribes): a batch is one per decode iteration, so it must not cost a
 * state-machine round trip. The machine carries the control plane: serving → draining (no new
 * batches accepted, in-flight ones finish) → stopped.
 * @example createActor(sharedWorkerMachine.provide({ actions: { open, close } }), { clock }).start()
 */
export const sharedWorkerMachine = setup({
  types: { events: {} as SharedWorkerEvent },
  actions: { open: () => undefined, close: () => undefined },
}).createMachine({
  id: "sharedWorker",
  initial: "serving",
  states: {
    serving: { entry: "open", on: { "worker.drain": "draining", "worker.stop": "stopped" } },
    draining: { on: { "worker.stop": "stopped" } },
    stopped: { entry: "close", type: "final" },
  },
})
