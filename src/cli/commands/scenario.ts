import type { Command } from "commander"
import { collect } from "../collect.js"

/**
 * `moska scenario check FILE [--set path=value ...] [--json]`: decodes a scenario and prints it
 * resolved (defaults applied), or one line per problem and exit 2.
 * `moska scenario schema`: JSON Schema of scenario files. `moska scenario docs`: the Markdown reference.
 * Each action loads the scenario schema (effect/Schema) when it runs, not at start-up.
 * @example moska scenario check scenarios/default.yaml --set corpus.sharedTokens=16777216
 */
export const registerScenario = (program: Command): void => {
  const scenario = program.command("scenario").description("check scenario files, print their JSON Schema or reference")
  scenario
    .command("check")
    .description("decode a scenario file (with overrides) and print it with every default applied")
    .argument("<file>", "scenario YAML file")
    .option("--set <path=value>", "override a field, value read as YAML (repeatable)", collect, [])
    .option("--json", "print the resolved scenario as JSON instead of YAML")
    .action(async (file: string, opts: { set: string[]; json?: boolean }) => {
      const [{ stringify }, { loadScenarioFile }] = await Promise.all([import("yaml"), import("../loadScenarioFile.js")])
      const s = loadScenarioFile(file, opts.set)
      process.stdout.write(opts.json === true ? `${JSON.stringify(s, null, 2)}\n` : stringify(s))
    })
  scenario
    .command("schema")
    .description("print the JSON Schema of scenario files (for editors' YAML support)")
    .action(async () => {
      const { scenarioJsonSchema } = await import("../scenarioJsonSchema.js")
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`)
    })
  scenario
    .command("docs")
    .description("print the scenario reference in Markdown (docs/scenario-reference.md)")
    .action(async () => {
      const { scenarioReference } = await import("../scenarioReference.js")
      process.stdout.write(scenarioReference())
    })
}
