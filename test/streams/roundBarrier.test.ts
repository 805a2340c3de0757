import { TestScheduler } from "rxjs/testing"
import { describe, expect, it } from "vitest"
import { roundBarrier } from "../../src/streams/roundBarrier.js"

// Items are member keys (a replica's step); membership events: j/k join 0/1, l/m leave 0/1.
const M = {
  j: { key: 0, holds: true },
  k: { key: 1, holds: true },
  l: { key: 0, holds: false },
  m: { key: 1, holds: false },
  n: { key: 2, holds: true },
}
const byKey = { keyOf: (x: number) => x }
const testScheduler = () => new TestScheduler((a, e) => expect(a).toEqual(e))

describe("roundBarrier", () => {
  it("emits a round only once every member has contributed, in arrival order", () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("(jk)-------", M)
      const items = cold("-a--b--(ab)-", { a: 0, b: 1 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("----x--y----", { x: [0, 1], y: [0, 1] })
    })
  })

  it("a member that leaves releases the open round at that instant; a sole member flushes each item", () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("(jk)--m-----", M)
      const items = cold("-a--------a-", { a: 0 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("------x---y-", { x: [0], y: [0] })
    })
  })

  it("a member joining while a round is open holds it until it contributes", () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("j-n------", M)
      const items = cold("---a--c--", { a: 0, c: 2 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("------x--", { x: [0, 2] })
    })
  })

  it("a key that contributed before joining does not hold the open round, and a repeated join counts once", () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("(jk)-n-----", M)
      const items = cold("---c--a--b-", { a: 0, b: 1, c: 2 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("---------x-", { x: [2, 0, 1] })
    })
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("j-j-l-j---", M)
      const items = cold("-a-----a--", { a: 0 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("-x-----y--", { x: [0], y: [0] })
    })
  })

  it("items from non-members do not hold the round, and completion flushes what is open", () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const members = hot("(jk)------", M)
      const items = cold("-c--a--|", { a: 0, c: 2 })
      expectObservable(items.pipe(roundBarrier({ ...byKey, members }))).toBe("-------(x|)", { x: [2, 0] })
    })
  })
})
