import type * as ParseResult from "effect/ParseResult"
import * as S from "effect/Schema"
import * as AST from "effect/SchemaAST"

/** One readable problem: the field path (`corpus.chunkTokens`, `workload.requests`) and what is allowed. */
export interface FieldIssue {
  readonly path: string
  readonly message: string
}

const show = (x: unknown): string => {
  if (x === undefined) return "nothing"
  if (typeof x === "number" && !Number.isFinite(x)) return String(x)
  const s = JSON.stringify(x) ?? String(x)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

const joinPath = (path: readonly PropertyKey[]): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("") || "(top level)"

const FINITE = S.FiniteSchemaId
const INT = S.IntSchemaId

/** Words for a chain of number refinements: "a positive integer", "a number > 0 and ≤ 1". */
const describeRefinement = (ast: AST.Refinement): string => {
  let integer = false
  let finite = false
  const js: Record<string, number> = {}
  let base: AST.AST = ast
  while (AST.isRefinement(base)) {
    const id = base.annotations[AST.SchemaIdAnnotationId]
    if (id === INT) integer = true
    if (id === FINITE) finite = true
    const j = base.annotations[AST.JSONSchemaAnnotationId] as Record<string, unknown> | undefined
    for (const [k, v] of Object.entries(j ?? {})) if (typeof v === "number" && !(k in js)) js[k] = v
    base = base.from
  }
  if (!AST.isNumberKeyword(base)) return describe(base)
  const noun = integer ? "integer" : finite ? "finite number" : "number"
  const { exclusiveMinimum: gt, minimum: ge, maximum: le, exclusiveMaximum: lt, multipleOf } = js
  const upper = le !== undefined || lt !== undefined
  let words: string
  if (gt === 0 && ge === undefined && !upper) words = `a positive ${noun}`
  else if (ge === 0 && gt === undefined && !upper) words = `a non-negative ${noun}`
  else {
    const bounds = [
      gt !== undefined ? `> ${gt}` : "", ge !== undefined ? `≥ ${ge}` : "", le !== undefined ? `≤ ${le}` : "", lt !== undefined ? `< ${lt}` : "",
    ].filter((b) => b !== "")
    words = `${integer ? "an integer" : "a number"}${bounds.length > 0 ? ` ${bounds.join(" and ")}` : ""}`
  }
  return multipleOf !== undefined ? `${words} that is a multiple of ${multipleOf}` : words
}

/** Words for what an AST accepts, used after "must be". */
const describe = (ast: AST.AST | AST.PropertySignature): string => {
  // a missing struct field reports its property signature
  if (ast instanceof AST.PropertySignature) return describe(ast.type)
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "UndefinedKeyword":
      return "absent"
    case "TypeLiteral":
      return "a mapping (key: value)"
    case "TupleType":
      return "a list"
    case "Refinement":
      return describeRefinement(ast)
    case "Transformation":
      return describe(ast.to)
    case "Union": {
      const parts = [...new Set(ast.types.filter((t) => !AST.isUndefinedKeyword(t)).map(describe))]
      return parts.length === 1 ? (parts[0] as string) : `one of ${parts.join(", ")}`
    }
    default:
      return String(ast)
  }
}

/** The custom `message` annotation of a refinement chain's outermost filter, if it has one. */
const customMessage = (ast: AST.Refinement, issue: ParseResult.ParseIssue): string | undefined => {
  const m = ast.annotations[AST.MessageAnnotationId]
  if (typeof m !== "function") return undefined
  const out = (m as (i: unknown) => unknown)(issue)
  return typeof out === "string" ? out : undefined
}

/** Is this issue only "the value is not of this member's shape" (a union member that did not apply)? */
const isShallow = (issue: ParseResult.ParseIssue): boolean =>
  issue._tag === "Type" ||
  (issue._tag === "Transformation" && isShallow(issue.issue)) ||
  (issue._tag === "Refinement" && issue.kind === "From" && isShallow(issue.issue))

/** The member issues of nested unions (`S.Literal("a", "b")` inside a union is itself a union), flattened. */
const unionMembers = (issue: ParseResult.ParseIssue): ParseResult.ParseIssue[] =>
  issue._tag === "Composite" && AST.isUnion(issue.ast)
    ? (Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]).flatMap(unionMembers)
    : [issue]

