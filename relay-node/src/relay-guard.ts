import { AsyncLocalStorage } from 'node:async_hooks'
import { PeerRateLimiter } from '@auralink/signalling'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { overriding } from './override.js'
import { multiaddrAddressKey } from './socket-guard.js'
import type { ConnectionGater, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Rate-limit buckets of peers not seen for this long are dropped. */
const IDLE_MS = 10 * 60 * 1000

/**
 * The abuse limits the relay counts in `auralink_relay_limit_hits_total{limit}`: the relay's
 * own (`reservation_rate`, `max_reservations`, `reservations_per_address`, `circuits_per_peer`,
 * `circuit_rate`, `anonymous_circuits`), the directory's (`directory_requests`,
 * `directory_writes`, `directory_names_per_key`) and the throughput probe's (`probe_rate`).
 */
export type RelayLimit = 'reservation_rate' | 'max_reservations' | 'reservations_per_address' | 'circuits_per_peer' | 'circuit_rate' | 'anonymous_circuits' |
'directory_requests' | 'directory_writes' | 'directory_names_per_key' | 'probe_rate'

/** Options of `relayGuard()`: rates and caps. */
export interface RelayGuardInit {
  /** Reservation requests per peer per minute. */
  reservationRateLimit: number
  /** Reservations held at once (the circuit relay server refuses past it; the guard only counts). */
  maxReservations: number
  /**
   * Reservations held at once by peers at one remote address (an IPv4 address, an IPv6 /64);
   * a new one past it: PERMISSION_DENIED. Refreshes are never refused by it.
   */
  maxReservationsPerAddress: number
  /** Milliseconds a reservation outlives its peer's last connection to the relay; then it is dropped. */
  reservationGraceMs: number
  /** Circuits open at once with one peer as source or destination. */
  maxCircuitsPerPeer: number
  /** New circuits per source peer per minute. */
  circuitRateLimit: number
  /** Circuits open at once, relay-wide, where neither end holds a name here. */
  maxAnonymousCircuits: number
  /** Milliseconds since an end's key first registered the name it holds here before that end counts as named. */
  namedMinAgeMs: number
  /** Bytes and milliseconds for a circuit where an end holds a name here. */
  relayDataLimit: number
  relayDurationLimitMs: number
  /** Bytes and milliseconds for a circuit where neither end holds a name here (the smaller of these and the above apply). */
  relayDataLimitAnonymous: number
  relayDurationLimitAnonymousMs: number
  /** Called once per refusal (and once per reservation the server will refuse as full). */
  onLimit?: (limit: RelayLimit, peer: PeerId) => void
  /** Called once per reservation the guard drops (its peer stayed disconnected past the grace). */
  onDrop?: (peer: PeerId, reason: ReservationDropReason) => void
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/** Why the guard dropped a reservation: `disconnected` (no connection left past the grace). */
export type ReservationDropReason = 'disconnected'

/** The libp2p events the guard listens to (`libp2p` itself): `detail` is the peer. */
export interface PeerEvents {
  addEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void
  removeEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void
}

/** What the guard reads from the running node, attached once libp2p is built. */
export interface RelayGuardComponents {
  /** The circuit relay server's reservations (`libp2p.services.relay.reservations`). */
  reservations: {
    size: number
    /** Whether `peer` holds a reservation. */
    has(peer: PeerId): boolean
    /** The reservation of `peer`, if any. */
    get(peer: PeerId): RelayReservation | undefined
    /** Every reservation. */
    entries(): Iterable<[PeerId, RelayReservation]>
  }
  /**
   * Whether `peer` holds a valid name at this relay's directory, first registered there at least
   * `minAgeMs` ago (`directory.holdsName(peer, { minAgeMs })`).
   */
  holdsName(peer: PeerId, options: { minAgeMs: number }): Promise<boolean>
  /** The remote addresses of the open connections with `peer` (from `libp2p.getConnections(peer)`); none: not connected. */
  remoteAddresses(peer: PeerId): Multiaddr[]
  /** `peer:connect` and `peer:disconnect` (libp2p fires the latter when the last connection with a peer closes). */
  events: PeerEvents
}

/** The part of a libp2p registrar the guard wraps. */
export interface HopRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: object): Promise<void>
}

/** Circuits open now. */
export interface CircuitCounts { total: number, anonymous: number }

/** Caps on circuit relay reservations and circuits per peer (`relayGuard()`). */
export interface RelayGuard {
  /** Merge into libp2p's `connectionGater`. */
  readonly gater: Required<Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'>>
  /** Wraps the registrar the circuit relay server registers its hop handler with (see `relayServer` in node.ts). */
  wrapRegistrar<R extends HopRegistrar>(registrar: R): R
  /** Starts using the node: reads its reservations and names, watches connections (drops reservations past the grace). */
  attach(components: RelayGuardComponents): void
  /** Relayed circuits open now. */
  circuits(): CircuitCounts
  /** Stops watching connections and clears the guard's timers. Idempotent. */
  stop(): void
}

