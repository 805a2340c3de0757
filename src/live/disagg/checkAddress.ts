import { UsageError } from "../../core/errors.js"

/**
 * A ZeroMQ endpoint moska binds or connects to: `ipc://PATH` (one host; PATH at most 107 bytes,
 * the Unix socket limit) or `tcp://HOST:PORT` with a port from 1 to 65535. Throws UsageError
 * (exit 2) naming the option otherwise.
 * @example checkAddress("--bind", "ipc:///tmp/moska.sock")
 */
export const checkAddress = (option: string, address: string): string => {
  const ipc = /^ipc:\/\/(.+)$/.exec(address)
  if (ipc !== null) {
    if (Buffer.byteLength(ipc[1] as string) > 107) throw new UsageError({ message: `${option}: an ipc:// path must be at most 107 bytes (got ${Buffer.byteLength(ipc[1] as string)})` })
    return address
  }
  const tcp = /^tcp:\/\/([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d+)$/.exec(address)
  const port = tcp === null ? NaN : Number(tcp[2])
  if (tcp === null || !(port >= 1 && port <= 65_535)) throw new UsageError({ message: `${option} must be ipc://PATH or tcp://HOST:PORT with a port from 1 to 65535 (got "${address}")` })
  return address
}
