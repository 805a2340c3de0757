import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RoundGate } from "../../src/streams/roundGate.js"

type Op = { readonly kind: "push"; readonly key: number; readonly n: number } | { readonly kind: "join" | "leave"; readonly key: number }

describe("RoundGate", () => {
  it("emits the rounds of the barrier rule (every holder contributed) for any sequence of contributions, joins and leaves, and flushes the open round", () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("push" as const), key: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 0, max: 999 }) }),
      fc.record({ kind: fc.constantFrom("join" as const, "leave" as const), key: fc.integer({ min: 0, max: 3 }) }),
    )
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const viaGate: number[][] = []
      const gate = new RoundGate<{ key: number; n: number }, number>((x) => x.key, (r) => viaGate.push(r.map((x) => x.n)))
      // the rule stated plainly, walking the holders after every step
      const naive: number[][] = []
      const holders = new Set<number>()
      let round: Array<{ key: number; n: number }> = []
      const due = (): void => {
        if (round.length === 0) return
        for (const h of holders) if (!round.some((x) => x.key === h)) return
        naive.push(round.map((x) => x.n))
        round = []
      }
      for (const op of ops) {
        if (op.kind === "push") {
          gate.push({ key: op.key, n: op.n })
          round.push({ key: op.key, n: op.n })
        } else if (op.kind === "join") {
          gate.join(op.key)
          holders.add(op.key)
        } else {
          gate.leave(op.key)
          holders.delete(op.key)
        }
        due()
      }
      gate.flush()
      if (round.length > 0) naive.push(round.map((x) => x.n))
      expect(viaGate).toEqual(naive)
    }), { numRuns: 300 })
  })

  it("holds a round for every holder and lets a leave complete it", () => {
    const rounds: number[][] = []
    const gate = new RoundGate<number, number>((x) => x % 10, (r) => rounds.push(r))
    gate.join(0)
    gate.join(1)
    gate.push(10)
    gate.push(20)
    expect(rounds).toEqual([])
    gate.push(1)
    expect(rounds).toEqual([[10, 20, 1]])
    gate.push(30)
    gate.leave(1)
    expect(rounds).toEqual([[10, 20, 1], [30]])
  })
})
