import { upstreamErrorKind } from '@auralink/core'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { RELAY_DIAL_TIMEOUT_MS } from './constants.js'
import { RelayUnreachableError, WrongRelayIdError } from './errors.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A relay address as configured: its multiaddr, and its peer id when the address names one. */
export interface RelayAddress {
  /** The multiaddr, ending in `/p2p/<id>` when `peerId` is known. */
  addr: Multiaddr
  peerId?: PeerId
}

/**
 * Parses `relays[index]` of MeshNodeInit: a multiaddr (`/ip4/.../tcp/4001/ws/p2p/12D3Koo...`, or
 * the same without `/p2p/<id>`), or a WebSocket URL (`ws://host:port`, `wss://host[:port]`, no
 * path). A TypeError names the entry and says what is wrong.
 */
export function parseRelayAddress (relay: string | Multiaddr, index: number): RelayAddress {
  let addr: Multiaddr
  if (typeof relay === 'string' && /^wss?:\/\//i.test(relay)) {
    addr = urlToMultiaddr(relay, index)
  } else {
    try {
      addr = typeof relay === 'string' ? multiaddr(relay) : relay
      if (typeof relay !== 'string' && typeof relay?.getComponents !== 'function') throw new TypeError('not a Multiaddr')
    } catch (err) {
      throw new TypeError(`relays[${index}] is neither a multiaddr nor a ws:// or wss:// URL: ${JSON.stringify(String(relay))}`, { cause: err })
    }
  }
  const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (id == null) return { addr }
  try {
    return { addr, peerId: peerIdFromString(id) }
  } catch (err) {
    throw new TypeError(`relays[${index}]: /p2p/${id} is not a peer id, in ${addr.toString()}`, { cause: err })
  }
}

function urlToMultiaddr (url: string, index: number): Multiaddr {
  let u: URL
  try {
    u = new URL(url)
  } catch (err) {
    throw new TypeError(`relays[${index}] is not a valid URL: ${JSON.stringify(url)}`, { cause: err })
  }
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new TypeError(`relays[${index}]: a relay URL is ws://host:port or wss://host[:port], with no path, query or user, got ${JSON.stringify(url)}`)
  }
  const secure = u.protocol === 'wss:'
  const port = u.port !== '' ? u.port : secure ? '443' : '80'
  const host = u.hostname
  let where: string
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) where = `/ip4/${host}`
  else if (host.startsWith('[') && host.endsWith(']')) where = `/ip6/${host.slice(1, -1)}`
  else where = `/dns/${host}`
  return multiaddr(`${where}/tcp/${port}/${secure ? 'tls/' : ''}ws`)
}

/** `addr` without its `/p2p/<id>` part. */
export function withoutPeerId (addr: Multiaddr): Multiaddr {
  return multiaddr(addr.getComponents().filter((c) => c.name !== 'p2p'))
}

/**
 * Learns the peer id of the relay at each of `addrs` (addresses without `/p2p/`) from the Noise
 * handshake of one WebSocket connection, made by a short-lived libp2p node of its own (no
 * identify, no relay transport: nothing is reserved or announced on that connection), then hangs
 * up. Each entry is the PeerId, or the error of that dial (RelayUnreachableError naming the address).
 */
export async function learnRelayIds (addrs: Multiaddr[], options: AbortOptions = {}): Promise<Array<PeerId | Error>> {
  if (addrs.length === 0) return []
  const node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // the app named these addresses: plain ws:// to any of them is allowed (libp2p's browser default refuses it)
    connectionGater: { denyDialMultiaddr: () => false }
  })
  try {
    return await Promise.all(addrs.map(async (addr) => {
      const signal = AbortSignal.any([AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
      try {
        const conn = await node.dial(addr, { signal })
        const peer = conn.remotePeer
        await conn.close().catch(() => {})
        return peer
      } catch (err) {
        options.signal?.throwIfAborted()
        return new RelayUnreachableError(`relay ${addr.toString()}: ${describeDialError(err)}`, { cause: err })
      }
    }))
  } finally {
    await node.stop()
  }
}

/**
 * The error of a relay dial that failed because the relay proved another peer id than `expected`:
 * WrongRelayIdError with both ids (the actual one learnt by dialling the address once more without
 * the id); undefined for any other failure, and where the relay's id cannot be learnt.
 */
export async function wrongRelayId (err: unknown, addr: Multiaddr, expected: PeerId, options: AbortOptions = {}): Promise<WrongRelayIdError | undefined> {
  if (upstreamErrorKind(err) !== 'encryption-failed') return undefined
  const bare = withoutPeerId(addr)
  const [actual] = await learnRelayIds([bare], options).catch(() => [undefined])
  // not proven: the relay may have refused the handshake for another reason (shedding load)
  if (actual instanceof Error || actual === undefined || actual.equals(expected)) return undefined
  return new WrongRelayIdError(bare.toString(), expected.toString(), actual.toString(), { cause: err })
}

/**
 * A readable one-line reason for a failed relay dial, also for what a WebSocket failure throws:
 * an ErrorEvent (not an Error, no message) where the connection was refused or no WebSocket server
 * answered, and an AggregateError with an empty message from a refused dial.
 */
export function describeDialError (err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describeDialError))].join('; ')
  }
  if (!(err instanceof Error)) {
    if (err != null && typeof err === 'object' && (err as { type?: unknown }).type === 'error') {
      return 'the WebSocket connection failed (connection refused, no WebSocket server at that address, or a TLS error)'
    }
    return String(err)
  }
  const code = (err as NodeJS.ErrnoException).code
  if (upstreamErrorKind(err) === 'timeout') return `no answer within the dial timeout (${err.message})`
  return err.message !== '' ? err.message : code ?? err.name
}

/**
 * A dial failure that waiting will not cure soon: the WebSocket could not open (an ErrorEvent:
 * refused, no WebSocket server, a TLS failure), the host is unknown or unreachable, or the relay
 * proved another peer id (WrongRelayIdError). Timeouts, aborts, resets and failed handshakes (a
 * relay shedding load refuses so too) are not: create() waits for those until its timeout.
 */
export function isDefiniteDialFailure (err: unknown): boolean {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every(isDefiniteDialFailure)
  if (err instanceof WrongRelayIdError) return true
  if (!(err instanceof Error)) return err != null && typeof err === 'object' && (err as { type?: unknown }).type === 'error'
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
}
