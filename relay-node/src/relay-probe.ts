import { decodeRelayProbeRequest, MAX_RELAY_PROBE_BYTES, MAX_RELAY_PROBE_REQUEST_BYTES, RELAY_PROBE_PROTOCOL } from '@auralink/protocol'
import { PeerRateLimiter } from '@auralink/signalling'
import { lpStream } from '@libp2p/utils'
import type { ComponentLogger, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

/** Rate-limit buckets of peers not seen for this long are dropped. */
const IDLE_MS = 10 * 60 * 1000
/** The answer goes out in chunks of this size. */
const CHUNK_BYTES = 16 * 1024

export interface RelayProbeInit {
  /** Probes per peer per minute (a token bucket); past it the stream is reset. */
  perMinute: number
  /** Called once per refused probe. */
  onLimit?: (peer: PeerId) => void
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

export interface RelayProbeComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

/**
 * Serves `/auralink/relay-probe/1.0.0`: a peer sends one length-prefixed RelayProbeRequest and
 * gets that many bytes (at most MAX_RELAY_PROBE_BYTES, 1 MiB), then the stream closes, so it can
 * measure its throughput through this relay (the mesh node's relay score, docs/reputation.md).
 * A peer past `perMinute` probes, or asking for more than the cap, gets its stream reset.
 */
export function relayProbe (init: RelayProbeInit): (components: RelayProbeComponents) => Startable {
  return (components) => {
    const log = components.logger.forComponent('auralink:relay:probe')
    const limiter = new PeerRateLimiter(init.perMinute, IDLE_MS, init.now ?? Date.now)
    const chunk = new Uint8Array(CHUNK_BYTES)
    const serve = async (stream: Stream, peer: PeerId): Promise<void> => {
      const signal = AbortSignal.timeout(30_000)
      try {
        if (!limiter.take(peer.toString())) {
          init.onLimit?.(peer)
          stream.abort(new Error(`more than ${init.perMinute} probes per minute`))
          return
        }
        const lp = lpStream(stream, { maxDataLength: MAX_RELAY_PROBE_REQUEST_BYTES })
        const { bytes } = decodeRelayProbeRequest((await lp.read({ signal })).subarray())
        if (bytes > MAX_RELAY_PROBE_BYTES) throw new RangeError(`a probe of ${bytes} bytes asks for more than ${MAX_RELAY_PROBE_BYTES}`)
        const raw = lp.unwrap()
        for (let left = bytes; left > 0; left -= CHUNK_BYTES) {
          if (!raw.send(left >= CHUNK_BYTES ? chunk : chunk.subarray(0, left))) await raw.onDrain({ signal })
        }
        await raw.close({ signal })
      } catch (err) {
        log('probe from %p failed: %s', peer, (err as Error).message)
        stream.abort(err as Error)
      }
    }
    return {
      async start () {
        await components.registrar.handle(RELAY_PROBE_PROTOCOL, (stream, connection) => { void serve(stream, connection.remotePeer) }, { maxInboundStreams: 2 })
      },
      async stop () {
        await components.registrar.unhandle(RELAY_PROBE_PROTOCOL)
      }
    }
  }
}
