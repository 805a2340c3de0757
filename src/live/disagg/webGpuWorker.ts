import type { CostModel } from "../../core/costModel.js"
import type { GpuContext } from "../../gpu/device.js"
import { LlamaDecoder, type DecoderConfig } from "../../gpu/decoder/llamaDecoder.js"
import type { SharedReply, SharedRequest } from "../../gpu/decoder/sharedPort.js"
import { SharedServer } from "../../gpu/decoder/sharedServer.js"
import type { WallClock } from "../wallClock.js"
import { warmDecoder } from "../warmDecoder.js"
import { WebGpuExecutor, type RequestInput } from "../webGpuExecutor.js"
import type { DataLinks, WireFormat } from "./dataLinks.js"
import type { WireStep } from "./protocol.js"
import type { WorkerRuntime } from "./runWorker.js"
import { ServedSharedExecutor } from "./servedSharedExecutor.js"

export interface WebGpuWorkerOptions {
  readonly gpu: GpuContext
  readonly role: "unique" | "shared"
  readonly workerId: string
  /** The colocated decoder's config for the scenario (no sharedPort): both halves build from it. */
  readonly decoder: DecoderConfig
  /** Shared workers of the scenario: unique-i gets its shared attention from shared-(i mod this). */
  readonly sharedWorkers: number
  /** How the unique worker's query rows and partial outputs cross the data link. */
  readonly wire: WireFormat
  readonly clock: WallClock
  readonly links: DataLinks | null
  readonly modelOf: (workerId: string) => CostModel
  /** What WebGpuExecutor needs besides the decoder. */
  readonly executor: { readonly layers: number; readonly qHeads: number; readonly kvHeads: number; readonly vocab: number; readonly seed: number; readonly prefillChunkTokens: number; readonly onToken?: (requestId: number, index: number, token: number) => void }
  readonly log: (line: string) => void
}

/**
 * A WebGPU worker of a disaggregated deployment, set up on its device. Unique: the scenario's
 * MoSKA decoder, each layer's shared attention through the data link to its shared worker
 * (`DataLinks.attend`; with `decoder.sharedPortSteps` "decode" only decode steps', prefill attending
 * the decoder's own corpus replica, else every step's and no corpus K/V here), warmed up (which compiles the shared worker's kernel
 * too), running whole prefill and decode steps (WebGpuExecutor). Its link items complete once the
 * items before them have ended, with the bytes its decoder actually moved since the last one (the
 * transfers ran inside the step). Shared: a SharedServer over the same corpus answering the unique workers' layers; its own
 * engine items are bookkeeping (ServedSharedExecutor).
 * @example const runtime = await webGpuWorker({ gpu, role: "unique", workerId: "unique-0", decoder: cfg, sharedWorkers: 1, wire: "f16", clock, links, modelOf, executor, log })
 */
export const webGpuWorker = async (o: WebGpuWorkerOptions): Promise<WorkerRuntime> => {
  const t0 = process.hrtime.bigint()
  const since = (): string => `${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`
  if (o.role === "shared") {
    const server = await SharedServer.create(o.gpu, o.decoder)
    let servedNs = 0
    let totalNs = 0
    const attend = async (req: SharedRequest): Promise<SharedReply> => {
      const s = process.hrtime.bigint()
      try {
        return await server.attend(req)
      } finally {
        const ns = Number(process.hrtime.bigint() - s)
        servedNs += ns
        totalNs += ns
      }
    }
    o.log(`moska worker: ${o.workerId} holds the shared corpus (${(server.bytes / 2 ** 20).toFixed(1)} MiB) after ${since()}`)
    const executor = new ServedSharedExecutor(o.clock, o.modelOf, () => {
      const n = servedNs
      servedNs = 0
      return n
    })
    const close = async (): Promise<void> => {
      const ph = server.phaseNs
      const sec = (ns: number): string => `${(ns / 1e9).toFixed(3)} s`
      o.log(`moska worker: ${o.workerId} answered ${server.requests} layer requests in ${sec(totalNs)} (plan and encode ${sec(ph.encode)}, submit ${sec(ph.scopes)}, readback wait ${sec(ph.readback)}; at most ${server.maxInFlight} in flight)`)
      server.destroy()
    }
    return { executor, attend, close }
  }
  const links = o.links
  if (links === null) throw new Error("a webgpu unique worker needs data links to its shared worker (the coordinator runs --links real)")
  const index = Number(/^unique-(\d+)$/.exec(o.workerId)?.[1] ?? Number.NaN)
  if (!Number.isInteger(index)) throw new Error(`a unique worker's id is unique-N (got ${o.workerId})`)
  if (o.sharedWorkers < 1) throw new Error("the scenario has no shared workers to attend the corpus")
  const to = `shared-${index % o.sharedWorkers}`
  const decoder = await LlamaDecoder.create(o.gpu, { ...o.decoder, sharedPort: (req) => links.attend(to, req, o.wire) })
  const warmNs = await warmDecoder(decoder, o.decoder.slots)
  const where = (o.decoder.sharedPortSteps === "decode" ? `decode steps' shared attention on ${to}, prefill's on the local corpus replica` : `shared attention on ${to}`) + (o.decoder.microBatches === 2 ? `, 2 micro-batches per decode step` : "")
  o.log(`moska worker: ${o.workerId} decoder ready (${(decoder.bytes / 2 ** 20).toFixed(1)} MiB; ${where}; ${o.wire} on the wire; warm-up ${(warmNs / 1e9).toFixed(1)} s) after ${since()}`)
  // the warm-up's traffic is not the run's
  links.moved.sent = 0
  links.moved.received = 0
  // a served request's client input arrives with its prefill step; its sampled tokens go back with each step's done
  const inputs = new Map<number, RequestInput>()
  let sampled: Array<[number, number, number]> = []
  const onToken = o.executor.onToken
  const executor = new WebGpuExecutor({
    clock: o.clock, decoder, modelOf: o.modelOf, temperature: 0, ...o.executor,
    onToken: (id, index, token) => {
      sampled.push([id, index, token])
      onToken?.(id, index, token)
    },
    requestInput: (id) => {
      const v = inputs.get(id)
      inputs.delete(id)
      return v
    },
  }, o.decoder.slots)
  const stepSent = (step: WireStep): void => {
    for (const r of step.requests) if (r.input !== undefined) inputs.set(r.id, r.input)
  }
  const takeTokens = (): Array<[number, number, number]> => {
    const t = sampled
    sampled = []
    return t
  }
  const seen = { sent: 0, received: 0 }
  const link = async (l: { readonly sendBytes: number }): Promise<{ startNs: number; endNs: number; bytes: number }> => {
    // The step this link item belongs to was submitted before it: its transfers are counted once it ends.
    await executor.settled()
    const now = o.clock.now()
    const toShared = l.sendBytes > 0
    const bytes = toShared ? links.moved.sent - seen.sent : links.moved.received - seen.received
    if (toShared) seen.sent = links.moved.sent
    else seen.received = links.moved.received
    return { startNs: now, endNs: now, bytes }
  }
  const close = async (): Promise<void> => {
    const f = executor.facts()
    const mib = (b: number): string => (b / 2 ** 20).toFixed(3)
    o.log(`moska worker: ${o.workerId} ran ${f.liveSteps} steps: GPU busy ${Number(f.gpuBusyS).toFixed(3)} s, waited on ${to} ${Number(f.remoteWaitS).toFixed(3)} s, moved ${mib(links.moved.sent)} MiB of query rows out and ${mib(links.moved.received)} MiB of partials back`)
    await executor.close()
  }
  return { executor, link, close, stepSent, takeTokens }
}
