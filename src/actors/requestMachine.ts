import { assign, setup } from "xstate"
import type { RequestRow, RequestStatus } from "../core/trace.js"
import type { Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"

/** Facts a request owns: its timestamps and token counts. */
export interface RequestContext {
  readonly spec: RequestSpec
  readonly admittedNs: Ns | null
  readonly firstTokenNs: Ns | null
  readonly finishedNs: Ns | null
  readonly outputTokens: number
  readonly reason: string | null
}

/** Lifecycle events, namespaced facts in past tense. */
export type RequestEvent =
  | { readonly type: "request.admitted"; readonly atNs: Ns }
  | { readonly type: "request.prefillStarted"; readonly atNs: Ns }
  | { readonly type: "request.decodeStarted"; readonly atNs: Ns }
  | { readonly type: "request.firstToken"; readonly atNs: Ns }
  | { readonly type: "request.completed"; readonly atNs: Ns; readonly outputTokens: number }
  | { readonly type: "request.rejected"; readonly atNs: Ns; readonly reason: string }
  | { readonly type: "request.cancelled"; readonly atNs: Ns; readonly outputTokens: number }
  | { readonly type: "request.failed"; readonly atNs: Ns; readonly outputTokens: number; readonly reason: string }

const STATUS_OF: Record<string, RequestStatus> = { done: "completed", rejected: "rejected", cancelled: "cancelled", failed: "failed" }

/** The trace row of a request that has ended (any final state). */
export const requestRowOf = (ctx: RequestContext, status: RequestStatus): RequestRow => ({
  requestId: ctx.spec.id,
  arrivalNs: ctx.spec.arrivalNs,
  admittedNs: ctx.admittedNs,
  firstTokenNs: ctx.firstTokenNs,
  finishedNs: ctx.finishedNs,
  uniqueTokens: ctx.spec.uniqueTokens,
  requestedTokens: ctx.spec.outputTokens,
  outputTokens: ctx.outputTokens,
  status,
  reason: ctx.reason,
})

const end = (status: keyof typeof STATUS_OF) => ({ entry: { type: "recordEnd" as const, params: { status: STATUS_OF[status] as RequestStatus } }, type: "final" as const })

/**
 * One request: queued → admitted → prefill → decoding → done, or rejected / failed / cancelled.
 * A request admitted in the instant its prefill (or, without prefill, its decoding) starts skips
 * `admitted`: `request.prefillStarted` / `request.decodeStarted` while queued also record `admittedNs`.
 * Workers account tokens in bulk and send only lifecycle facts (admission, first token, end), so
 * a request costs a handful of transitions however many tokens it generates. On reaching any
 * final state the `recordEnd` action (provided per mode) gets the status; `requestRowOf` turns the
 * context into its trace row.
 * @example
 * const m = requestMachine.provide({ actions: { recordEnd: ({ context }, p) => sink.request(requestRowOf(context, p.status)) } })
 * createActor(m, { input: spec, clock }).start()
 */
export const requestMachine = setup({
  types: {
    context: {} as RequestContext,
    events: {} as RequestEvent,
    input: {} as RequestSpec,
  },
  actions: {
    recordEnd: (_args, _params: { status: RequestStatus }) => undefined,
  },
}).createMachine({
  id: "request",
  initial: "queued",
  context: ({ input }) => ({ spec: input, admittedNs: null, firstTokenNs: null, finishedNs: null, outputTokens: 0, reason: null }),
  on: {
    "request.cancelled": {
      target: ".cancelled",
      actions: assign({ finishedNs: ({ event }) => event.atNs, outputTokens: ({ event }) => event.outputTokens }),
    },
    "request.failed": {
      target: ".failed",
      actions: assign({ finishedNs: ({ event }) => event.atNs, outputTokens: ({ event }) => event.outputTokens, reason: ({ event }) => event.reason }),
    },
  },
  states: {
    queued: {
      on: {
        "request.admitted": { target: "admitted", actions: assign({ admittedNs: ({ event }) => event.atNs }) },
        // Admitted and started in the same instant (the common case): one event, not two, since
        // each costs a full xstate transition and a request makes only a handful of them.
        "request.prefillStarted": { target: "prefill", actions: assign({ admittedNs: ({ event }) => event.atNs }) },
        "request.decodeStarted": { target: "decoding", actions: assign({ admittedNs: ({ event }) => event.atNs }) },
        "request.rejected": { target: "rejected", actions: assign({ finishedNs: ({ event }) => event.atNs, reason: ({ event }) => event.reason }) },
      },
    },
    admitted: {
      on: {
        "request.prefillStarted": "prefill",
        "request.decodeStarted": "decoding",
      },
    },
    prefill: {
      on: {
        "request.firstToken": { target: "decoding", actions: assign({ firstTokenNs: ({ event }) => event.atNs, outputTokens: 1 }) },
      },
    },
    decoding: {
      on: {
        "request.firstToken": { actions: assign({ firstTokenNs: ({ context, event }) => context.firstTokenNs ?? event.atNs }) },
        "request.completed": {
          target: "done",
          actions: assign({
            firstTokenNs: ({ context, event }) => context.firstTokenNs ?? event.atNs,
            finishedNs: ({ event }) => event.atNs,
            outputTokens: ({ event }) => event.outputTokens,
          }),
        },
      },
    },
    done: end("done"),
    rejected: end("rejected"),
    cancelled: end("cancelled"),
    failed: end("failed"),
  },
})
