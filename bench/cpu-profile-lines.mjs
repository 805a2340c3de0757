// Samples per source line of the functions matching PATTERN ("function url"), from a V8 .cpuprofile's
// positionTicks: which line of a hot function holds its self time (an inlined callee's ticks land on
// the caller's line that calls it). Lines are the built file's (dist/...js).
//   node --cpu-prof --cpu-prof-dir=P dist/cli/main.js sim scenarios/mooncake-replay.yaml --db P/t.db --json
//   node bench/cpu-profile-lines.mjs "$(ls -S P/*.cpuprofile | head -1)" "priceOf" [MIN_TICKS]
import { readFileSync } from "node:fs"

const p = JSON.parse(readFileSync(process.argv[2], "utf8"))
const pattern = process.argv[3] ?? ""
const min = Number(process.argv[4] ?? 1)
const lines = new Map()
for (const n of p.nodes) {
  const name = `${n.callFrame.functionName} ${n.callFrame.url}`
  if (!name.includes(pattern)) continue
  for (const t of n.positionTicks ?? []) {
    const k = `${n.callFrame.url.split("/").slice(-2).join("/")}:${t.line}`
    lines.set(k, (lines.get(k) ?? 0) + t.ticks)
  }
}
for (const [k, t] of [...lines].sort((a, b) => b[1] - a[1])) if (t >= min) console.log(`${String(t).padStart(6)}  ${k}`)
