import type { Scenario } from "./scenario.js"

/** The window of trace level `totals`, ns: the scenario's `traceWindowMs` (absent: 1 s). */
export const traceWindowNs = (scenario: Pick<Scenario, "traceWindowMs">): number => (scenario.traceWindowMs ?? 1000) * 1_000_000
