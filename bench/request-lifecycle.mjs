// A request actor's xstate lifecycle as the engine drives it (issue 12), µs of CPU per request by
// phase, for one or more builds, each in its own process, builds interleaved run by run (the host
// is noisy): createActor(..., { parent: requestGroup }) + subscribe + start, then
// request.prefillStarted, request.firstToken and request.completed (into the final state, whose
// recordEnd builds the row). With --alloc it also prints the bytes allocated per lifecycle (V8's
// sampling heap profiler, collected objects included). With --split each build also gets two rows
// that split the cost: "machine logic" calls the machine's own getInitialSnapshot/transition through
// one started actor's scope (xstate's internal `_actorScope`; no Actor per request, no mailbox,
// observers, system registration or done event), and "Actor of a reducer" drives the same events
// into Actors (same parent, subscribe, start) of a fromTransition logic that only switches a state
// string and copies the event's time into a new context: what the Actor wrapper costs by itself.
// A build that has dist/actors/flatMachineLogic.js runs the machine through it in both the engine and
// the machine-logic rows, as its engine does. Needs dist/ built in each ROOT.
//   node bench/request-lifecycle.mjs [--runs 5] [--requests 100000] [--alloc] [--split] ROOT [ROOT ...]
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const argv = process.argv.slice(2)
const opt = (name, dflt) => { const i = argv.indexOf(name); if (i < 0) return dflt; const v = argv[i + 1]; argv.splice(i, 2); return v }
const flag = (name) => { const i = argv.indexOf(name); if (i >= 0) argv.splice(i, 1); return i >= 0 }
const child = flag("--child")
const alloc = flag("--alloc")
const split = flag("--split")
const mode = opt("--mode", "engine")
const runs = Number(opt("--runs", 5))
const requests = Number(opt("--requests", 100_000))
const roots = argv.map((a) => resolve(a))
if (roots.length === 0) throw new Error("usage: node bench/request-lifecycle.mjs [--runs N] [--requests N] [--alloc] ROOT [ROOT ...]")

const PHASES = ["create", "prefillStarted", "firstToken", "completed"]

