/**
 * Maps failures to one-line messages and exit codes: 2 for bad input (scenario, trace, usage),
 * 1 for anything else. Tagged errors from src/core/errors.ts carry the fields used here.
 */
// GpuUnavailable: no adapter for the requested backend is the caller's set-up to fix, as a missing file is.
const BAD_INPUT = new Set(["ScenarioInvalid", "InputFileInvalid", "UsageError", "CapacityExceeded", "GpuUnavailable"])

/** Most problems listed for one scenario; the rest are counted ("… and 9,980 more problems"). */
export const MAX_LISTED_ISSUES = 20

export const exitCodeOf = (err: unknown): number =>
  typeof err === "object" && err !== null && "_tag" in err && BAD_INPUT.has(String((err as { _tag: unknown })._tag)) ? 2 : 1

/** Line breaks and other control characters inside one problem's text would split or garble its line. */
const oneLine = (s: unknown): string => String(s).replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ")

export const messageOf = (err: unknown): string => {
  if (typeof err !== "object" || err === null) return String(err)
  const e = err as Record<string, unknown>
  switch (e._tag) {
    case "ScenarioInvalid": {
      const issues = e.issues as Array<{ path: string; message: string }>
      const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `${oneLine(e.source)}: ${oneLine(i.path)}: ${oneLine(i.message)}`)
      const more = issues.length - listed.length
      if (more > 0) listed.push(`${oneLine(e.source)}: … and ${more.toLocaleString("en-US")} more problems (fix these first, then check again with moska scenario check)`)
      return listed.join("\n")
    }
    case "InputFileInvalid":
      return oneLine(`${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`)
    case "CapacityExceeded":
      return oneLine(`${e.what} needs ${e.needBytes} bytes but only ${e.capacityBytes} are available`)
    case "TraceWriteFailed":
      return oneLine(`${e.file}: cannot write the trace database (${e.message})`)
    default:
      return typeof e.message === "string" && e.message !== "" ? e.message : String(e._tag ?? err)
  }
}
