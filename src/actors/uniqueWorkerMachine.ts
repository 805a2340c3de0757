import { setup } from "xstate"

/** Events of a unique worker: commands in imperative, facts in past tense. */
export type UniqueWorkerEvent =
  | { readonly type: "worker.wake" }
  | { readonly type: "step.completed" }
  | { readonly type: "step.failed"; readonly reason: string }
  | { readonly type: "worker.stop" }

/**
 * A Unique-KV worker running continuous batching. Woken while idle, it starts a step
 * (`launchStep`: admit queued requests that fit, then a prefill step for newly admitted ones if
 * any, else one decode iteration of everyone decoding). When a step ends (`step.completed`, sent
 * by the launched work) `completeStep` accounts it in bulk, and the worker either launches the next
 * step at once or, when `willIdle` says nothing would be left to run, goes idle.
 *
 * `willIdle` is a pure predicate over the worker's state before the step is accounted (nothing
 * decoding after this step's finishers leave, nothing admitted waiting for prefill, nobody queued).
 * The batch itself (request sets, token counters, memory) lives with the mode's implementation,
 * not in the machine context: a step is one self-transition, O(1) however large the batch is,
 * which is what lets a run take hundreds of thousands of iterations.
 * @example
 * createActor(uniqueWorkerMachine.provide({ actions: { launchStep, completeStep, failStep, stopWork }, guards: { hasWork, willIdle } }), { clock })
 */
export const uniqueWorkerMachine = setup({
  types: { events: {} as UniqueWorkerEvent },
  actions: {
    launchStep: () => undefined,
    completeStep: () => undefined,
    failStep: () => undefined,
    stopWork: () => undefined,
  },
  guards: {
    /** Something is queued or admitted (checked when woken). */
    hasWork: () => false,
    /** After the running step is accounted, nothing is left to run. */
    willIdle: () => true,
  },
}).createMachine({
  id: "uniqueWorker",
  initial: "idle",
  on: { "worker.stop": ".stopped" },
  states: {
    idle: {
      on: { "worker.wake": { guard: "hasWork", target: "running", actions: "launchStep" } },
    },
    running: {
      on: {
        "step.completed": [
          { guard: "willIdle", target: "idle", actions: "completeStep" },
          { actions: ["completeStep", "launchStep"] },
        ],
        "step.failed": { target: "idle", actions: "failStep" },
      },
    },
    stopped: { entry: "stopWork", type: "final" },
  },
})
