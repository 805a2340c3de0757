import { setup } from "xstate"

export type TraceSinkEvent = { readonly type: "sink.flush" } | { readonly type: "sink.close" }

/**
 * The TraceSink actor: subscribes to the graph's row streams (requests, kernel batches, tokens)
 * and writes them to the `TraceSink` port in order (`open`); `sink.flush` writes what is
 * buffered; `sink.close` flushes and unsubscribes. Rows never pass through xstate events: a run
 * writes hundreds of thousands of them.
 * @example createActor(traceSinkMachine.provide({ actions: { open, flush, close } })).start()
 */
export const traceSinkMachine = setup({
  types: { events: {} as TraceSinkEvent },
  actions: { open: () => undefined, flush: () => undefined, close: () => undefined },
}).createMachine({
  id: "traceSink",
  initial: "open",
  states: {
    open: { entry: "open", on: { "sink.flush": { actions: "flush" }, "sink.close": "closed" } },
    closed: { entry: "close", type: "final" },
  },
})
