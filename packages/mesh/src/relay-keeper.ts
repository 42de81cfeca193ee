import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_RELAY_CHECK_INTERVAL_MS, MAX_RELAY_BACKOFF_MS } from './constants.js'
import type { Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type RelayState = 'connecting' | 'connected' | 'reserved' | 'down'

export interface RelayStatus {
  readonly addr: Multiaddr
  readonly peerId: PeerId
  state: RelayState
  /** Consecutive failed dials. */
  failures: number
  lastError?: string
}

export interface RelayKeeperInit {
  relays: Array<string | Multiaddr>
  /** @default 2000 */
  checkIntervalMs?: number
}

export interface RelayKeeperEvents {
  reserved(relay: RelayStatus): void
  lost(relay: RelayStatus): void
}

/**
 * Keeps this node connected to its configured relays: redials lost ones with exponential
 * backoff (2 s up to 30 s) and tracks which hold a reservation for us (seen as a
 * `/p2p/<relay>/p2p-circuit` address among our own). The circuit relay transport makes the
 * reservations themselves whenever a relay connection comes up.
 */
export class RelayKeeper {
  readonly relays: RelayStatus[]
  private readonly libp2p: Libp2p
  private readonly log: Logger
  private readonly interval: number
  private readonly events: RelayKeeperEvents
  private timer?: ReturnType<typeof setTimeout>
  private readonly nextTry = new Map<RelayStatus, number>()
  private running = false
  private readonly onUpdate = (): void => { this.refreshStates() }

  constructor (libp2p: Libp2p, init: RelayKeeperInit, events: RelayKeeperEvents, log: Logger) {
    this.libp2p = libp2p
    this.log = log
    this.events = events
    this.interval = init.checkIntervalMs ?? DEFAULT_RELAY_CHECK_INTERVAL_MS
    this.relays = init.relays.map((r, i) => ({ ...parseRelayAddr(r, i), state: 'down' as RelayState, failures: 0 }))
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.libp2p.addEventListener('self:peer:update', this.onUpdate)
    this.libp2p.addEventListener('connection:close', this.onUpdate)
    void this.tick()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.libp2p.removeEventListener('self:peer:update', this.onUpdate)
    this.libp2p.removeEventListener('connection:close', this.onUpdate)
  }

  /** Relays we have a live connection to, reserved ones first. */
  connected (): RelayStatus[] {
    return this.relays
      .filter((r) => r.state === 'reserved' || r.state === 'connected')
      .sort((a, b) => (a.state === 'reserved' ? 0 : 1) - (b.state === 'reserved' ? 0 : 1))
  }

  /** Resolves once at least one relay holds a reservation for us; rejects on abort. */
  async waitForReservation (signal: AbortSignal): Promise<void> {
    while (!this.relays.some((r) => r.state === 'reserved')) {
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        const done = (): void => { clearTimeout(t); signal.removeEventListener('abort', done); this.libp2p.removeEventListener('self:peer:update', done); resolve() }
        const t = setTimeout(done, 250)
        signal.addEventListener('abort', done, { once: true })
        this.libp2p.addEventListener('self:peer:update', done, { once: true })
      })
    }
  }

  private refreshStates (): void {
    const own = this.libp2p.getMultiaddrs().map((a) => a.toString())
    for (const relay of this.relays) {
      const before = relay.state
      const connected = this.libp2p.getConnections(relay.peerId).some((c) => c.status === 'open')
      const reserved = connected && own.some((a) => a.includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`))
      if (reserved) relay.state = 'reserved'
      else if (connected) relay.state = 'connected'
      else if (relay.state !== 'connecting') relay.state = 'down'
      if (before !== 'reserved' && relay.state === 'reserved') {
        this.log('reservation held on relay %p', relay.peerId)
        this.events.reserved(relay)
      } else if (before === 'reserved' && relay.state !== 'reserved') {
        this.log('reservation lost on relay %p (%s)', relay.peerId, relay.state)
        this.events.lost(relay)
      }
    }
  }

  private async tick (): Promise<void> {
    if (!this.running) return
    this.refreshStates()
    const now = Date.now()
    await Promise.all(this.relays.filter((r) => r.state === 'down' && (this.nextTry.get(r) ?? 0) <= now).map(async (relay) => {
      relay.state = 'connecting'
      try {
        await this.libp2p.dial(relay.addr, { signal: AbortSignal.timeout(10_000) })
        relay.failures = 0
        delete relay.lastError
        relay.state = 'connected'
      } catch (err) {
        relay.failures++
        relay.lastError = describeError(err)
        relay.state = 'down'
        const backoff = Math.min(MAX_RELAY_BACKOFF_MS, this.interval * 2 ** Math.min(relay.failures - 1, 10))
        this.nextTry.set(relay, Date.now() + backoff)
        this.log('relay %p unreachable (%s), next try in %d ms', relay.peerId, relay.lastError, backoff)
      }
    }))
    this.refreshStates()
    if (this.running) this.timer = setTimeout(() => { void this.tick() }, this.interval)
  }
}

/** Parses `relays[index]` of MeshNodeInit: a multiaddr ending in /p2p/<relay peer id>; TypeError naming it otherwise. */
export function parseRelayAddr (relay: string | Multiaddr, index: number): { addr: Multiaddr, peerId: PeerId } {
  let addr: Multiaddr
  try {
    addr = typeof relay === 'string' ? multiaddr(relay) : relay
  } catch (err) {
    throw new TypeError(`relays[${index}] is not a multiaddr: ${JSON.stringify(String(relay))}`, { cause: err })
  }
  const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (id == null) {
    throw new TypeError(`relays[${index}] must end with /p2p/<relay peer id>, got ${addr.toString()}`)
  }
  return { addr, peerId: peerIdFromString(id) }
}

/** A readable one-line reason, also for errors with an empty message (AggregateError from a refused dial). */
export function describeError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describeError))].join('; ')
  }
  const code = (err as NodeJS.ErrnoException).code
  return err.message !== '' ? err.message : code ?? err.name
}
