// Where a simulation allocates (issue 12: GC share of the Mooncake replay): runs one scenario in this
// thread (executeRun, as test/db/sqlite340 does) under V8's sampling heap profiler, counting objects
// that were collected too, and prints the functions that allocated the most bytes (inlined callees
// count in their caller). Needs dist/ (npm run build).
//   node bench/sim-alloc-profile.mjs scenarios/mooncake-replay.yaml [TOP]
import { Session } from "node:inspector"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = new URL("../", import.meta.url).pathname
const file = resolve(process.argv[2] ?? join(root, "scenarios/mooncake-replay.yaml"))
const top = Number(process.argv[3] ?? 25)
const { executeRun } = await import(join(root, "dist/cli/executeRun.js"))
const { loadScenarioFile } = await import(join(root, "dist/cli/loadScenarioFile.js"))
const { loadTraceRequests } = await import(join(root, "dist/cli/loadTraceRequests.js"))
const scenario = loadScenarioFile(file, [])
const traceRequests = scenario.workload.kind === "trace" ? loadTraceRequests(scenario) : undefined
const tmp = mkdtempSync(join(tmpdir(), "moska-alloc-"))
const s = new Session()
s.connect()
const post = (m, p) => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))))
await post("HeapProfiler.enable")
await post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
await executeRun({ scenario, ...(traceRequests !== undefined ? { traceRequests } : {}), dbFile: join(tmp, "t.db"), codeVersion: "alloc-profile", clock: () => 0 })
const { profile } = await post("HeapProfiler.stopSampling")
rmSync(tmp, { recursive: true, force: true })
const self = new Map()
let total = 0
const walk = (n) => {
  const cf = n.callFrame
  const k = `${cf.functionName || "(anonymous)"} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}`
  self.set(k, (self.get(k) ?? 0) + n.selfSize)
  total += n.selfSize
  n.children.forEach(walk)
}
walk(profile.head)
console.log(`${(total / 2 ** 20).toFixed(0)} MiB allocated (sampled every 4 KiB)`)
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / 2 ** 20).toFixed(0).padStart(6)} MiB ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
