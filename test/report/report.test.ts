import { Command } from "commander"
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import puppeteer from "puppeteer-core"
import { beforeAll, describe, expect, it } from "vitest"
import { registerReport } from "../../src/cli/commands/report.js"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { loadReportData, TIME_BINS } from "../../src/report/loadReportData.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const SMALL = join(ROOT, "test/golden/small.yaml")
const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p !== undefined && existsSync(p))
const SCREENSHOT = join(ROOT, "out/test-report/report.png")

let dbFile = ""
let htmlFile = ""

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "moska-report-"))
  dbFile = join(dir, "t.db")
  htmlFile = join(dir, "report.html")
  const run = (overrides: string[], label: string) =>
    executeRun({ scenario: loadScenarioFile(SMALL, overrides), dbFile, codeVersion: "test", clock: () => 0, label })
  run([], "fast")
  run(["policy.routingMode=exact", "trace=tokens"], "exact+tokens")
  run(["system=cascade"], "cascade")
  // through the command itself, as `moska report 1 2 3 --db … --out …` runs it
  const program = new Command().exitOverride()
  registerReport(program)
  await program.parseAsync(["report", "1", "2", "3", "--db", dbFile, "--out", htmlFile], { from: "user" })
  run(["trace=totals", "traceWindowMs=100"], "totals")
}, 120_000)

