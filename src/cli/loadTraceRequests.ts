import { readFileSync } from "node:fs"
import { InputFileInvalid } from "../core/errors.js"
import { readErrorText } from "./readErrorText.js"
import type { Scenario } from "../core/scenario.js"
import type { RequestSpec } from "../core/workload.js"
import { workloadTimeIssue } from "../sim/workload/workloadTimeIssue.js"
import { parseTrace } from "../traces/parseTrace.js"

/**
 * The requests of a trace workload: reads `workload.path` (`-`: standard input) and imports it (format auto-detected
 * unless given). `limit` and `timeScale` are left to runSimulation, which applies them itself.
 * Undefined for synthetic workloads. Throws
 * InputFileInvalid naming the file and line of the first malformed row, when nothing is left, or
 * when `workload.timeScale` stretches the arrivals past what a run can simulate.
 * @example const traceRequests = loadTraceRequests(scenario) // 12,031 for the Mooncake sample
 */
export const loadTraceRequests = (scenario: Scenario): readonly RequestSpec[] | undefined => {
  const w = scenario.workload
  if (w.kind !== "trace") return undefined
  // `-` is standard input (`cat trace.jsonl | moska replay - --sim`); messages name it <stdin>
  const stdin = w.path === "-"
  const file = stdin ? "<stdin>" : w.path
  let text: string
  try {
    text = readFileSync(stdin ? 0 : w.path, "utf8")
  } catch (e) {
    throw new InputFileInvalid({ file, message: `cannot read the trace file (${readErrorText(e)})` })
  }
  const imported = parseTrace(text, { file, format: w.format })
  const requests = imported.requests
  if (requests.length === 0) {
    throw new InputFileInvalid({ file, message: `the trace has no request with at least one output token (${imported.skipped} skipped)` })
  }
  // derived arrival times (gaps × timeScale) must stay exact integer ns: refuse before anything runs
  const timeIssue = workloadTimeIssue(w, requests)
  if (timeIssue !== undefined) throw new InputFileInvalid({ file, message: `${timeIssue.path}: ${timeIssue.message}` })
  return requests
}
