/**
 * Samples every case on every build, `repeat` rounds, interleaved (case by case, one run of each
 * build in turn) so that a shared machine's load falls on old and new alike; logs each run on
 * stderr and returns the samples by case name and build label.
 * @example const s = sampleBuilds(CASES, builds, 3, runOnce, (x) => `${x.wallS} s`); s.get(key(c.name, "this"))
 */
export const sampleBuilds = <C extends { readonly name: string }, S>(
  cases: readonly C[],
  builds: ReadonlyArray<{ readonly label: string; readonly cli: string }>,
  repeat: number,
  run: (cli: string, c: C) => S,
  describe: (s: S) => string,
): Map<string, S[]> => {
  const samples = new Map<string, S[]>()
  for (const c of cases) {
    for (let i = 0; i < repeat; i++) {
      for (const b of builds) {
        const s = run(b.cli, c)
        const key = sampleKey(c.name, b.label)
        samples.set(key, [...(samples.get(key) ?? []), s])
        process.stderr.write(`${c.name} · ${b.label} · run ${i + 1}/${repeat}: ${describe(s)}\n`)
      }
    }
  }
  return samples
}

/** The key of a case's samples on one build in `sampleBuilds`' map. */
export const sampleKey = (caseName: string, build: string): string => `${caseName}\u0000${build}`

/** The median of a non-empty list (the mean of the middle two for an even count). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
