import { encodeRelayProbeRequest, MAX_RELAY_PROBE_BYTES, MAX_RELAY_PROBE_REQUEST_BYTES, RELAY_PROBE_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'

/** What one throughput probe of a relay measured. */
export interface RelayProbeResult {
  /** Bytes received. */
  bytes: number
  /** Bytes per second from the first byte to the last (the round trip before the first byte is left out). */
  bytesPerSecond: number
  /** Milliseconds from the request to the last byte. */
  ms: number
}

/**
 * Asks a connected relay for `bytes` bytes on `/auralink/relay-probe/1.0.0` and times them: the
 * throughput of this peer's link through the relay, for its score's bandwidth part. The time runs
 * from the first byte received to the last, so the request's round trip does not count; all the
 * bytes but the first chunk are counted over it. A probe that arrives in one chunk (a fast link
 * and a small probe) is timed over at least 1 ms: a lower bound on a link faster than that.
 * Rejects when the relay sends fewer bytes than asked, or more.
 */
export async function probeRelay (libp2p: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, bytes: number, options: AbortOptions = {}): Promise<RelayProbeResult> {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_RELAY_PROBE_BYTES) {
    throw new RangeError(`a relay probe is 1 to ${MAX_RELAY_PROBE_BYTES} bytes, got ${bytes}`)
  }
  options.signal?.throwIfAborted()
  const stream = await libp2p.dialProtocol(relay, RELAY_PROBE_PROTOCOL, { ...options, runOnLimitedConnection: false })
  const onAbort = (): void => { stream.abort(options.signal?.reason as Error) }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RELAY_PROBE_REQUEST_BYTES })
    const start = performance.now()
    await lp.write(encodeRelayProbeRequest({ bytes }), options)
    const raw = lp.unwrap()
    await raw.close(options)
    let received = 0
    let first: { at: number, bytes: number } | undefined
    let last = start
    for await (const chunk of raw) {
      received += chunk.byteLength
      last = performance.now()
      first ??= { at: last, bytes: chunk.byteLength }
      if (received > bytes) throw new Error(`relay sent more than the ${bytes} bytes asked for`)
    }
    options.signal?.throwIfAborted()
    if (received < bytes || first === undefined) throw new Error(`relay closed the probe after ${received} of ${bytes} bytes`)
    const seconds = Math.max(last - first.at, 1) / 1000
    return { bytes: received, bytesPerSecond: (first.bytes === received ? received : received - first.bytes) / seconds, ms: last - start }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}