const walk = (
  issue: ParseResult.ParseIssue,
  path: readonly PropertyKey[],
  allowed: readonly string[] | undefined,
  out: FieldIssue[],
): void => {
  const at = joinPath(path)
  switch (issue._tag) {
    case "Pointer": {
      const keys = Array.isArray(issue.path) ? issue.path : [issue.path]
      walk(issue.issue, [...path, ...keys], allowed, out)
      return
    }
    case "Transformation":
      walk(issue.issue, path, allowed, out)
      return
    case "Missing":
      out.push({ path: at, message: `is required: ${describe(issue.ast as unknown as AST.AST)}` })
      return
    case "Unexpected":
      out.push({
        path: at,
        message: `is not a known field${allowed !== undefined ? ` (allowed: ${allowed.join(", ")})` : ""}`,
      })
      return
    case "Forbidden":
      out.push({ path: at, message: issue.message ?? "cannot be checked synchronously" })
      return
    case "Type":
      out.push({ path: at, message: issue.message ?? `must be ${describe(issue.ast)} (got ${show(issue.actual)})` })
      return
    case "Refinement": {
      const custom = customMessage(issue.ast, issue)
      if (custom !== undefined) {
        out.push({ path: at, message: `${custom} (got ${show(issue.actual)})` })
        return
      }
      let base: AST.AST = issue.ast
      while (AST.isRefinement(base)) base = base.from
      if (AST.isNumberKeyword(base) || AST.isStringKeyword(base)) {
        out.push({ path: at, message: `must be ${describe(issue.ast)} (got ${show(issue.actual)})` })
      } else if (issue.kind === "Predicate") {
        // a filter over a struct (e.g. qHeads a multiple of kvHeads) explains itself; one that names
        // a field (`{ path: ["max"], message }`, possibly several) is reported on that field
        const inner = issue.issue
        const parts = inner._tag === "Composite" ? (Array.isArray(inner.issues) ? inner.issues : [inner.issues as ParseResult.ParseIssue]) : [inner]
        for (const part of parts) {
          if (part._tag === "Pointer") walk(part, path, allowed, out)
          else out.push({ path: at, message: part._tag === "Type" && part.message !== undefined ? part.message : `must be ${describe(issue.ast)}` })
        }
      } else {
        walk(issue.issue, path, allowed, out)
      }
      return
    }
    case "Composite": {
      const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      if (AST.isUnion(issue.ast)) {
        // Optional fields are unions with `undefined`; members whose shape did not match say nothing useful.
        const relevant = unionMembers(issue).filter((i) => !(i._tag === "Type" && AST.isUndefinedKeyword(i.ast)))
        const deep = relevant.filter((i) => !isShallow(i))
        if (deep.length > 0) {
          for (const i of deep) walk(i, path, allowed, out)
        } else {
          const expected = [...new Set(relevant.map((i) => ("ast" in i ? describe(i.ast as AST.AST) : "something else")))]
          const what = expected.length === 1 ? expected[0] : `one of ${expected.join(", ")}`
          out.push({ path: at, message: `must be ${what} (got ${show(issue.actual)})` })
        }
        return
      }
      const keys = AST.isTypeLiteral(issue.ast) ? issue.ast.propertySignatures.map((p) => String(p.name)) : allowed
      for (const i of issues) walk(i, path, keys, out)
      return
    }
  }
}

/**
 * Turns an Effect Schema parse error into one line per problem, each naming the field path and
 * what is allowed, without the noise of union alternatives (the `undefined` of optional fields,
 * members whose `kind` did not match).
 * @example formatParseIssues(error.issue) // [{ path: "corpus.chunkTokens", message: "must be a positive multiple of 16 (got 0)" }]
 */
export const formatParseIssues = (issue: ParseResult.ParseIssue): FieldIssue[] => {
  const out: FieldIssue[] = []
  walk(issue, [], undefined, out)
  const seen = new Set<string>()
  return out.filter((i) => {
    const k = `${i.path}\u0000${i.message}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
