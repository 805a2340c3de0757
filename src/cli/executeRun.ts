import { prepareHardware } from "./prepareHardware.js"
import { recordRun } from "./recordRun.js"

export { RunInterrupted, type RunProgress, type RunReport } from "./recordRun.js"

/**
 * Runs one validated scenario in sim mode and records it (recordRun), loading its device files
 * into this thread's GPU registry first.
 * @example const report = executeRun({ scenario, dbFile: "moska.db", codeVersion: "dev", clock: Date.now })
 */
export const executeRun = (input: Parameters<typeof recordRun>[0]): ReturnType<typeof recordRun> => {
  prepareHardware(input.scenario, input.scenario.name) // device files into this thread's GPU registry
  return recordRun(input)
}
