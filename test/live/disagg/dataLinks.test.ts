import { afterEach, describe, expect, it } from "vitest"
import { DataLinks, serveData } from "../../../src/live/disagg/dataLinks.js"
import { inProcessLink } from "../../../src/live/disagg/inProcessTransport.js"
import { WallClock } from "../../../src/live/wallClock.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe("DataLinks and serveData", () => {
  it("runs a link item as one exchange per layer, each carrying its share of the query and partial bytes", async () => {
    const link = inProcessLink("inproc:data")
    const seen: Array<{ t: string; reply: unknown; bytes: number }> = []
    link.hub.received.subscribe(({ message }) => seen.push({ t: message.header.t, reply: message.header.reply, bytes: message.frames[0]?.byteLength ?? -1 }))
    cleanups.push(serveData(link.hub))
    const clock = new WallClock()
    clock.start()
    cleanups.push(() => clock.stop())
    const replies: number[] = []
    const links = new DataLinks(clock, () => {
      const t = link.connect()
      t.received.subscribe(({ message }) => replies.push(message.frames[0]?.byteLength ?? -1))
      return t
    })
    cleanups.push(() => links.close())
    links.setPeers({ "shared-0": "inproc:data" })
    const r = await links.exchange({ to: "shared-0", sendBytes: 3000, replyBytes: 600, messages: 3 })
    expect(seen).toEqual([1, 2, 3].map(() => ({ t: "q", reply: 200, bytes: 1000 })))
    expect(replies).toEqual([200, 200, 200])
    expect(r.endNs).toBeGreaterThanOrEqual(r.startNs)
  })

  it("fails an exchange waiting on a shared worker whose address changed (it restarted), and uses the new one after", async () => {
    const dead = inProcessLink("inproc:dead") // nobody answers here
    const live = inProcessLink("inproc:live")
    cleanups.push(serveData(live.hub))
    const clock = new WallClock()
    clock.start()
    cleanups.push(() => clock.stop())
    const links = new DataLinks(clock, (a) => (a === "inproc:dead" ? dead : live).connect())
    cleanups.push(() => links.close())
    links.setPeers({ "shared-0": "inproc:dead" })
    const stuck = links.exchange({ to: "shared-0", sendBytes: 10, replyBytes: 0, messages: 1 }).catch((e: unknown) => e)
    links.setPeers({ "shared-0": "inproc:live" })
    expect(String(await stuck)).toContain("the data link to shared-0 closed")
    await expect(links.exchange({ to: "shared-0", sendBytes: 10, replyBytes: 4, messages: 2 })).resolves.toMatchObject({})
  })
})

describe("DataLinks.attend and serveData with a shared attention", () => {
  const request = { layer: 1, q: Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1), rows: Uint32Array.of(2, 0, 1, 2), units: [{ chunk: 3, kvHead: 1, rows: 3 }, { chunk: 0, kvHead: 0, rows: 1 }], splits: 1, rowTile: 16 as const, merge: true }

  it("carries the plan in the header and the rows as raw frames, and the partials back, value for value", async () => {
    const link = inProcessLink("inproc:attend")
    const got: unknown[] = []
    // partials computed from what arrived: o = the stacked query row, lse = its index, so a lost or misread frame shows
    cleanups.push(serveData(link.hub, async (req) => {
      got.push({ layer: req.layer, units: req.units, splits: req.splits, rowTile: req.rowTile, merge: req.merge })
      const D = req.q.length / 3
      const o = new Float32Array(req.rows.length * D)
      req.rows.forEach((r, i) => o.set(req.q.subarray(r * D, (r + 1) * D), i * D))
      return { o, lse: Float32Array.from(req.rows, (r) => r + 0.25) }
    }))
    const clock = new WallClock()
    const links = new DataLinks(clock, () => link.connect())
    cleanups.push(() => links.close())
    // asked before the address arrives: waits for it
    const reply = links.attend("shared-0", request)
    links.setPeers({ "shared-0": "inproc:attend" })
    const r = await reply
    expect(got).toEqual([{ layer: 1, units: request.units, splits: 1, rowTile: 16, merge: true }])
    expect([...r.o]).toEqual([3, 3.5, 4, 4.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5])
    expect([...r.lse]).toEqual([2.25, 0.25, 1.25, 2.25])
    expect(links.moved).toEqual({ sent: 12 * 4 + 4 * 4, received: 16 * 4 + 4 * 4 })
  })

  it("fails with the shared side's reason, or says a priced shared worker computes none", async () => {
    const failing = inProcessLink("inproc:failing")
    cleanups.push(serveData(failing.hub, () => Promise.reject(new Error("SharedServer: chunk 3 is outside the corpus's [0, 2)"))))
    const priced = inProcessLink("inproc:priced")
    cleanups.push(serveData(priced.hub))
    const links = new DataLinks(new WallClock(), (a) => (a === "inproc:failing" ? failing : priced).connect())
    cleanups.push(() => links.close())
    links.setPeers({ "shared-0": "inproc:failing", "shared-1": "inproc:priced" })
    await expect(links.attend("shared-0", request)).rejects.toThrow("shared-0 could not attend layer 1: SharedServer: chunk 3 is outside the corpus's [0, 2)")
    await expect(links.attend("shared-1", request)).rejects.toThrow("this shared worker runs no shared attention (start it with --executor webgpu)")
  })
})
