import { assign, setup } from "xstate"

/** Events of a Shared-KV worker; `batch` and `done` are opaque to the machine. */
export type SharedWorkerEvent =
  | { readonly type: "batch.dispatched"; readonly batch: unknown }
  | { readonly type: "batch.completed"; readonly done: unknown }
  | { readonly type: "worker.stop" }

/**
 * A Shared-KV worker: stacked per-chunk attention batches arrive from the SharedBatcher
 * (`batch.dispatched` → `execute` submits them to the executor, which queues them FIFO on the
 * device) and finish as `batch.completed` (→ `complete` returns results to the requesting unique
 * workers). `inFlight` tells idle from busy, for utilization and for tests.
 * @example createActor(sharedWorkerMachine.provide({ actions: { execute, complete } }), { clock })
 */
export const sharedWorkerMachine = setup({
  types: { events: {} as SharedWorkerEvent, context: {} as { readonly inFlight: number } },
  actions: {
    execute: (_args, _params: { batch: unknown }) => undefined,
    complete: (_args, _params: { done: unknown }) => undefined,
  },
  guards: {
    lastInFlight: ({ context }) => context.inFlight <= 1,
  },
}).createMachine({
  id: "sharedWorker",
  initial: "idle",
  context: { inFlight: 0 },
  on: { "worker.stop": ".stopped" },
  states: {
    idle: {
      on: {
        "batch.dispatched": {
          target: "busy",
          actions: [assign({ inFlight: 1 }), { type: "execute", params: ({ event }) => ({ batch: event.batch }) }],
        },
      },
    },
    busy: {
      on: {
        "batch.dispatched": {
          actions: [assign({ inFlight: ({ context }) => context.inFlight + 1 }), { type: "execute", params: ({ event }) => ({ batch: event.batch }) }],
        },
        "batch.completed": [
          {
            guard: "lastInFlight",
            target: "idle",
            actions: [assign({ inFlight: 0 }), { type: "complete", params: ({ event }) => ({ done: event.done }) }],
          },
          {
            actions: [assign({ inFlight: ({ context }) => context.inFlight - 1 }), { type: "complete", params: ({ event }) => ({ done: event.done }) }],
          },
        ],
      },
    },
    stopped: { type: "final" },
  },
})
