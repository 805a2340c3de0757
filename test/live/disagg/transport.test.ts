import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { firstValueFrom, filter, take, toArray } from "rxjs"
import { Dealer } from "zeromq"
import { afterEach, describe, expect, it } from "vitest"
import { HUB, type Received, type Transport } from "../../../src/core/transport.js"
import { inProcessLink } from "../../../src/live/disagg/inProcessTransport.js"
import { ZmqTransport } from "../../../src/live/disagg/zmqTransport.js"

/** Bytes that differ at every offset (a zeroed buffer would hide a frame that arrived empty or shifted). */
const pattern = (n: number, salt: number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7 + (i >> 8)) & 0xff
  return b
}

const opened: Transport[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Pair {
  hub: Transport
  spokes: Transport[]
}

const ADAPTERS: Record<string, () => Promise<Pair>> = {
  "in-process": async () => {
    const link = inProcessLink("inproc:test")
    const spokes = [link.connect(), link.connect()]
    opened.push(link.hub, ...spokes)
    return { hub: link.hub, spokes }
  },
  "ZeroMQ over ipc://": async () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-zmq-"))
    dirs.push(dir)
    const address = `ipc://${join(dir, "hub.sock")}`
    const hub = await ZmqTransport.bind(address)
    const spokes = [ZmqTransport.connect(address), ZmqTransport.connect(address)]
    opened.push(hub, ...spokes)
    return { hub, spokes }
  },
}

for (const [name, make] of Object.entries(ADAPTERS)) {
  describe(`Transport: ${name}`, () => {
    it("delivers header and raw frames byte for byte, and routes each reply to the spoke that asked", async () => {
      const { hub, spokes } = await make()
      // the hub echoes every message back to its sender with the sender's peer id added
      hub.received.subscribe(({ peer, message }) => hub.send(peer, { header: { ...message.header, t: "echo", peer }, frames: message.frames }))
      const replies = spokes.map((s) => firstValueFrom(s.received))
      const sent = [pattern(16_384, 1), pattern(1 << 20, 2)]
      spokes[0]?.send(HUB, { header: { t: "ask", from: 0 }, frames: sent })
      spokes[1]?.send(HUB, { header: { t: "ask", from: 1 }, frames: [pattern(3, 9)] })
      const [a, b] = (await Promise.all(replies)) as [Received, Received]
      expect(a.peer).toBe(HUB)
      expect(a.message.header.from).toBe(0)
      expect(b.message.header.from).toBe(1)
      expect(a.message.header.peer).not.toBe(b.message.header.peer)
      expect(a.message.frames.map((f) => Buffer.from(f).equals(Buffer.from(sent[a.message.frames.indexOf(f)] as Uint8Array)))).toEqual([true, true])
      expect(a.message.frames.map((f) => f.byteLength)).toEqual([16_384, 1 << 20])
      expect([...(b.message.frames[0] as Uint8Array)]).toEqual([...pattern(3, 9)])
    })

    it("keeps the order of many messages sent back to back", async () => {
      const { hub, spokes } = await make()
      const got = firstValueFrom(hub.received.pipe(take(200), toArray()))
      for (let i = 0; i < 200; i++) spokes[0]?.send(HUB, { header: { t: "n", i }, frames: [pattern(64, i)] })
      const ids = (await got).map((r) => r.message.header.i)
      expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i))
    })
  })
}

describe("ZmqTransport", () => {
  it("ignores a message whose header frame is not one of ours and keeps the link up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-zmq-"))
    dirs.push(dir)
    const address = `ipc://${join(dir, "hub.sock")}`
    const hub = await ZmqTransport.bind(address)
    opened.push(hub)
    const stray = new Dealer({ linger: 0 })
    stray.connect(address)
    const next = firstValueFrom(hub.received.pipe(filter((r) => r.message.header.t === "ok")))
    await stray.send(["not json", "x"])
    await stray.send([JSON.stringify({ no: "t" })])
    await stray.send([JSON.stringify({ t: "ok" })])
    expect((await next).message.frames).toEqual([])
    stray.close()
  })
})
