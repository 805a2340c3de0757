// What one unique-worker phase costs in xstate (issue 12): `phase.completed` into `deciding`
// (entry `admit`), then its eventless transitions into `prefilling` or `decoding` (entry
// `launchPrefill` / `startDecoding`), with every action and guard a no-op except that phases
// alternate prefill / decode, as the Poisson 100k run's ~104k phases for its 100k requests do.
// µs of CPU per phase.completed; needs dist/ built in ROOT.
//   node bench/worker-phase.mjs ROOT [PHASES]
import { join, resolve } from "node:path"

const root = resolve(process.argv[2] ?? ".")
const phases = Number(process.argv[3] ?? 200_000)
const { createActor } = await import("xstate")
const { uniqueWorkerMachine } = await import(join(root, "dist/actors/uniqueWorkerMachine.js"))
let prefillDue = true
const noop = () => undefined
const m = uniqueWorkerMachine.provide({
  actions: { admit: noop, launchPrefill: () => { prefillDue = false }, completePrefill: noop, startDecoding: () => { prefillDue = true }, failPhase: noop, stopWork: noop },
  guards: { hasPrefill: () => prefillDue, hasDecode: () => true },
})
const actor = createActor(m, { clock: { setTimeout: () => 0, clearTimeout: () => undefined } })
actor.subscribe({ error: (e) => { throw e } })
actor.start()
actor.send({ type: "worker.wake" })
const cpu = () => { const c = process.cpuUsage(); return c.user + c.system }
for (let i = 0; i < 20_000; i++) actor.send({ type: "phase.completed" }) // warm-up: JIT
const t0 = cpu()
for (let i = 0; i < phases; i++) actor.send({ type: "phase.completed" })
const us = (cpu() - t0) / phases
if (actor.getSnapshot().value !== "prefilling" && actor.getSnapshot().value !== "decoding") throw new Error(`unexpected state ${actor.getSnapshot().value}`)
console.log(`${root}: ${us.toFixed(2)} µs of CPU per phase.completed (${phases.toLocaleString("en-US")} phases)`)
