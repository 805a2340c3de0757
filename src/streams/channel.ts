import { Subject, type Observable } from "rxjs"

/**
 * A named, typed stream between actors: producers `emit`, consumers subscribe to `stream`.
 * Synchronous (a plain Subject), so in sim mode everything an emission causes happens within
 * the same clock event; time only passes through the clock.
 * @example const rows = channel<KernelRow>("kernel.rows"); rows.stream.subscribe(sink.kernel); rows.emit(row)
 */
export interface Channel<T> {
  readonly name: string
  emit(value: T): void
  complete(): void
  readonly stream: Observable<T>
  /** Whether anyone listens (producers may skip building values nobody reads). */
  readonly observed: boolean
}

export const channel = <T>(name: string): Channel<T> => {
  const subject = new Subject<T>()
  return {
    name,
    emit: (v) => subject.next(v),
    complete: () => subject.complete(),
    stream: subject.asObservable(),
    get observed() {
      return subject.observed
    },
  }
}