/** Makes the relay guard; the node attaches it once libp2p exists. */
export function relayGuard (init: RelayGuardInit): RelayGuard {
  return new Guard(init)
}

/**
 * One hop stream being handled: set up by the registrar wrapper, read by the gater. Emptied when
 * the handler returns: every timer the server arms in the handler keeps this context (the
 * AsyncLocalStorage store) until it fires, a reservation's TTL timer for hours, and must not
 * keep the stream and its muxer with it.
 */
interface HopContext { stream?: Stream, done?: () => void }

/** Circuits to one destination being set up now, all of one kind (see `limitsFor`). */
interface Setup { anonymous: boolean, count: number, idle: Promise<void>, release: () => void }

class Guard implements RelayGuard {
  readonly gater: RelayGuard['gater']
  private readonly init: RelayGuardInit
  private readonly reservationRate: PeerRateLimiter
  private readonly circuitRate: PeerRateLimiter
  private readonly hop = new AsyncLocalStorage<HopContext>()
  private readonly perPeer = new Map<string, number>()
  private readonly setups = new Map<string, Setup>()
  private total = 0
  private anonymous = 0
  private components?: RelayGuardComponents
  private readonly now: () => number
  /** Reserved peers with no connection left: since when, and the timer that checks them again. */
  private readonly away = new Map<string, { since: number, timer: ReturnType<typeof setTimeout> }>()
  private sweep?: ReturnType<typeof setInterval>
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { this.forget(evt.detail.toString()) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.checkAway(evt.detail) }

  constructor (init: RelayGuardInit) {
    this.init = init
    const now = init.now ?? Date.now
    this.now = now
    this.reservationRate = new PeerRateLimiter(init.reservationRateLimit, IDLE_MS, now)
    this.circuitRate = new PeerRateLimiter(init.circuitRateLimit, IDLE_MS, now)
    this.gater = {
      denyInboundRelayReservation: (peer) => this.denyReservation(peer),
      denyOutboundRelayedConnection: async (source, destination) => this.denyCircuit(source, destination)
    }
  }

  attach (components: RelayGuardComponents): void {
    this.stop()
    this.components = components
    components.events.addEventListener('peer:connect', this.onConnect)
    components.events.addEventListener('peer:disconnect', this.onDisconnect)
    // the events cover most; the sweep catches a reservation made while its connection was closing
    this.sweep = setInterval(() => {
      for (const [peer] of components.reservations.entries()) this.checkAway(peer)
    }, Math.max(this.graceMs(), 1000))
    this.sweep.unref?.()
  }

