import { spawnSync } from "node:child_process"

/** One node process timed from outside: wall around the spawn, CPU and peak RSS from /usr/bin/time. */
export interface TimedRun {
  readonly wallS: number
  /** User + system CPU of the process, every thread. */
  readonly cpuS: number
  readonly maxRssMiB: number
  readonly stdout: string
}

/**
 * Runs `node ...argv` under /usr/bin/time in `cwd`, as users run moska (start-up included), and
 * throws with its stderr tail if it fails. What the benchmark commands measure each sample with.
 * @example const t = timeNode(["dist/cli/main.js", "--help"], ROOT); t.wallS
 */
export const timeNode = (argv: readonly string[], cwd: string): TimedRun => {
  const t0 = performance.now()
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %U %S %M", process.execPath, ...argv], { encoding: "utf8", cwd, maxBuffer: 1 << 26 })
  const wallS = (performance.now() - t0) / 1000
  const time = /TIME ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr)
  if (r.status !== 0 || time === null) throw new Error(`node ${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  return { wallS, cpuS: Number(time[1]) + Number(time[2]), maxRssMiB: Number(time[3]) / 1024, stdout: r.stdout }
}
