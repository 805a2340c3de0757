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
