import { readdirSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { loadTraceRequests } from "../../src/cli/loadTraceRequests.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith(".yaml") ? [join(dir, e.name)] : [])

describe("shipped scenarios", () => {
  it.each(yamlFiles(join(ROOT, "scenarios")).map((f) => relative(ROOT, f)))("%s decodes", (file) => {
    const s = loadScenarioFile(join(ROOT, file))
    expect(s.name).not.toBe("unnamed")
  })

  it("resolve their trace files relative to the scenario and load every request", () => {
    const m = loadScenarioFile(join(ROOT, "scenarios/mooncake-replay.yaml"))
    expect(m.workload).toMatchObject({ kind: "trace", path: join(ROOT, "data/traces/mooncake_conversation_trace.jsonl") })
    expect(loadTraceRequests(m)).toHaveLength(12_031)
    expect(loadTraceRequests(loadScenarioFile(join(ROOT, "scenarios/azure-replay.yaml")))).toHaveLength(8_819)
  })
})
