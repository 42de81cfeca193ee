import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import type { DirectoryRequestFields, DirectoryResponseMessage } from '@auralink/protocol'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'

/**
 * A tiny directory client for tests (the production one lives in @auralink/mesh): one request
 * on a new stream, one response, then close. Every wait is bounded by `timeoutMs`.
 */
export async function directoryRequest (client: Libp2p, server: PeerId, request: DirectoryRequestFields, timeoutMs = 5000): Promise<DirectoryResponseMessage> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await client.dialProtocol(server, DIRECTORY_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest(request), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal })
    return response
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

export type RawOutcome = { response: DirectoryResponseMessage } | { closed: string }

/**
 * Writes `bytes` as they are (no length prefix added) on a new stream, optionally closes the
 * writable end, and reads one length-prefixed response. `closed` names how the stream ended
 * when no response came.
 */
export async function rawExchange (client: Libp2p, server: PeerId, bytes: Uint8Array, options: { closeWrite?: boolean, timeoutMs?: number } = {}): Promise<{ outcome: RawOutcome, stream: Stream }> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 5000)
  const stream = await client.dialProtocol(server, DIRECTORY_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
  let outcome: RawOutcome
  try {
    if (bytes.byteLength > 0 && !stream.send(bytes)) await stream.onDrain({ signal })
    if (options.closeWrite === true) await stream.close({ signal })
    outcome = { response: decodeDirectoryResponse((await lp.read({ signal })).subarray()) }
  } catch (err) {
    if (signal.aborted) throw new Error(`no response and no close within ${options.timeoutMs ?? 5000} ms`, { cause: err })
    outcome = { closed: (err as Error).name }
  }
  return { outcome, stream }
}

/** Resolves once `stream` is closed or reset at both ends; rejects after `timeoutMs`. */
export async function streamEnded (stream: Stream, timeoutMs = 5000): Promise<string> {
  if (stream.status !== 'open' && stream.status !== 'closing') return stream.status
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`stream still ${stream.status} after ${timeoutMs} ms`)) }, timeoutMs)
    stream.addEventListener('close', () => {
      clearTimeout(timer)
      resolve(stream.status)
    }, { once: true })
  })
}
