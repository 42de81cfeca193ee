import { PING_PROTOCOL } from '@libp2p/ping'
import { Uint8ArrayList } from 'uint8arraylist'
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'

/** Bytes of one ping, as the libp2p ping protocol has them. */
const PING_BYTES = 32

/**
 * One round trip of the libp2p ping protocol (`/ipfs/ping/1.0.0`) to a connected relay, in ms,
 * on a stream of its own that it closes cleanly.
 *
 * Why not `libp2p.services.ping.ping()`: against a relay-node process, the ping service's own
 * client closes its read end as soon as the pong arrives, so the relay's FIN is never seen and the
 * stream stays open on our side; the next ping on that connection then fails with "Too many
 * outbound protocol streams for protocol /ipfs/ping/1.0.0 - 2/1" (the service allows one), and
 * so does every later one. Here the pong is read, our write end closed, and the relay's FIN
 * awaited (bounded by the same signal), so each ping's stream is gone before the next starts.
 */
export async function pingRelay (libp2p: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, options: AbortOptions = {}): Promise<number> {
  options.signal?.throwIfAborted()
  const stream = await libp2p.dialProtocol(relay, PING_PROTOCOL, { ...options, runOnLimitedConnection: false })
  try {
    const data = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const received = new Uint8ArrayList()
    const start = Date.now()
    stream.send(data)
    let rtt: number | undefined
    const onAbort = (): void => { stream.abort(options.signal?.reason as Error) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const chunk of stream) {
        received.append(chunk)
        if (received.byteLength >= PING_BYTES) {
          rtt = Date.now() - start
          break
        }
      }
      options.signal?.throwIfAborted()
      if (rtt === undefined) throw new Error(`relay closed the ping stream after ${received.byteLength} of ${PING_BYTES} bytes`)
      const echoed = received.subarray(0, PING_BYTES)
      if (received.byteLength !== PING_BYTES || !echoed.every((b, i) => b === data[i])) {
        throw new Error('relay answered the ping with other bytes than it was sent')
      }
      // our FIN ends the relay's echo loop; it closes, and the stream is gone on both sides. Wait
      // for that (the ping service allows two ping streams per connection, one of them libp2p's
      // connection monitor's: see mesh-node.ts); a relay that never
      // closes has its stream reset when the signal fires (onAbort), the answer still counts
      await stream.close(options)
      if (stream.status === 'open' || stream.status === 'closing') {
        await new Promise<void>((resolve) => {
          stream.addEventListener('close', () => { resolve() }, { once: true })
          options.signal?.addEventListener('abort', () => { resolve() }, { once: true })
        })
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
    return rtt
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