describe("loadReportData", () => {
  it("summarizes a run consistently with the database: CDFs end at 1, tokens and busy time add up", () => {
    const db = openTraceDb(dbFile, { readonly: true })
    const d = loadReportData(db, 2)
    const completed = db.prepare("SELECT COUNT(*) FROM requests WHERE run_id = 2 AND status = 'completed'").pluck().get() as number
    expect(d.label).toBe("exact+tokens")
    expect(d.percentilesMs.ttft?.n).toBe(completed)
    for (const m of ["ttft", "tpot", "itl", "e2e"] as const) {
      const c = d.cdf[m]
      expect(c, m).not.toBeNull()
      expect(c?.y.at(-1), m).toBe(1)
      expect(c?.x.every((x, i) => i === 0 || x > (c.x[i - 1] as number)), m).toBe(true)
    }
    // token rows counted per bin add up to the run's output tokens
    const tokens = db.prepare("SELECT COUNT(*) FROM tokens WHERE run_id = 2").pluck().get() as number
    expect(d.timeline.tokensFrom).toBe("token rows")
    expect(d.timeline.tokensPerS.reduce((a, b) => a + b, 0) * d.timeline.binS).toBeCloseTo(tokens, 3)
    expect(d.timeline.t).toHaveLength(TIME_BINS)
    // per-worker busy time over the bins equals the worker_utilization view's union of intervals
    const view = db.prepare("SELECT worker_id, busy_ns FROM worker_utilization WHERE run_id = 2 ORDER BY worker_id").all() as Array<{ worker_id: string; busy_ns: number }>
    expect(d.timeline.utilization.map((u) => u.workerId)).toEqual(view.map((v) => v.worker_id))
    for (const u of d.timeline.utilization) {
      expect(u.busy.every((b) => b >= 0 && b <= 1 + 1e-9)).toBe(true)
      const busyNs = u.busy.reduce((a, b) => a + b, 0) * d.timeline.binS * 1e9
      expect(busyNs / (view.find((v) => v.worker_id === u.workerId)?.busy_ns as number)).toBeCloseTo(1, 4)
    }
    // exact routing records chunk GEMMs; the histogram holds every one of them
    const gemms = db.prepare("SELECT COUNT(*) FROM kernels WHERE run_id = 2 AND chunk_id IS NOT NULL").pluck().get() as number
    expect(d.rowsPerChunkGemm?.gemms.reduce((a, b) => a + b, 0)).toBe(gemms)
    // fast mode has no chunk rows and no token rows: the report says so instead of drawing
    const fast = loadReportData(db, 1)
    expect(fast.rowsPerChunkGemm).toBeNull()
    expect(fast.cdf.itl).toBeNull()
    expect(fast.timeline.tokensFrom).toBe("request rows")
    const out = db.prepare("SELECT SUM(output_tokens) FROM requests WHERE run_id = 1").pluck().get() as number
    expect(fast.timeline.tokensPerS.reduce((a, b) => a + b, 0) * fast.timeline.binS).toBeCloseTo(out, 3)
    expect(Math.max(...fast.timeline.queueMax)).toBeGreaterThanOrEqual(0)
    db.close()
  })

  it("draws a run traced at level totals from kernel_totals: the same busy time per worker and batches per kind as the rows", () => {
    const db = openTraceDb(dbFile, { readonly: true })
    const totals = loadReportData(db, 4)
    const rows = loadReportData(db, 1) // the same scenario and seed at level kernels
    expect(totals.label).toBe("totals")
    expect(totals.kernelsByKind.map((k) => [k.kind, k.batches, Math.round(k.totalMs * 1e6)])).toEqual(rows.kernelsByKind.map((k) => [k.kind, k.batches, Math.round(k.totalMs * 1e6)]))
    const summed = db.prepare("SELECT worker_id, SUM(busy_ns) AS busy_ns FROM kernel_totals WHERE run_id = 4 GROUP BY worker_id ORDER BY worker_id").all() as Array<{ worker_id: string; busy_ns: number }>
    expect(totals.timeline.utilization.map((u) => u.workerId)).toEqual(summed.map((v) => v.worker_id))
    for (const u of totals.timeline.utilization) {
      const busyNs = u.busy.reduce((a, b) => a + b, 0) * totals.timeline.binS * 1e9
      expect(busyNs / (summed.find((v) => v.worker_id === u.workerId)?.busy_ns as number), u.workerId).toBeCloseTo(1, 4)
    }
    db.close()
  })

  it("writes one page with uPlot inlined and no reference to the network", () => {
    const html = readFileSync(htmlFile, "utf8")
    expect(html).toContain("uPlot")
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i)
    // the only URL is uPlot's licence banner (the browser test checks that nothing is fetched)
    expect(html.match(/https?:\/\/[^\s"'()]+/g)).toEqual(["https://github.com/leeoniya/uPlot"])
    expect(html).toContain("run 1 (fast)")
    expect(html).toContain("&quot;routingMode&quot;: &quot;exact&quot;") // run 2's resolved configuration
  })
})

describe.skipIf(CHROMIUM === undefined)(`the report in headless Chromium (${CHROMIUM ?? "no chromium: install Debian's chromium package"})`, () => {
  it("opens with no console errors, every plot draws marks, and a screenshot is written", async () => {
    const browser = await puppeteer.launch({ executablePath: CHROMIUM as string, headless: true, args: ["--no-sandbox", "--disable-gpu"] })
    try {
      const page = await browser.newPage()
      await page.setViewport({ width: 1200, height: 900 })
      const errors: string[] = []
      const requests: string[] = []
      page.on("console", (m) => { if (m.type() === "error" || m.type() === "warn") errors.push(`${m.type()}: ${m.text()}`) })
      page.on("pageerror", (e) => errors.push(`pageerror: ${String(e)}`))
      page.on("request", (r) => requests.push(r.url()))
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load" })
      await page.waitForFunction("window.__moskaReady === true", { timeout: 20_000 })
      // run in the page (a string: this project's TypeScript has no DOM types); colored pixels are
      // those in a series colour (saturated), as opposed to axes, grid and text (grey)
      const plots = (await page.evaluate(`(() => {
        const plots = [...document.querySelectorAll(".plot")]
        return {
          containers: plots.map((e) => e.id),
          drawn: window.__moskaPlots.map((p) => p.id),
          marks: plots.map((e) => {
            const c = e.querySelector("canvas")
            if (c === null) return { id: e.id, colored: 0 }
            const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data
            let colored = 0
            for (let i = 0; i < px.length; i += 4) {
              if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) colored++
            }
            return { id: e.id, colored }
          }),
        }
      })()`)) as { containers: string[]; drawn: string[]; marks: Array<{ id: string; colored: number }> }
      mkdirSync(join(ROOT, "out/test-report"), { recursive: true })
      await page.screenshot({ path: SCREENSHOT, fullPage: true })
      console.log(`report screenshot: ${SCREENSHOT}`)
      expect(errors).toEqual([])
      expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([])
      expect(plots.containers).toEqual(["cdf-ttft", "cdf-tpot", "cdf-itl", "cdf-e2e", "time-ttft", "time-tpot", "time-tokens",
        "time-completed", "time-queue", "time-util", "chunk-rows", "kernel-kinds"])
      expect(plots.drawn.sort()).toEqual([...plots.containers].sort())
      for (const m of plots.marks) expect(m.colored, m.id).toBeGreaterThan(50)
      expect(existsSync(SCREENSHOT)).toBe(true)
    } finally {
      await browser.close()
    }
  }, 60_000)
})
