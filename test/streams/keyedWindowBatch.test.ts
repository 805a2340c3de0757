import { mergeMap, of } from "rxjs"
import { TestScheduler } from "rxjs/testing"
import { describe, expect, it } from "vitest"
import { keyedWindowBatch } from "../../src/streams/keyedWindowBatch.js"

interface Q {
  readonly chunk: number
  readonly rows: number
  readonly tag: string
}
const q = (chunk: number, rows: number, tag: string): Q => ({ chunk, rows, tag })

describe("keyedWindowBatch", () => {
  it("keeps one window per key and emits keys expiring together as one array", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e))
    ts.run(({ cold, expectObservable }) => {
      const src = cold("-a-c---|", { a: q(1, 1, "a"), b: q(2, 1, "b"), c: q(1, 1, "c") }).pipe(
        mergeMap((x) => (x.tag === "a" ? of(x, q(2, 1, "b")) : of(x))),
      )
      const out = src.pipe(keyedWindowBatch({ keyOf: (x: Q) => x.chunk, rowsOf: (x: Q) => x.rows, windowNs: 4, maxRows: 8, scheduler: ts }))
      expectObservable(out).toBe("-----x-|", {
        x: [
          { key: 1, items: [q(1, 1, "a"), q(1, 1, "c")], rows: 2 },
          { key: 2, items: [q(2, 1, "b")], rows: 1 },
        ],
      })
    })
  })

  it("flushes a key alone and at once when it reaches maxRows; the others keep waiting", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e))
    ts.run(({ cold, expectObservable }) => {
      const src = cold("-a-b-c------|", { a: q(1, 2, "a"), b: q(2, 1, "b"), c: q(1, 2, "c") })
      const out = src.pipe(keyedWindowBatch({ keyOf: (x: Q) => x.chunk, rowsOf: (x: Q) => x.rows, windowNs: 6, maxRows: 4, scheduler: ts }))
      expectObservable(out).toBe("-----x---y--|", {
        x: [{ key: 1, items: [q(1, 2, "a"), q(1, 2, "c")], rows: 4 }],
        y: [{ key: 2, items: [q(2, 1, "b")], rows: 1 }],
      })
    })
  })

  it("never lets a key's batch exceed maxRows and flushes everything pending on completion", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e))
    ts.run(({ cold, expectObservable }) => {
      const src = cold("-a-b-|", { a: q(5, 3, "a"), b: q(5, 2, "b") })
      const out = src.pipe(keyedWindowBatch({ keyOf: (x: Q) => x.chunk, rowsOf: (x: Q) => x.rows, windowNs: 50, maxRows: 4, scheduler: ts }))
      expectObservable(out).toBe("---x-(y|)", {
        x: [{ key: 5, items: [q(5, 3, "a")], rows: 3 }],
        y: [{ key: 5, items: [q(5, 2, "b")], rows: 2 }],
      })
    })
  })
})
