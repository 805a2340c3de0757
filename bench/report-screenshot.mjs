// The README's report picture: two sim runs (MoSKA and cascade, default.yaml, 300 requests) in one
// `moska report`, opened in Debian's headless Chromium and captured at 1200 px wide.
//   npm run build && node bench/report-screenshot.mjs [out.png]   (default docs/report.png)
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import puppeteer from "puppeteer-core"

const root = fileURLToPath(new URL("../", import.meta.url))
const out = process.argv[2] ?? join(root, "docs/report.png")
const chromium = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p !== undefined && existsSync(p))
if (chromium === undefined) {
  process.stderr.write("report-screenshot: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)\n")
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), "moska-shot-"))
const db = join(dir, "t.db")
const moska = (args) => execFileSync(process.execPath, [join(root, "dist/cli/main.js"), ...args], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
for (const system of ["moska", "cascade"]) moska(["sim", "scenarios/default.yaml", "--set", `system=${system}`, "--set", "workload.requests=300", "--set", "trace=tokens", "--db", db, "--label", system])
const html = join(dir, "report.html")
moska(["report", "1", "2", "--db", db, "--out", html])
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox", "--disable-gpu"] })
try {
  const page = await browser.newPage()
  await page.setViewport({ width: 1200, height: 1500 })
  await page.goto(pathToFileURL(html).href, { waitUntil: "load" })
  await page.waitForFunction("window.__moskaReady === true", { timeout: 30_000 })
  await page.screenshot({ path: out })
  process.stderr.write(`report-screenshot: ${out}\n`)
} finally {
  await browser.close()
}
