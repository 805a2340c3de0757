import * as Either from "effect/Either"
import * as S from "effect/Schema"
import { isAlias, isCollection, isScalar, LineCounter, parseDocument, visit, type Document } from "yaml"
import { applyOverrides } from "./applyOverrides.js"
import { ScenarioInvalid } from "./errors.js"
import { formatParseIssues, type FieldIssue } from "./formatParseIssues.js"
import { Scenario, SIM_LIMITS } from "./scenario.js"

const decode = S.decodeUnknownEither(Scenario, { errors: "all", onExcessProperty: "error" })

/**
 * Decodes a raw scenario object (parsed YAML or JSON) against the Scenario schema, applying
 * defaults. Unknown keys are errors. Every problem becomes one `{ path, message }` issue.
 * @example decodeScenario({ workload: { kind: "poisson", ratePerS: 2, requests: 10 } }, "x.yaml")
 */
export const decodeScenario = (raw: unknown, source: string): Either.Either<Scenario, ScenarioInvalid> =>
  Either.flatMap(
    Either.mapLeft(decode(raw), (e) => new ScenarioInvalid({ source, issues: formatParseIssues(e.issue) })),
    (s) => {
      const issues = limitIssues(s)
      return issues.length === 0 ? Either.right(s) : Either.left(new ScenarioInvalid({ source, issues }))
    },
  )

/**
 * Limits checked on the decoded scenario (the schema keeps `untilS` a plain positive finite
 * number): simulated time is integer ns in a double, exact up to 2^53 ns.
 */
const limitIssues = (s: Scenario): FieldIssue[] =>
  s.untilS !== undefined && s.untilS > SIM_LIMITS.maxSimulatedS
    ? [{ path: "untilS", message: `must be at most ${SIM_LIMITS.maxSimulatedS} s (simulated time is integer ns, exact up to 2^53 ns, about 104 days; got ${s.untilS})` }]
    : []

/**
 * Most alias expansions a scenario may make. Scenarios need few anchors; a "billion laughs"
 * document (aliases of aliases) would otherwise grow exponentially while being read.
 */
const MAX_ALIAS_COUNT = 100

/**
 * Problems of a syntactically valid YAML document that `toJS` would otherwise throw on (unresolved
 * aliases, alias bombs) or paper over with a process warning (a list or mapping used as a key),
 * and duplicate keys: one issue per problem, on the line where it starts.
 */
const documentIssues = (doc: Document, lines: LineCounter): FieldIssue[] => {
  const issues: FieldIssue[] = []
  const at = (range: readonly number[] | null | undefined) => `line ${range === null || range === undefined ? 1 : lines.linePos(range[0] as number).line}`
  const anchors = new Set<string>()
  visit(doc, {
    Node(_key, node) {
      if (!isAlias(node) && node.anchor !== undefined) anchors.add(node.anchor)
      if (isAlias(node) && !anchors.has(node.source)) {
        issues.push({ path: at(node.range), message: `alias *${node.source} refers to no anchor &${node.source} defined before it` })
      }
    },
    Map(_key, map) {
      // duplicate keys, found with a set (the yaml library's own check compares every pair of keys)
      const seen = new Set<unknown>()
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue
        const k = pair.key.value
        if (seen.has(k)) issues.push({ path: at(pair.key.range), message: `key ${JSON.stringify(String(k)).slice(0, 60)} appears twice in this mapping (keep one)` })
        seen.add(k)
      }
    },
    Pair(_key, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const what = isAlias(pair.key) ? "an alias" : isCollection(pair.key) ? "a list or mapping" : "a complex value"
        const range = (pair.key as { range?: readonly number[] | null }).range
        issues.push({ path: at(range), message: `a key must be a plain name, not ${what} (write key: value)` })
      }
    },
  })
  return issues
}

/**
 * Reads a scenario from YAML text, applies `--set path=value` overrides and decodes it. YAML syntax
 * errors, unresolved aliases, alias bombs and non-scalar keys come back as issues on `line N`;
 * schema problems as issues on field paths, one per problem. `source` (usually the file name) is
 * used only in messages. Pure: the caller reads the file and resolves `workload.path`.
 * @example loadScenarioText("workload: {kind: poisson, ratePerS: 2, requests: 10}", { source: "x.yaml", overrides: ["seed=7"] })
 */
export const loadScenarioText = (
  text: string,
  options: { readonly source: string; readonly overrides?: readonly string[] },
): Either.Either<Scenario, ScenarioInvalid> => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines, logLevel: "error", uniqueKeys: false })
  const problems = [...doc.errors, ...doc.warnings]
  if (problems.length > 0) {
    return Either.left(new ScenarioInvalid({
      source: options.source,
      issues: problems.map((e) => ({
        path: `line ${lines.linePos(e.pos[0]).line}`,
        message: e.message.split("\n")[0] as string,
      })),
    }))
  }
  const structural = documentIssues(doc, lines)
  if (structural.length > 0) return Either.left(new ScenarioInvalid({ source: options.source, issues: structural }))
  let raw: unknown
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (e) {
    // Only the alias count is left to fail here: the document is otherwise checked above.
    const excessive = /alias count/i.test((e as Error).message)
    return Either.left(new ScenarioInvalid({
      source: options.source,
      issues: [{
        path: "(document)",
        message: excessive
          ? `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias uses); write the values out instead of nesting aliases`
          : `cannot be read (${(e as Error).message.split("\n")[0]})`,
      }],
    }))
  }
  if (raw === null || raw === undefined) raw = {}
  try {
    raw = applyOverrides(raw, options.overrides ?? [])
  } catch (e) {
    if (e instanceof ScenarioInvalid) return Either.left(e)
    throw e
  }
  return decodeScenario(raw, options.source)
}
