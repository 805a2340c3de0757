import { writeFileSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { ScenarioInvalid } from "../../src/core/errors.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { prepareHardware } from "../../src/cli/prepareHardware.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))

describe("prepareHardware", () => {
  it("rejects an unknown GPU name as bad input naming the pool field", () => {
    const s = loadScenarioFile(join(ROOT, "scenarios/default.yaml"), ["hardware.shared.gpu=X100"])
    try {
      prepareHardware(s, "default.yaml")
      expect.unreachable("an unknown GPU must be rejected")
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioInvalid)
      expect((e as ScenarioInvalid).issues).toEqual([{
        path: "hardware.shared.gpu",
        message: 'must be one of "H100", "H200", "B200", "A100" or a device from hardware.devices (got "X100")',
      }])
    }
  })

  it("accepts a device named by a hardware.devices file, resolved relative to the scenario", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-dev-"))
    const file = join(dir, "s.yaml")
    writeFileSync(file, `hardware:\n  devices: [${join(ROOT, "data/devices/H200-cal.json")}]\n  unique: {gpu: H200-cal}\nworkload: {kind: poisson, ratePerS: 1, requests: 1}\n`)
    const s = loadScenarioFile(file)
    expect(() => prepareHardware(s, file)).not.toThrow()
  })
})
