import { AsyncLocalStorage } from 'node:async_hooks'
import { PeerRateLimiter } from '@auralink/signalling'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { ConnectionGater, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'

/** Rate-limit buckets of peers not seen for this long are dropped. */
const IDLE_MS = 10 * 60 * 1000

/**
 * The abuse limits the relay counts in `auralink_relay_limit_hits_total{limit}`: the relay's
 * own (`reservation_rate`, `max_reservations`, `circuits_per_peer`, `circuit_rate`,
 * `anonymous_circuits`), the directory's (`directory_requests`, `directory_writes`,
 * `directory_names_per_key`) and the throughput probe's (`probe_rate`).
 */
export type RelayLimit = 'reservation_rate' | 'max_reservations' | 'circuits_per_peer' | 'circuit_rate' | 'anonymous_circuits' |
'directory_requests' | 'directory_writes' | 'directory_names_per_key' | 'probe_rate'

export interface RelayGuardInit {
  /** Reservation requests per peer per minute. */
  reservationRateLimit: number
  /** Reservations held at once (the circuit relay server refuses past it; the guard only counts). */
  maxReservations: number
  /** Circuits open at once with one peer as source or destination. */
  maxCircuitsPerPeer: number
  /** New circuits per source peer per minute. */
  circuitRateLimit: number
  /** Circuits open at once, relay-wide, where neither end holds a name here. */
  maxAnonymousCircuits: number
  /** Bytes and seconds for a circuit where an end holds a name here. */
  relayDataLimit: number
  relayDurationLimit: number
  /** Bytes and seconds for a circuit where neither end holds a name here (the smaller of these and the above apply). */
  relayDataLimitAnonymous: number
  relayDurationLimitAnonymous: number
  /** Called once per refusal (and once per reservation the server will refuse as full). */
  onLimit?: (limit: RelayLimit, peer: PeerId) => void
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/** What the guard reads from the running node, attached once libp2p is built. */
export interface RelayGuardComponents {
  /** The circuit relay server's reservations (`libp2p.services.relay.reservations`). */
  reservations: { size: number, has(peer: PeerId): boolean, get(peer: PeerId): RelayReservation | undefined }
  /** Whether `peer` holds a valid name at this relay's directory. */
  holdsName(peer: PeerId): Promise<boolean>
}

/** The part of a libp2p registrar the guard wraps. */
export interface HopRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: object): Promise<void>
}

/** Circuits open now. */
export interface CircuitCounts { total: number, anonymous: number }

export interface RelayGuard {
  /** Merge into libp2p's `connectionGater`. */
  readonly gater: Required<Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'>>
  /** Wraps the registrar the circuit relay server registers its hop handler with (see `relayServer` in node.ts). */
  wrapRegistrar<R extends HopRegistrar>(registrar: R): R
  attach(components: RelayGuardComponents): void
  circuits(): CircuitCounts
}

export function relayGuard (init: RelayGuardInit): RelayGuard {
  return new Guard(init)
}

/** One hop stream being handled: set up by the registrar wrapper, read by the gater. */
interface HopContext { stream: Stream, done?: () => void }

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

  constructor (init: RelayGuardInit) {
    this.init = init
    const now = init.now ?? Date.now
    this.reservationRate = new PeerRateLimiter(init.reservationRateLimit, IDLE_MS, now)
    this.circuitRate = new PeerRateLimiter(init.circuitRateLimit, IDLE_MS, now)
    this.gater = {
      denyInboundRelayReservation: (peer) => this.denyReservation(peer),
      denyOutboundRelayedConnection: async (source, destination) => this.denyCircuit(source, destination)
    }
  }

  attach (components: RelayGuardComponents): void {
    this.components = components
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
        }
      }, options)
    }
    return new Proxy(registrar, {
      get: (target, prop) => {
        if (prop === 'handle') return handle
        const value: unknown = Reflect.get(target, prop)
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      }
    })
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
    const r = this.components?.reservations
    // the server itself refuses this one (RESERVATION_REFUSED): count it here, where it is seen
    if (r !== undefined && r.size >= this.init.maxReservations && !r.has(peer)) this.hit('max_reservations', peer)
    return false
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
    const holds = this.components?.holdsName ?? (async () => false)
    const anonymous = !(await holds(source).catch(() => false)) && !(await holds(destination).catch(() => false))
    // The server reads the limits from the destination's reservation after this returns, while
    // it sets the circuit up: set-ups of the other kind to the same destination wait their turn.
    for (let s = this.setups.get(dst); s !== undefined && s.anonymous !== anonymous; s = this.setups.get(dst)) await s.idle
    // from here to the end: no await, so the checks and the counts agree
    if (this.count(src) >= this.init.maxCircuitsPerPeer || this.count(dst) >= this.init.maxCircuitsPerPeer) {
      return this.refuse('circuits_per_peer', source)
    }
    if (anonymous && this.anonymous >= this.init.maxAnonymousCircuits) return this.refuse('anonymous_circuits', source)
    const ctx = this.hop.getStore()
    if (ctx === undefined) return false // not from the hop handler (a test calling the gater): nothing to track
    const reservation = this.components?.reservations.get(destination)
    if (reservation !== undefined) reservation.limit = this.limitsFor(anonymous)
    this.track(ctx, src, dst, anonymous)
    return false
  }

  private limitsFor (anonymous: boolean): NonNullable<RelayReservation['limit']> {
    const { relayDataLimit: data, relayDurationLimit: seconds } = this.init
    // anonymous limits only ever tighten: the smaller of the two applies
    return anonymous
      ? { data: BigInt(Math.min(data, this.init.relayDataLimitAnonymous)), duration: Math.min(seconds, this.init.relayDurationLimitAnonymous) * 1000 }
      : { data: BigInt(data), duration: seconds * 1000 }
  }

  /** Counts the circuit until its hop stream closes; holds the set-up slot until the hop handler returns. */
  private track (ctx: HopContext, src: string, dst: string, anonymous: boolean): void {
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
    if (ctx.stream.status === 'closed' || ctx.stream.status === 'aborted' || ctx.stream.status === 'reset') end()
    else ctx.stream.addEventListener('close', end, { once: true })
  }
}
