import * as Either from "effect/Either"
import * as S from "effect/Schema"
import { LineCounter, parseDocument } from "yaml"
import { applyOverrides } from "./applyOverrides.js"
import { ScenarioInvalid } from "./errors.js"
import { formatParseIssues } from "./formatParseIssues.js"
import { Scenario } from "./scenario.js"

const decode = S.decodeUnknownEither(Scenario, { errors: "all", onExcessProperty: "error" })

/**
 * Decodes a raw scenario object (parsed YAML or JSON) against the Scenario schema, applying
 * defaults. Unknown keys are errors. Every problem becomes one `{ path, message }` issue.
 * @example decodeScenario({ workload: { kind: "poisson", ratePerS: 2, requests: 10 } }, "x.yaml")
 */
export const decodeScenario = (raw: unknown, source: string): Either.Either<Scenario, ScenarioInvalid> =>
  Either.mapLeft(decode(raw), (e) => new ScenarioInvalid({ source, issues: formatParseIssues(e.issue) }))

/**
 * Reads a scenario from YAML text, applies `--set path=value` overrides and decodes it. YAML syntax
 * errors come back as issues on `line N`; schema problems as issues on field paths, one per problem.
 * `source` (usually the file name) is used only in messages. Pure: the caller reads the file and
 * resolves `workload.path`.
 * @example loadScenarioText("workload: {kind: poisson, ratePerS: 2, requests: 10}", { source: "x.yaml", overrides: ["seed=7"] })
 */
export const loadScenarioText = (
  text: string,
  options: { readonly source: string; readonly overrides?: readonly string[] },
): Either.Either<Scenario, ScenarioInvalid> => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines })
  if (doc.errors.length > 0) {
    return Either.left(new ScenarioInvalid({
      source: options.source,
      issues: doc.errors.map((e) => ({
        path: `line ${lines.linePos(e.pos[0]).line}`,
        message: e.message.split("\n")[0] as string,
      })),
    }))
  }
  let raw: unknown = doc.toJS()
  if (raw === null || raw === undefined) raw = {}
  try {
    raw = applyOverrides(raw, options.overrides ?? [])
  } catch (e) {
    if (e instanceof ScenarioInvalid) return Either.left(e)
    throw e
  }
  return decodeScenario(raw, options.source)
}
