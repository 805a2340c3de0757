import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import puppeteer from "puppeteer-core"
import { describe, expect, it } from "vitest"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { sweepLabel } from "../../src/db/sweepLabel.js"
import type { RunReportData } from "../../src/report/loadReportData.js"
import { loadReportData } from "../../src/report/loadReportData.js"
import { renderReportHtml } from "../../src/report/renderReportHtml.js"
import { servingCurves, sloCapacity } from "../../src/report/servingCurves.js"

const SMALL = fileURLToPath(new URL("../golden/small.yaml", import.meta.url))
const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p !== undefined && existsSync(p))

/** The fields servingCurves reads; the rest of a report's data does not matter to it. */
const run = (runId: number, system: string, label: string | null, tokensPerS: number, ttftP99: number, tpotP99: number) =>
  ({ runId, system, label, outputTokensPerS: tokensPerS, percentilesMs: { ttft: { n: 1, p50: 0, p90: 0, p99: ttftP99 }, tpot: { n: 1, p50: 0, p90: 0, p99: tpotP99 } } }) as unknown as RunReportData
const label = (rate: string, system: string) => sweepLabel.format("s", [{ path: "workload.ratePerS", value: rate }, { path: "system", value: system }])

describe("servingCurves", () => {
  it("puts the numeric varied path on x and makes one curve per system, in ascending x", () => {
    const c = servingCurves([
      run(1, "moska", label("16", "moska"), 700, 60, 3), run(2, "moska", label("4", "moska"), 200, 50, 2),
      run(3, "cascade", label("4", "cascade"), 190, 55, 5), run(4, "cascade", label("16", "cascade"), 500, 70, 7),
      run(5, "moska", "not a sweep", 1, 1, 1),
    ])
    expect(c).toEqual({
      xPath: "workload.ratePerS",
      series: [
        { name: "moska", runIds: [2, 1], x: [4, 16], outputTokensPerS: [200, 700], ttftP99Ms: [50, 60], tpotP99Ms: [2, 3] },
        { name: "cascade", runIds: [3, 4], x: [4, 16], outputTokensPerS: [190, 500], ttftP99Ms: [55, 70], tpotP99Ms: [5, 7] },
      ],
    })
  })

  it("names the other varied values in the curve and draws nothing without a numeric path of two values", () => {
    const two = (w: string, rate: string) => sweepLabel.format("s", [{ path: "policy.window", value: w }, { path: "workload.ratePerS", value: rate }])
    const c = servingCurves([run(1, "moska", two("a", "1"), 1, 1, 1), run(2, "moska", two("a", "2"), 2, 2, 2), run(3, "moska", two("b", "1"), 3, 3, 3)])
    expect(c?.xPath).toBe("workload.ratePerS")
    expect(c?.series.map((s) => [s.name, s.x])).toEqual([["moska, policy.window=a", [1, 2]], ["moska, policy.window=b", [1]]])
    expect(servingCurves([run(1, "moska", label("4", "moska"), 1, 1, 1), run(2, "cascade", label("4", "cascade"), 1, 1, 1)])).toBeNull()
    expect(servingCurves([run(1, "moska", null, 1, 1, 1)])).toBeNull()
  })
})

describe("sloCapacity", () => {
  it("is the largest x whose every given p99 is within its bound, or null", () => {
    const s = { name: "moska", runIds: [1, 2, 3], x: [4, 8, 16], outputTokensPerS: [1, 2, 3], ttftP99Ms: [50, 90, 400], tpotP99Ms: [2, 9, 3] }
    expect(sloCapacity(s, { ttftP99Ms: 100 })).toBe(8)
    expect(sloCapacity(s, { ttftP99Ms: 100, tpotP99Ms: 5 })).toBe(4)
    expect(sloCapacity(s, { tpotP99Ms: 5 })).toBe(16) // a bound need not hold at every lower load
    expect(sloCapacity(s, { ttftP99Ms: 10 })).toBeNull()
    expect(sloCapacity({ ...s, ttftP99Ms: [null, 1, 1] }, { ttftP99Ms: 100 })).toBe(16)
  })
})

describe.skipIf(CHROMIUM === undefined)("serving curves in headless Chromium", () => {
  it("a 2×2 sweep's report draws the three serving panels with marks and no console errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-serving-"))
    const dbFile = join(dir, "t.db")
    for (const rate of ["4", "16"]) {
      for (const system of ["moska", "cascade"]) {
        const scenario = loadScenarioFile(SMALL, ["workload.requests=8", `workload.ratePerS=${rate}`, `system=${system}`])
        executeRun({ scenario, dbFile, codeVersion: "test", clock: () => 0, label: label(rate, system) })
      }
    }
    const db = openTraceDb(dbFile, { readonly: true })
    // SLO bounds every point meets (1e9 ms), so the note is known without knowing the latencies
    const html = renderReportHtml([1, 2, 3, 4].map((id) => loadReportData(db, id)), { source: dbFile, slo: { ttftP99Ms: 1e9, tpotP99Ms: 1e9 } })
    db.close()
    const htmlFile = join(dir, "report.html")
    writeFileSync(htmlFile, html)
    const browser = await puppeteer.launch({ executablePath: CHROMIUM as string, headless: true, args: ["--no-sandbox", "--disable-gpu"] })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on("console", (m) => { if (m.type() === "error" || m.type() === "warn") errors.push(`${m.type()}: ${m.text()}`) })
      page.on("pageerror", (e) => errors.push(`pageerror: ${String(e)}`))
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load" })
      await page.waitForFunction("window.__moskaReady === true", { timeout: 20_000 })
      // colored pixels: a series colour (saturated), not axes, grid or text (grey)
      const marks = (await page.evaluate(`(() => ["serving-throughput", "serving-ttft", "serving-tpot"].map((id) => {
        const p = window.__moskaPlots.find((x) => x.id === id)
        if (p === undefined) return { id, series: 0, colored: 0 }
        const c = document.getElementById(id).querySelector("canvas")
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data
        let colored = 0
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) colored++
        }
        return { id, series: p.plot.series.length - 1, colored }
      }))()`)) as Array<{ id: string; series: number; colored: number }>
      expect(errors).toEqual([])
      for (const m of marks) {
        expect(m.series, m.id).toBe(m.id === "serving-throughput" ? 2 : 3) // moska and cascade, and the dashed SLO line
        expect(m.colored, m.id).toBeGreaterThan(50)
      }
      const labels = await page.evaluate(`window.__moskaPlots.find((x) => x.id === "serving-ttft").plot.series.map((s) => s.label)`)
      expect(labels).toEqual(["workload.ratePerS", "moska", "cascade", "SLO TTFT p99 ≤ 1000000000 ms"])
      expect(await page.evaluate(`document.getElementById("slo-note").textContent`)).toBe(
        "SLO TTFT p99 ≤ 1000000000 ms and TPOT p99 ≤ 1000000000 ms (dashed lines). Within it, moska: up to workload.ratePerS = 16; cascade: up to workload.ratePerS = 16.")
    } finally {
      await browser.close()
    }
  })
})
