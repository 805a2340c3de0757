// Self and inclusive CPU time by function in a V8 .cpuprofile (node --cpu-prof), the way issue 12's
// Mooncake figures were read: the sim runs in a worker thread, whose profile is the largest file.
//   node --cpu-prof --cpu-prof-dir=P dist/cli/main.js sim scenarios/mooncake-replay.yaml --db P/t.db --json
//   node bench/cpu-profile-top.mjs "$(ls -S P/*.cpuprofile | head -1)" [TOP] [PATTERN]
// PATTERN keeps the inclusive rows whose "function file:line" contains it.
import { readFileSync } from "node:fs"

const p = JSON.parse(readFileSync(process.argv[2], "utf8"))
const top = Number(process.argv[3] ?? 25)
const pattern = process.argv[4]
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const key = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber + 1}`
const ticks = new Map()
let total = 0
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0
  ticks.set(id, (ticks.get(id) ?? 0) + dt)
  total += dt
})
const self = new Map()
const incl = new Map()
for (const [id, t] of ticks) {
  const k = key(byId.get(id))
  self.set(k, (self.get(k) ?? 0) + t)
  // each function once per stack (recursion counted once)
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = key(byId.get(cur))
    if (seen.has(kk)) continue
    seen.add(kk)
    incl.set(kk, (incl.get(kk) ?? 0) + t)
  }
}
const rows = (m) => [...m].filter(([k]) => pattern === undefined || k.includes(pattern)).sort((a, b) => b[1] - a[1]).slice(0, top)
  .map(([k, v]) => `${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join("\n")
console.log(`${(total / 1000).toFixed(0)} ms sampled`)
console.log(`self\n${rows(self)}`)
console.log(`inclusive\n${rows(incl)}`)
