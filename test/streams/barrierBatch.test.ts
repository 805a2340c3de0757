import { TestScheduler } from "rxjs/testing"
import { describe, expect, it } from "vitest"
import { barrierBatch } from "../../src/streams/barrierBatch.js"

describe("barrierBatch", () => {
  it("flushes every submission as its own batch at the same instant", () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      expectObservable(cold("-a--(bc)-|").pipe(barrierBatch())).toBe("-x--(yz)-|", { x: ["a"], y: ["b"], z: ["c"] })
    })
  })
})