  stop (): void {
    clearInterval(this.sweep)
    this.sweep = undefined
    for (const key of [...this.away.keys()]) this.forget(key)
    this.components?.events.removeEventListener('peer:connect', this.onConnect)
    this.components?.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  circuits (): CircuitCounts {
    return { total: this.total, anonymous: this.anonymous }
  }

  wrapRegistrar<R extends HopRegistrar>(registrar: R): R {
    const handle = async (protocol: string, handler: StreamHandler, options?: object): Promise<void> => {
      if (protocol !== RELAY_V2_HOP_CODEC) return registrar.handle(protocol, handler, options)
      return registrar.handle(protocol, async (stream, connection) => {
        const ctx: HopContext = { stream }
        try {
          await this.hop.run(ctx, async () => handler(stream, connection))
        } finally {
          ctx.done?.()
          ctx.done = undefined
          ctx.stream = undefined
        }
      }, options)
    }
    return overriding(registrar, { handle })
  }

  private refuse (limit: RelayLimit, peer: PeerId): true {
    this.hit(limit, peer)
    return true
  }

  private hit (limit: RelayLimit, peer: PeerId): void {
    try {
      this.init.onLimit?.(limit, peer)
    } catch {
      // a metrics listener that throws must not decide the refusal
    }
  }

  private denyReservation (peer: PeerId): boolean {
    if (!this.reservationRate.take(peer.toString())) return this.refuse('reservation_rate', peer)
    const c = this.components
    if (c === undefined || c.reservations.has(peer)) return false // a refresh takes no new place
    if (this.addressFull(c, peer)) return this.refuse('reservations_per_address', peer)
    // the server itself refuses this one (RESERVATION_REFUSED): count it here, where it is seen
    if (c.reservations.size >= this.init.maxReservations) this.hit('max_reservations', peer)
    return false
  }

  /** Whether an address `peer` is connected from already has maxReservationsPerAddress reservations. */
  private addressFull (c: RelayGuardComponents, peer: PeerId): boolean {
    const mine = new Set(c.remoteAddresses(peer).map(multiaddrAddressKey).filter((k) => k !== undefined))
    if (mine.size === 0) return false
    const held = new Map<string, number>()
    for (const [, reservation] of c.reservations.entries()) {
      const key = multiaddrAddressKey(reservation.addr)
      if (key !== undefined && mine.has(key)) held.set(key, (held.get(key) ?? 0) + 1)
    }
    for (const n of held.values()) if (n >= this.init.maxReservationsPerAddress) return true
    return false
  }

  private graceMs (): number {
    return this.init.reservationGraceMs
  }

  /**
   * A reserved peer with no connection left is noted (since now) and checked again when its grace
   * ends; still away then: its reservation is dropped. Connected again, or no reservation: forgotten.
   */
  private checkAway (peer: PeerId): void {
    const c = this.components
    if (c === undefined) return
    const key = peer.toString()
    if (!c.reservations.has(peer) || c.remoteAddresses(peer).length > 0) {
      this.forget(key)
      return
    }
    const now = this.now()
    const since = this.away.get(key)?.since ?? now
    const left = since + this.graceMs() - now
    clearTimeout(this.away.get(key)?.timer)
    if (left > 0) {
      const timer = setTimeout(() => { this.checkAway(peer) }, left)
      timer.unref?.()
      this.away.set(key, { since, timer })
      return
    }
    this.away.delete(key)
    const reservation = c.reservations.get(peer)
    if (reservation === undefined) return
    // Dropped the way the server expires a reservation: its signal aborting removes it from the
    // store (the store's own listener) and ends circuits to the peer. Deleting the map entry
    // instead would leave the signal's TTL timer armed, to delete a later reservation of the peer.
    reservation.signal.reset(0)
    try {
      this.init.onDrop?.(peer, 'disconnected')
    } catch {
      // a metrics listener that throws must not stop the drop
    }
  }

  private forget (key: string): void {
    clearTimeout(this.away.get(key)?.timer)
    this.away.delete(key)
  }

  private count (peer: string): number {
    return this.perPeer.get(peer) ?? 0
  }

  private async denyCircuit (source: PeerId, destination: PeerId): Promise<boolean> {
    const src = source.toString()
    const dst = destination.toString()
    if (!this.circuitRate.take(src)) return this.refuse('circuit_rate', source)
    if (this.count(src) >= this.init.maxCircuitsPerPeer || this.count(dst) >= this.init.maxCircuitsPerPeer) {
      return this.refuse('circuits_per_peer', source)
    }
    // a name counts only once it has been held for namedMinAgeMs: a fresh (free) name buys nothing
    const c = this.components
    const minAgeMs = this.init.namedMinAgeMs
    const holds = async (peer: PeerId): Promise<boolean> => c === undefined ? false : c.holdsName(peer, { minAgeMs }).catch(() => false)
    const anonymous = !(await holds(source)) && !(await holds(destination))
    // The server reads the limits from the destination's reservation after this returns, while
    // it sets the circuit up: set-ups of the other kind to the same destination wait their turn.
    for (let s = this.setups.get(dst); s !== undefined && s.anonymous !== anonymous; s = this.setups.get(dst)) await s.idle
    // from here to the end: no await, so the checks and the counts agree
    if (this.count(src) >= this.init.maxCircuitsPerPeer || this.count(dst) >= this.init.maxCircuitsPerPeer) {
      return this.refuse('circuits_per_peer', source)
    }
    if (anonymous && this.anonymous >= this.init.maxAnonymousCircuits) return this.refuse('anonymous_circuits', source)
    const ctx = this.hop.getStore()
    if (ctx?.stream === undefined) return false // not from a running hop handler (a test calling the gater): nothing to track
    const reservation = this.components?.reservations.get(destination)
    if (reservation !== undefined) reservation.limit = this.limitsFor(anonymous)
    this.track(ctx, ctx.stream, src, dst, anonymous)
    return false
  }

  private limitsFor (anonymous: boolean): NonNullable<RelayReservation['limit']> {
    const { relayDataLimit: data, relayDurationLimitMs: ms } = this.init
    // anonymous limits only ever tighten: the smaller of the two applies
    return anonymous
      ? { data: BigInt(Math.min(data, this.init.relayDataLimitAnonymous)), duration: Math.min(ms, this.init.relayDurationLimitAnonymousMs) }
      : { data: BigInt(data), duration: ms }
  }

  /** Counts the circuit until its hop stream closes; holds the set-up slot until the hop handler returns. */
  private track (ctx: HopContext, stream: Stream, src: string, dst: string, anonymous: boolean): void {
    let setup = this.setups.get(dst)
    if (setup === undefined) {
      let release = (): void => {}
      const idle = new Promise<void>((resolve) => { release = resolve })
      setup = { anonymous, count: 0, idle, release }
      this.setups.set(dst, setup)
    }
    const s = setup
    s.count++
    ctx.done = () => {
      if (--s.count === 0) {
        this.setups.delete(dst)
        s.release()
      }
    }
    const peers = src === dst ? [src] : [src, dst]
    for (const p of peers) this.perPeer.set(p, this.count(p) + 1)
    this.total++
    if (anonymous) this.anonymous++
    let open = true
    const end = (): void => {
      if (!open) return
      open = false
      for (const p of peers) {
        const n = this.count(p) - 1
        if (n > 0) this.perPeer.set(p, n)
        else this.perPeer.delete(p)
      }
      this.total--
      if (anonymous) this.anonymous--
    }
    if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') end()
    else stream.addEventListener('close', end, { once: true })
  }
}
