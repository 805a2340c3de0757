import { Observable, type OperatorFunction } from "rxjs"

/** A change of who holds the barrier: `holds: true` joins, `holds: false` leaves. */
export interface BarrierMembership<K> {
  readonly key: K
  readonly holds: boolean
}

export interface RoundBarrierOptions<T, K> {
  /** Which member an item comes from (a unique replica's index). */
  readonly keyOf: (item: T) => K
  /** Membership changes; a member that has not submitted to the open round holds it back. */
  readonly members: Observable<BarrierMembership<K>>
}

/**
 * Global barrier (lockstep rounds): items are gathered into one round until every current member
 * has contributed at least one, then the round is emitted as one batch, in arrival order. A member
 * leaving can complete the open round (it is emitted at that instant); a member joining while a
 * round is open holds it until it contributes too. Items from non-members join the round without
 * holding it. Purely event-driven, no scheduler: a round closes in the instant of its last
 * contribution (or leave). On completion a non-empty open round is flushed.
 * @example routed$.pipe(roundBarrier({ keyOf: (s) => s.replica, members: membership$ })) // members {0,1}: a0, b1 → [a0, b1]
 */
export const roundBarrier =
  <T, K>(opts: RoundBarrierOptions<T, K>): OperatorFunction<T, T[]> =>
  (source) =>
    new Observable<T[]>((subscriber) => {
      const holders = new Set<K>()
      let round: T[] = []
      // Keys that have contributed to the open round, and how many holders have not (kept as a
      // count, |holders \ contributed|, so a contribution costs O(1) rather than a walk of the holders).
      const contributed = new Set<K>()
      let missing = 0
      const tryFlush = (): void => {
        if (round.length === 0 || missing > 0) return
        const out = round
        round = []
        contributed.clear()
        missing = holders.size
        subscriber.next(out)
      }
      const membership = opts.members.subscribe({
        next(m) {
          if (m.holds) {
            if (!holders.has(m.key)) {
              holders.add(m.key)
              if (!contributed.has(m.key)) missing++
            }
          } else if (holders.delete(m.key)) {
            if (!contributed.has(m.key)) missing--
            tryFlush()
          }
        },
        error: (e) => subscriber.error(e),
      })
      const sub = source.subscribe({
        next(item) {
          round.push(item)
          const k = opts.keyOf(item)
          if (!contributed.has(k)) {
            contributed.add(k)
            if (holders.has(k)) missing--
          }
          tryFlush()
        },
        error: (e) => subscriber.error(e),
        complete() {
          if (round.length > 0) {
            const out = round
            round = []
            subscriber.next(out)
          }
          subscriber.complete()
        },
      })
      return () => {
        membership.unsubscribe()
        sub.unsubscribe()
      }
    })
