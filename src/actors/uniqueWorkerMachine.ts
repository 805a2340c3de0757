import { setup } from "xstate"

/** Events of a unique worker: commands in imperative, facts in past tense. */
export type UniqueWorkerEvent =
  | { readonly type: "worker.wake" }
  | { readonly type: "phase.completed" }
  | { readonly type: "phase.failed"; readonly reason: string }
  | { readonly type: "worker.stop" }

/**
 * A Unique-KV worker running continuous batching, as a scheduler of phases. Between phases it
 * admits queued requests that fit (`admit`), then runs a prefill step for newly admitted ones
 * (`launchPrefill`) if any, else a decoding phase (`startDecoding`), else idles until woken.
 *
 * A decoding phase is a run of decode iterations of everyone decoding, with requests joining and
 * leaving between iterations; it ends (`phase.completed`) when a prefill is due (newly admitted
 * requests) or nobody is left decoding. Iterations inside a phase are the data plane: the mode's
 * implementation chains them on executor completions and accounts tokens in bulk, so a long run
 * costs one transition per phase, not one per iteration (hundreds of thousands of iterations).
 * The batch itself (request sets, token counters, memory) lives with that implementation, not in
 * the machine context.
 * @example
 * createActor(uniqueWorkerMachine.provide({ actions: { admit, launchPrefill, completePrefill, startDecoding, failPhase, stopWork }, guards: { hasPrefill, hasDecode } }), { clock })
 */
export const uniqueWorkerMachine = setup({
  types: { events: {} as UniqueWorkerEvent },
  actions: {
    admit: () => undefined,
    launchPrefill: () => undefined,
    completePrefill: () => undefined,
    startDecoding: () => undefined,
    failPhase: () => undefined,
    stopWork: () => undefined,
  },
  guards: {
    /** Admitted requests wait for their prefill. */
    hasPrefill: () => false,
    /** Requests are decoding. */
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
        "phase.completed": { target: "deciding", actions: "completePrefill" },
        "phase.failed": { target: "deciding", actions: "failPhase" },
      },
    },
    decoding: {
      entry: "startDecoding",
      on: {
        "phase.completed": "deciding",
        "phase.failed": { target: "deciding", actions: "failPhase" },
      },
    },
    stopped: { entry: "stopWork", type: "final" },
  },
})
