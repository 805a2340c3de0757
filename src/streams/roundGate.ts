/**
 * The state machine of `roundBarrier` without RxJS: items gather into one round until every current
 * holder has contributed at least one, then `emit` gets the round (in arrival order). `leave` can
 * complete the open round; `join` while a round is open holds it until the joiner contributes; items
 * of non-holders join without holding. The operator wraps it, and the shared pool's global barrier
 * drives it directly (a round per decode step of the lockstep replicas, 1.6M in the Mooncake replay:
 * the Subject and operator subscribers per submission were most of its cost).
 * @example const g = new RoundGate<number, number>((x) => x % 2, (r) => log(r)); g.join(0); g.join(1); g.push(0); g.push(1) // logs [0, 1]
 */
export class RoundGate<T, K> {
  private readonly holders = new Set<K>()
  private round: T[] = []
  // Keys that have contributed to the open round, and how many holders have not (kept as a
  // count, |holders \ contributed|, so a contribution costs O(1) rather than a walk of the holders).
  private readonly contributed = new Set<K>()
  private missing = 0

  constructor(
    private readonly keyOf: (item: T) => K,
    private readonly emit: (round: T[]) => void,
  ) {}

  /** `key` holds the rounds from now on (the open one too, unless it has contributed to it). */
  join(key: K): void {
    if (this.holders.has(key)) return
    this.holders.add(key)
    if (!this.contributed.has(key)) this.missing++
  }

  /** `key` stops holding rounds; the open round is emitted if it waited only for `key`. */
  leave(key: K): void {
    if (!this.holders.delete(key)) return
    if (!this.contributed.has(key)) this.missing--
    this.tryFlush()
  }

  push(item: T): void {
    this.round.push(item)
    const k = this.keyOf(item)
    if (!this.contributed.has(k)) {
      this.contributed.add(k)
      if (this.holders.has(k)) this.missing--
    }
    this.tryFlush()
  }

  /** Emits the open round if it holds anything, whoever it waits for (the end of the input). */
  flush(): void {
    if (this.round.length === 0) return
    const out = this.round
    this.round = []
    this.emit(out)
  }

  private tryFlush(): void {
    if (this.round.length === 0 || this.missing > 0) return
    const out = this.round
    this.round = []
    this.contributed.clear()
    this.missing = this.holders.size
    this.emit(out)
  }
}
