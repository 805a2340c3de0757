// Self CPU time of a V8 .cpuprofile (node --cpu-prof) by where the code lives: every xstate file
// as one "xstate", other packages by name, our files as folder/file, V8's own entries (garbage
// collector, idle, program) by name; the sim's worker thread writes its own profile file.
//   node --cpu-prof --cpu-prof-dir=P dist/cli/main.js sim S.json --db D --json; node bench/cpuprofile-by-file.mjs P/*.cpuprofile [TOP]
import { readFileSync } from "node:fs"

const args = process.argv.slice(2)
const top = /^\d+$/.test(args.at(-1) ?? "") ? Number(args.pop()) : 25
for (const file of args) {
  const p = JSON.parse(readFileSync(file, "utf8"))
  const dt = new Map()
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
  const by = new Map()
  let total = 0
  for (const n of p.nodes) {
    const u = n.callFrame.url
    const k = u.includes("/xstate/") ? "xstate" : u.includes("node_modules/") ? u.split("node_modules/")[1].split("/")[0] : u === "" ? n.callFrame.functionName : u.split("/").slice(-2).join("/")
    const v = dt.get(n.id) ?? 0
    by.set(k, (by.get(k) ?? 0) + v)
    total += v
  }
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`)
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / 1e3).toFixed(0).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
}
