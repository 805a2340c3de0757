/**
 * Maps failures to one-line messages and exit codes: 2 for bad input (scenario, trace, usage),
 * 1 for anything else. Tagged errors from src/core/errors.ts carry the fields used here.
 */
const BAD_INPUT = new Set(["ScenarioInvalid", "InputFileInvalid", "UsageError", "CapacityExceeded"])

export const exitCodeOf = (err: unknown): number =>
  typeof err === "object" && err !== null && "_tag" in err && BAD_INPUT.has(String((err as { _tag: unknown })._tag)) ? 2 : 1

export const messageOf = (err: unknown): string => {
  if (typeof err !== "object" || err === null) return String(err)
  const e = err as Record<string, unknown>
  switch (e._tag) {
    case "ScenarioInvalid":
      return (e.issues as Array<{ path: string; message: string }>).map((i) => `${e.source}: ${i.path}: ${i.message}`).join("\n")
    case "InputFileInvalid":
      return `${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`
    case "CapacityExceeded":
      return `${e.what} needs ${e.needBytes} bytes but only ${e.capacityBytes} are available`
    default:
      return typeof e.message === "string" && e.message !== "" ? e.message : String(e._tag ?? err)
  }
}
