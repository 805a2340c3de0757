import { TestScheduler } from "rxjs/testing"
import { describe, expect, it } from "vitest"
import { windowBatch } from "../../src/streams/windowBatch.js"

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe("windowBatch", () => {

  it("flushes by time, by maxRows at once, and what is open on completion", () => {
    const ts = scheduler()
    ts.run(({ cold, expectObservable }) => {
      // rows: a=1 b=1 (window of 5 from frame 1 → emits at 6); c=2 d=2 reach maxRows 4 → emits at once at 12; e open at end
      const src = cold("-a-b------c-d--e-|", { a: 1, b: 1, c: 2, d: 2, e: 1 })
      const out = src.pipe(windowBatch({ windowNs: 5, maxRows: 4, rowsOf: (x: number) => x, scheduler: ts }))
      expectObservable(out).toBe("------x-----y----(z|)", { x: [1, 1], y: [2, 2], z: [1] })
    })
  })

  it("flushes the open batch before an item that would overflow maxRows", () => {
    const ts = scheduler()
    ts.run(({ cold, expectObservable }) => {
      const src = cold("-a-b----|", { a: 3, b: 2 })
      const out = src.pipe(windowBatch({ windowNs: 10, maxRows: 4, rowsOf: (x: number) => x, scheduler: ts }))
      expectObservable(out).toBe("---x----(y|)", { x: [3], y: [2] })
    })
  })

  it("with a zero window gathers everything of one instant", () => {
    const ts = scheduler()
    ts.run(({ cold, expectObservable }) => {
      const src = cold("-(ab)--c|", { a: 1, b: 1, c: 1 })
      const out = src.pipe(windowBatch({ windowNs: 0, maxRows: 10, rowsOf: (x: number) => x, scheduler: ts }))
      expectObservable(out).toBe("-x-----y|", { x: [1, 1], y: [1] })
    })
  })
})
