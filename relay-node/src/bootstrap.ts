import { multiaddr } from '@multiformats/multiaddr'
import { BOOTSTRAP_ATTEMPTS, BOOTSTRAP_DIAL_TIMEOUT_MS, BOOTSTRAP_FIRST_RETRY_MS, BOOTSTRAP_WALK_TIMEOUT_MS } from './constants.js'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What joining the relay network needs from the node. */
export interface BootstrapComponents {
  peerId: PeerId
  dial(addr: Multiaddr, options?: AbortOptions): Promise<Connection>
  /** The DHT's closest-peers walk: run once for the node's own id after the dials, to learn the other relays. */
  getClosestPeers(key: Uint8Array, options?: AbortOptions): AsyncIterable<unknown>
}

export interface BootstrapOutcome {
  /** Bootstrap relays dialled, by address. */
  connected: string[]
  /** Those given up on after every attempt, with the last reason. */
  failed: Array<{ addr: string, reason: string }>
  /** Why the walk after the dials ended early, if it did (its timeout included). */
  walkError?: string
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
  const onAbort = (): void => { clearTimeout(timer); reject(signal.reason) }
  signal.addEventListener('abort', onAbort, { once: true })
})

/**
 * Dials every bootstrap relay, each up to BOOTSTRAP_ATTEMPTS times with doubling waits between
 * (1 s, 2 s, 4 s, ...), each dial bounded by BOOTSTRAP_DIAL_TIMEOUT_MS; then, when one
 * connected, walks the DHT towards the node's own id (bounded by BOOTSTRAP_WALK_TIMEOUT_MS) so
 * that the relays the bootstrap ones know join the routing table too. Rejects only when `signal`
 * aborts (the node stopping).
 */
export async function joinRelayNetwork (components: BootstrapComponents, addrs: string[], options: Required<AbortOptions>): Promise<BootstrapOutcome> {
  const { signal } = options
  const outcome: BootstrapOutcome = { connected: [], failed: [] }
  await Promise.all(addrs.map(async (addr) => {
    let reason = ''
    for (let attempt = 0; attempt < BOOTSTRAP_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(BOOTSTRAP_FIRST_RETRY_MS * 2 ** (attempt - 1), signal)
      try {
        await components.dial(multiaddr(addr), { signal: AbortSignal.any([signal, AbortSignal.timeout(BOOTSTRAP_DIAL_TIMEOUT_MS)]) })
        outcome.connected.push(addr)
        return
      } catch (err) {
        signal.throwIfAborted()
        reason = (err as Error).message
      }
    }
    outcome.failed.push({ addr, reason })
  }))
  if (outcome.connected.length > 0) {
    const walk = AbortSignal.any([signal, AbortSignal.timeout(BOOTSTRAP_WALK_TIMEOUT_MS)])
    try {
      for await (const _ of components.getClosestPeers(components.peerId.toMultihash().bytes, { signal: walk })) {
        // the walk's side effect is the point: every relay it meets joins the routing table
      }
    } catch (err) {
      signal.throwIfAborted()
      outcome.walkError = walk.aborted ? `no end within ${BOOTSTRAP_WALK_TIMEOUT_MS} ms` : (err as Error).message
    }
  }
  return outcome
}
