import { spawn, type ChildProcess } from "node:child_process"

/** A `moska serve` child process that has said it is ready. */
export interface SpawnedServer {
  /** `http://127.0.0.1:PORT`, from its "listening on" line. */
  readonly url: string
  readonly child: ChildProcess
  /** Its exit code, once it exits. */
  readonly exit: Promise<number | null>
  /** Everything it has written on stderr so far. */
  stderr(): string
}

/**
 * Starts `node CLI serve ...args` and resolves once its stderr says both "listening on URL" and
 * "moska: ready" (kernels compiled, memory filled); rejects with its stderr if it exits first. For
 * benchmarks and tests that need a real server on a real socket (pass `--port 0` for a free one).
 * @example const s = await spawnServer("dist/cli/main.js", ["scenarios/live/tiny.yaml", "--executor", "priced", "--port", "0"], ROOT)
 */
export const spawnServer = (cli: string, args: readonly string[], cwd: string): Promise<SpawnedServer> => {
  const child = spawn(process.execPath, [cli, "serve", ...args], { cwd })
  let err = ""
  child.stderr.on("data", (d: Buffer) => (err += d.toString()))
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return new Promise<SpawnedServer>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(err)
      if (m !== null && err.includes("moska: ready")) {
        clearInterval(timer)
        resolve({ url: m[1] as string, child, exit, stderr: () => err })
      }
    }, 20)
    void exit.then((code) => {
      clearInterval(timer)
      reject(new Error(`moska serve exited (${code}) before it was ready:\n${err}`))
    })
  })
}
