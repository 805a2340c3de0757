import { createActor } from "xstate"
import { describe, expect, it } from "vitest"
import { requestMachine, requestRowOf } from "../../src/actors/requestMachine.js"
import type { RequestRow, RequestStatus } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"

const spec = { id: 7, arrivalNs: 100 as Ns, uniqueTokens: 4096, outputTokens: 3 }
const t = (n: number) => n as Ns

const start = () => {
  const rows: RequestRow[] = []
  const m = requestMachine.provide({ actions: { recordEnd: ({ context }, p: { status: RequestStatus }) => rows.push(requestRowOf(context, p.status)) } })
  const actor = createActor(m, { input: spec })
  actor.subscribe({ error: (e) => { throw e } })
  actor.start()
  return { actor, rows }
}

describe("requestMachine", () => {
  it("goes queued → admitted → prefill → decoding → done and records one completed row", () => {
    const { actor, rows } = start()
    expect(actor.getSnapshot().value).toBe("queued")
    actor.send({ type: "request.admitted", atNs: t(200) })
    expect(actor.getSnapshot().value).toBe("admitted")
    actor.send({ type: "request.prefillStarted", atNs: t(200) })
    expect(actor.getSnapshot().value).toBe("prefill")
    actor.send({ type: "request.firstToken", atNs: t(300) })
    expect(actor.getSnapshot().value).toBe("decoding")
    actor.send({ type: "request.completed", atNs: t(500), outputTokens: 3 })
    expect(actor.getSnapshot().status).toBe("done")
    expect(rows).toEqual([
      { requestId: 7, arrivalNs: 100, admittedNs: 200, firstTokenNs: 300, finishedNs: 500, uniqueTokens: 4096, requestedTokens: 3, outputTokens: 3, status: "completed", reason: null },
    ])
  })

  it("without prefill goes admitted → decoding and takes its first token time from the first decode step", () => {
    const { actor, rows } = start()
    actor.send({ type: "request.admitted", atNs: t(200) })
    actor.send({ type: "request.decodeStarted", atNs: t(200) })
    actor.send({ type: "request.firstToken", atNs: t(250) })
    actor.send({ type: "request.firstToken", atNs: t(260) })
    actor.send({ type: "request.completed", atNs: t(400), outputTokens: 3 })
    expect(rows[0]?.firstTokenNs).toBe(250)
  })

  it("admitted in the instant its prefill or decoding starts, goes there from queued in one event and records the admission", () => {
    const a = start()
    a.actor.send({ type: "request.prefillStarted", atNs: t(200) })
    expect(a.actor.getSnapshot().value).toBe("prefill")
    a.actor.send({ type: "request.firstToken", atNs: t(300) })
    a.actor.send({ type: "request.completed", atNs: t(500), outputTokens: 3 })
    expect(a.rows[0]).toMatchObject({ admittedNs: 200, firstTokenNs: 300, finishedNs: 500, status: "completed" })
    const b = start()
    b.actor.send({ type: "request.decodeStarted", atNs: t(210) })
    expect(b.actor.getSnapshot().value).toBe("decoding")
    b.actor.send({ type: "request.cancelled", atNs: t(400), outputTokens: 1 })
    expect(b.rows[0]).toMatchObject({ admittedNs: 210, status: "cancelled", outputTokens: 1 })
  })

  it("is rejected only while queued, with the reason", () => {
    const { actor, rows } = start()
    actor.send({ type: "request.rejected", atNs: t(100), reason: "AdmissionRejected: too big" })
    expect(actor.getSnapshot().value).toBe("rejected")
    expect(rows[0]).toMatchObject({ status: "rejected", reason: "AdmissionRejected: too big", admittedNs: null, outputTokens: 0 })
  })

  it("can be cancelled or fail from any live state, keeping the tokens it had", () => {
    const a = start()
    a.actor.send({ type: "request.admitted", atNs: t(200) })
    a.actor.send({ type: "request.decodeStarted", atNs: t(200) })
    a.actor.send({ type: "request.cancelled", atNs: t(900), outputTokens: 2 })
    expect(a.rows[0]).toMatchObject({ status: "cancelled", finishedNs: 900, outputTokens: 2 })
    const b = start()
    b.actor.send({ type: "request.failed", atNs: t(150), outputTokens: 0, reason: "GpuFailed" })
    expect(b.rows[0]).toMatchObject({ status: "failed", reason: "GpuFailed" })
  })

  it("ignores events that make no sense in its state and ends exactly once", () => {
    const { actor, rows } = start()
    actor.send({ type: "request.completed", atNs: t(10), outputTokens: 3 }) // not decoding yet
    expect(actor.getSnapshot().value).toBe("queued")
    actor.send({ type: "request.rejected", atNs: t(100), reason: "x" })
    actor.send({ type: "request.cancelled", atNs: t(200), outputTokens: 0 })
    expect(rows).toHaveLength(1)
  })
})