if (child) {
  const root = roots[0]
  const { createActor, fromTransition } = await import("xstate")
  const { requestMachine, requestRowOf } = await import(join(root, "dist/actors/requestMachine.js"))
  const { requestGroup } = await import(join(root, "dist/actors/requestGroup.js"))
  let session
  const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))))
  const xclock = { setTimeout: () => 0, clearTimeout: () => undefined }
  const onDefect = (e) => { throw e }
  let rows = 0
  const provided = requestMachine.provide({ actions: { recordEnd: ({ context }, { status }) => { rows += requestRowOf(context, status).outputTokens > 0 ? 1 : 0 } } })
  // a build with flatMachineLogic runs the request machine through it, as its engine does
  const flat = await import(join(root, "dist/actors/flatMachineLogic.js")).catch(() => null)
  const recorded = flat === null ? provided : flat.flatMachineLogic(provided)
  const group = createActor(requestGroup, { clock: xclock })
  group.subscribe({ error: onDefect })
  group.start()
  const cpu = () => { const c = process.cpuUsage(); return c.user + c.system }
  const us = [0, 0, 0, 0]
  const B = 1000
  let now = 0
  let id = 0
  // "machine logic": the machine's transition function through one running actor's scope
  const scopeActor = createActor(recorded, { input: { id: -1, arrivalNs: 0, uniqueTokens: 1, outputTokens: 1 }, clock: xclock, parent: group }).start()
  const scope = scopeActor._actorScope
  const logicBatch = (count) => {
    const snaps = new Array(B)
    const t0 = cpu()
    for (let i = 0; i < B; i++) snaps[i] = recorded.getInitialSnapshot(scope, { id: id++, arrivalNs: now, uniqueTokens: 4096, outputTokens: 128 })
    const t1 = cpu()
    for (let i = 0; i < B; i++) snaps[i] = recorded.transition(snaps[i], { type: "request.prefillStarted", atNs: ++now }, scope)
    const t2 = cpu()
    for (let i = 0; i < B; i++) snaps[i] = recorded.transition(snaps[i], { type: "request.firstToken", atNs: ++now }, scope)
    const t3 = cpu()
    for (let i = 0; i < B; i++) snaps[i] = recorded.transition(snaps[i], { type: "request.completed", atNs: ++now, outputTokens: 128 }, scope)
    const t4 = cpu()
    for (let i = 0; i < B; i++) if (snaps[i].status !== "done") throw new Error("machine logic: not done")
    if (count) { us[0] += t1 - t0; us[1] += t2 - t1; us[2] += t3 - t2; us[3] += t4 - t3 }
  }
  // "Actor of a reducer": the Actor wrapper around a trivial logic
  const NEXT = { queued: { "request.prefillStarted": "prefill" }, prefill: { "request.firstToken": "decoding" }, decoding: { "request.completed": "done" } }
  const reducer = fromTransition(
    (s, e) => { const to = NEXT[s.value]?.[e.type]; return to === undefined ? s : { value: to, context: { ...s.context, atNs: e.atNs } } },
    ({ input }) => ({ value: "queued", context: { spec: input, atNs: null } }),
  )
  const engineBatch = (logic) => (count) => {
    const actors = new Array(B)
    const t0 = cpu()
    for (let i = 0; i < B; i++) {
      const spec = { id: id++, arrivalNs: now, uniqueTokens: 4096, outputTokens: 128 }
      const a = createActor(logic, { input: spec, clock: xclock, parent: group })
      a.subscribe({ error: onDefect })
      a.start()
      actors[i] = a
    }
    const t1 = cpu()
    for (let i = 0; i < B; i++) actors[i].send({ type: "request.prefillStarted", atNs: ++now })
    const t2 = cpu()
    for (let i = 0; i < B; i++) actors[i].send({ type: "request.firstToken", atNs: ++now })
    const t3 = cpu()
    for (let i = 0; i < B; i++) actors[i].send({ type: "request.completed", atNs: ++now, outputTokens: 128 })
    const t4 = cpu()
    if (count) { us[0] += t1 - t0; us[1] += t2 - t1; us[2] += t3 - t2; us[3] += t4 - t3 }
  }
  const batch = mode === "logic" ? logicBatch : engineBatch(mode === "reducer" ? reducer : recorded)
  for (let i = 0; i < 20; i++) batch(false) // warm-up: JIT
  let bytes = null
  if (alloc) {
    const { Session } = await import("node:inspector")
    session = new Session()
    session.connect()
    await post("HeapProfiler.enable")
    await post("HeapProfiler.startSampling", { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  }
  const batches = Math.max(1, Math.round(requests / B))
  for (let i = 0; i < batches; i++) batch(true)
  if (alloc) {
    const { profile } = await post("HeapProfiler.stopSampling")
    let total = 0
    const walk = (n) => { total += n.selfSize; n.children.forEach(walk) }
    walk(profile.head)
    bytes = total / (batches * B)
  }
  const ended = mode === "engine" ? (batches + 20) * B : 0
  if (group.getSnapshot().context !== ended || rows !== (mode === "reducer" ? 0 : (batches + 20) * B)) throw new Error("not every request reached its final state")
  process.stdout.write(JSON.stringify({ us: us.map((u) => u / (batches * B)), bytes }))
} else {
  const self = fileURLToPath(import.meta.url)
  const MODES = split ? [["engine", ""], ["logic", " machine logic"], ["reducer", " Actor of a reducer"]] : [["engine", ""]]
  const rowsOf = roots.flatMap((root) => MODES.map(([m, label]) => ({ root, mode: m, label: `${root}${label}` })))
  const samples = rowsOf.map(() => [])
  const child = (root, m, withAlloc) => JSON.parse(execFileSync(process.execPath, [self, "--child", "--mode", m, "--requests", String(requests), ...(withAlloc ? ["--alloc"] : []), root], { encoding: "utf8" }))
  for (let r = 0; r < runs; r++) rowsOf.forEach(({ root, mode: m }, b) => samples[b].push(child(root, m, false)))
  // the heap profiler slows the run it samples: bytes come from one more run, not timed
  const bytesOf = alloc ? rowsOf.map(({ root, mode: m }) => child(root, m, true).bytes) : []
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
  const f = (x) => x.toFixed(2)
  console.log(`${requests.toLocaleString("en-US")} lifecycles per run, ${runs} runs per build, interleaved; µs of CPU per request, median (min) over runs`)
  console.log(`| build | ${PHASES.join(" | ")} | total |${alloc ? " bytes allocated |" : ""}`)
  console.log(`|:--|${PHASES.map(() => "--:|").join("")}--:|${alloc ? "--:|" : ""}`)
  rowsOf.forEach(({ label }, b) => {
    const s = samples[b]
    const cells = PHASES.map((_, p) => `${f(median(s.map((x) => x.us[p])))} (${f(Math.min(...s.map((x) => x.us[p])))})`)
    const totals = s.map((x) => x.us.reduce((a, c) => a + c, 0))
    const bytes = bytesOf[b]
    console.log(`| ${label} | ${cells.join(" | ")} | ${f(median(totals))} (${f(Math.min(...totals))}) |${alloc ? ` ${Math.round(bytes).toLocaleString("en-US")} |` : ""}`)
  })
  if (roots.length === 2) {
    const tot = (b) => median(samples[b].map((x) => x.us.reduce((a, c) => a + c, 0)))
    const b1 = MODES.length
    console.log(`total (engine way) ${roots[1]} / ${roots[0]}: ${(tot(b1) / tot(0)).toFixed(3)}`)
  }
}
