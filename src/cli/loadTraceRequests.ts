import { InputFileInvalid } from "../core/errors.js"
import { readErrorText } from "./readErrorText.js"
import type { Scenario } from "../core/scenario.js"
import type { RequestSpec } from "../core/workload.js"
import { workloadTimeIssue } from "../sim/workload/workloadTimeIssue.js"
import { fileLines } from "../traces/fileLines.js"
import { parseTrace } from "../traces/parseTrace.js"
import type { TraceImport } from "../traces/TraceImport.js"

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
  // streamed line by line: a trace is never one string (V8 caps strings near 512 MiB)
  let imported: TraceImport
  try {
    imported = parseTrace(fileLines(stdin ? 0 : w.path), { file, format: w.format })
  } catch (e) {
    // only a failed read (ENOENT, EISDIR, EACCES...) is "cannot read"; anything else is what it is
    if (e instanceof InputFileInvalid || (e as NodeJS.ErrnoException).code === undefined) throw e
    throw new InputFileInvalid({ file, message: `cannot read the trace file (${readErrorText(e)})` })
  }
  const requests = imported.requests
  if (requests.length === 0) {
    throw new InputFileInvalid({ file, message: `the trace has no request with at least one output token (${imported.skipped} skipped)` })
  }
  // derived arrival times (gaps × timeScale) must stay exact integer ns: refuse before anything runs
  const timeIssue = workloadTimeIssue(w, requests)
  if (timeIssue !== undefined) throw new InputFileInvalid({ file, message: `${timeIssue.path}: ${timeIssue.message}` })
  return requests
}
