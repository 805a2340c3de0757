import { Observable, type OperatorFunction } from "rxjs"
import { RoundGate } from "./roundGate.js"

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
 * contribution (or leave). On completion a non-empty open round is flushed. The rounds are `RoundGate`'s.
 * @example routed$.pipe(roundBarrier({ keyOf: (s) => s.replica, members: membership$ })) // members {0,1}: a0, b1 → [a0, b1]
 */
export const roundBarrier =
  <T, K>(opts: RoundBarrierOptions<T, K>): OperatorFunction<T, T[]> =>
  (source) =>
    new Observable<T[]>((subscriber) => {
      const gate = new RoundGate<T, K>(opts.keyOf, (round) => subscriber.next(round))
      const membership = opts.members.subscribe({
        next: (m) => (m.holds ? gate.join(m.key) : gate.leave(m.key)),
        error: (e) => subscriber.error(e),
      })
      const sub = source.subscribe({
        next: (item) => gate.push(item),
        error: (e) => subscriber.error(e),
        complete() {
          gate.flush()
          subscriber.complete()
        },
      })
      return () => {
        membership.unsubscribe()
        sub.unsubscribe()
      }
    })
