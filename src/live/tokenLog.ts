import { writeFileSync } from "node:fs"

/**
 * The token ids a run generated, per request, written as one JSON object `{ "<requestId>": [ids…] }`
 * (`--tokens-out`): traces store when tokens came, not which, and comparing a disaggregated run's
 * output with a single-process one's needs the ids.
 * @example const log = new TokenLog(); executor = new WebGpuExecutor({ ..., onToken: log.add }); log.write("tokens.json")
 */
export class TokenLog {
  private readonly byRequest = new Map<number, number[]>()

  readonly add = (requestId: number, index: number, token: number): void => {
    let t = this.byRequest.get(requestId)
    if (t === undefined) this.byRequest.set(requestId, (t = []))
    t[index] = token
  }

  write(file: string): void {
    const out: Record<string, number[]> = {}
    for (const id of [...this.byRequest.keys()].sort((a, b) => a - b)) out[String(id)] = this.byRequest.get(id)!
    writeFileSync(file, `${JSON.stringify(out)}\n`)
  }
}
