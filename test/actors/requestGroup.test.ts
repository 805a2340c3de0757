import { createActor } from "xstate"
import { describe, expect, it } from "vitest"
import { requestGroup } from "../../src/actors/requestGroup.js"
import { requestMachine, requestRowOf } from "../../src/actors/requestMachine.js"
import type { RequestRow, RequestStatus } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"

const t = (n: number) => n as Ns
const spec = (id: number) => ({ id, arrivalNs: t(100), uniqueTokens: 4096, outputTokens: 3 })

describe("requestGroup", () => {
  it("holds every request in its own actor system and counts those that reached a final state", () => {
    const rows: RequestRow[] = []
    const m = requestMachine.provide({ actions: { recordEnd: ({ context }, p: { status: RequestStatus }) => rows.push(requestRowOf(context, p.status)) } })
    const group = createActor(requestGroup).start()
    const a = createActor(m, { input: spec(1), parent: group }).start()
    const b = createActor(m, { input: spec(2), parent: group }).start()
    expect(a.system).toBe(group.system)
    expect(b.system).toBe(group.system)
    a.send({ type: "request.prefillStarted", atNs: t(200) })
    a.send({ type: "request.firstToken", atNs: t(300) })
    a.send({ type: "request.completed", atNs: t(500), outputTokens: 3 })
    expect(group.getSnapshot().context).toBe(1)
    b.send({ type: "request.rejected", atNs: t(100), reason: "full" })
    expect(group.getSnapshot().context).toBe(2)
    // rows as a request without a parent records them
    expect(rows.map((r) => [r.requestId, r.status, r.finishedNs])).toEqual([[1, "completed", 500], [2, "rejected", 100]])
    expect(group.getSnapshot().status).toBe("active")
  })

  it("passes a request's error to that request's observers, not to the group", () => {
    const m = requestMachine.provide({ actions: { recordEnd: () => { throw new Error("sink broke") } } })
    const group = createActor(requestGroup).start()
    const errors: unknown[] = []
    const groupErrors: unknown[] = []
    group.subscribe({ error: (e) => groupErrors.push(e) })
    const a = createActor(m, { input: spec(3), parent: group })
    a.subscribe({ error: (e) => errors.push(e) })
    a.start()
    a.send({ type: "request.rejected", atNs: t(100), reason: "full" })
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toContain("sink broke")
    expect(groupErrors).toHaveLength(0)
    expect(group.getSnapshot().context).toBe(0)
  })
})
