// How many events each kind of actor processes in one simulation (issue 12: which xstate actors a
// run's time goes to): runs SCENARIO in this thread (executeRun, as bench/sim-alloc-profile.mjs
// does) with xstate's Actor#_process wrapped to count events by machine id and event type (every
// request's done event to the request group counted as one kind). Needs dist/ (npm run build).
//   node bench/actor-events.mjs SCENARIO [KEY=VALUE ...]   (--set overrides, e.g. workload.requests=20000)
import { createActor, fromTransition } from "xstate"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = new URL("../", import.meta.url).pathname
const file = resolve(process.argv[2] ?? join(root, "scenarios/default.yaml"))
const Actor = createActor(fromTransition((s) => s, 0)).constructor
const counts = new Map()
const process0 = Actor.prototype._process
Actor.prototype._process = function (event) {
  const type = event.type.startsWith("xstate.done.actor.") ? "xstate.done.actor.*" : event.type
  const k = `${this.logic.id ?? "(not a machine)"} ${type}`
  counts.set(k, (counts.get(k) ?? 0) + 1)
  return process0.call(this, event)
}
const { executeRun } = await import(join(root, "dist/cli/executeRun.js"))
const { loadScenarioFile } = await import(join(root, "dist/cli/loadScenarioFile.js"))
const { loadTraceRequests } = await import(join(root, "dist/cli/loadTraceRequests.js"))
const scenario = loadScenarioFile(file, process.argv.slice(3))
const traceRequests = scenario.workload.kind === "trace" ? loadTraceRequests(scenario) : undefined
const tmp = mkdtempSync(join(tmpdir(), "moska-actor-events-"))
await executeRun({ scenario, ...(traceRequests !== undefined ? { traceRequests } : {}), dbFile: join(tmp, "t.db"), codeVersion: "actor-events", clock: () => 0 })
rmSync(tmp, { recursive: true, force: true })
for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(10)}  ${k}`)
