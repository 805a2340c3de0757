import { setup } from "xstate"

/** Events of a unique worker: commands in imperative, facts in past tense. */
export type UniqueWorkerEvent =
  | { readonly type: "worker.wake" }
  | { readonly type: "step.completed" }
  | { readonly type: "step.failed"; readonly reason: string }
  | { readonly type: "worker.stop" }

/**
 * A Unique-KV worker running continuous batching: between steps it admits queued requests
 * (`admit`), then runs a prefill step for newly admitted ones if any (`launchPrefill`), else a
 * decode iteration of everyone decoding (`launchDecode`), else idles until woken. A step's end
 * (`step.completed`, sent by the launched work) is accounted in bulk by `completeStep`.
 *
 * The batch itself (request sets, token counters, memory) lives with the mode's implementation of
 * these actions, not in the machine context: a transition stays O(1) however large the batch is,
 * which is what lets a run take hundreds of thousands of iterations.
 * @example
 * createActor(uniqueWorkerMachine.provide({ actions: { admit, launchPrefill, launchDecode, completeStep, failStep, stopWork }, guards: { hasPrefill, hasDecode } }), { clock })
 */
export const uniqueWorkerMachine = setup({
  types: { events: {} as UniqueWorkerEvent },
  actions: {
    admit: () => undefined,
    launchPrefill: () => undefined,
    launchDecode: () => undefined,
    completeStep: () => undefined,
    failStep: () => undefined,
    stopWork: () => undefined,
  },
  guards: {
    hasPrefill: () => false,
    hasDecode: () => false,
  },
}).createMachine({
  id: "uniqueWorker",
  initial: "idle",
  on: { "worker.stop": ".stopped" },
  states: {
    idle: { on: { "worker.wake": "deciding" } },
    deciding: {
      entry: "admit",
      always: [
        { guard: "hasPrefill", target: "prefilling" },
        { guard: "hasDecode", target: "decoding" },
        { target: "idle" },
      ],
    },
    prefilling: {
      entry: "launchPrefill",
      on: {
        "step.completed": { target: "deciding", actions: "completeStep" },
        "step.failed": { target: "deciding", actions: "failStep" },
      },
    },
    decoding: {
      entry: "launchDecode",
      on: {
        "step.completed": { target: "deciding", actions: "completeStep" },
        "step.failed": { target: "deciding", actions: "failStep" },
      },
    },
    stopped: { entry: "stopWork", type: "final" },
  },
})
