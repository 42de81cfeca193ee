import { upstreamErrorKind } from '@auralink/core'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  DEFAULT_RELAY_CHECK_INTERVAL_MS, DEFAULT_RELAY_CLOSE_AFTER_FAILED_PINGS, DEFAULT_RELAY_PING_TIMEOUT_MS, DEFAULT_RELAY_PROBE_INTERVAL_MS, DEFAULT_RELAY_PROBE_TIMEOUT_MS, DEFAULT_RELAY_RESERVATIONS, MAX_RELAY_BACKOFF_MS,
  KNOWN_RELAY_DROP_MS, KNOWN_RELAY_MAX_FAILURES, RELAY_DIAL_HEAD_START_MS, RELAY_DIAL_TIMEOUT_MS
} from './constants.js'
import { RelayUnreachableError } from './errors.js'
import { describeDialError, isDefiniteDialFailure, wrongRelayId } from './relay-address.js'
import { rankByScore } from './relay-reputation.js'
import type { RelayScorer } from './reputation/types.js'
import type { AbortOptions, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type RelayState = 'connecting' | 'connected' | 'reserved' | 'down'

export interface RelayStatus {
  readonly addr: Multiaddr
  /** Every address it is dialled on: `addr` alone for a configured relay, its advert's addresses for a known one. */
  readonly addrs: Multiaddr[]
  readonly peerId: PeerId
  /** 'configured': one of MeshNodeInit.relays; 'known': taken from a relay list while too few relays were up. */
  readonly origin: 'configured' | 'known'
  state: RelayState
  /** Consecutive failed dials. */
  failures: number
  lastError?: string
  /** The last failed dial failed for a reason waiting will not cure soon (refused, another peer id), not a timeout. */
  definite?: boolean
}

export interface RelayKeeperInit {
  relays: Array<string | Multiaddr>
  /** @default 2000 */
  checkIntervalMs?: number
  /** Limit of one ping at a check. @default 5000 */
  pingTimeoutMs?: number
  /**
   * Failed pings in a row after which a relay's connection is closed, and the relay redialled as
   * a lost one: how a relay that went silent without closing (a frozen process, a network that
   * dropped us) is noticed. 0: never. @default 3
   */
  closeAfterFailedPings?: number
  /** Reservations wanted: this many best-ranked relays get a head start when redialled. @default 2 */
  reservations?: number
  /**
   * Known relays (from `candidates`) the keeper may take on at once while fewer relays are up
   * than it wants (the configured count, at most `reservations`). @default 0
   */
  adopt?: number
  /** How often each connected relay's throughput is probed (the first time at the first check it is connected). @default 600000 */
  probeIntervalMs?: number
  /** Limit of one probe. @default 20000 */
  probeTimeoutMs?: number
}

/** A relay the node has heard of and may take on: its PeerId and the addresses its advert names. */
export interface RelayCandidate {
  peerId: PeerId
  addrs: Multiaddr[]
}

/** What the keeper needs from the node: the libp2p calls it makes, the scorer it feeds, and a ping. */
export interface RelayKeeperComponents {
  libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'getMultiaddrs' | 'addEventListener' | 'removeEventListener'>
  scorer: RelayScorer
  /** Resolves the RTT to a connected relay in ms (libp2p's ping service). Without it no RTT is sampled. */
  ping?: (relay: PeerId, options: AbortOptions) => Promise<number>
  /** Relays heard of (verified adverts), for `adopt`. */
  candidates?: () => RelayCandidate[]
  /** Measures the throughput to a connected relay in bytes per second (`probeRelay`). Without it no throughput is sampled. */
  probe?: (relay: PeerId, options: AbortOptions) => Promise<number>
  log: Logger
}

export interface RelayKeeperEvents {
  reserved(relay: RelayStatus): void
  lost(relay: RelayStatus): void
}

/**
 * Keeps this node connected to its configured relays: redials lost ones with exponential
 * backoff (2 s up to 30 s) and tracks which hold a reservation for us (seen as a
 * `/p2p/<relay>/p2p-circuit` address among our own). The circuit relay transport makes the
 * reservations themselves whenever a relay connection comes up, first come first served, so
 * relays are redialled best-ranked first, the best `reservations` of them with a head start.
 *
 * It feeds the scorer at every check (each `checkIntervalMs`): a relay not connected counts as
 * down (`recordUptime(false)`); a connected one is pinged, bounded by `pingTimeoutMs`, and counts
 * as up with an RTT sample when the ping answers, as down when it fails or times out (a relay that
 * does not speak ping counts as up, with no RTT). A reservation appearing counts as
 * `recordReservation(true)`, one disappearing as `recordReservation(false)`.
 *
 * With `adopt` > 0, a check that finds fewer relays up than wanted (as many as are configured, at
 * most `reservations`) takes on the best-ranked `candidates` it does not hold yet, up to `adopt`
 * of them: a node whose only relay died moves to a relay its relay had told it of. A known relay
 * stays until the node stops, unless three redials in a row fail, which drops it (making room
 * for another) and keeps it from being taken on again for 5 minutes.
 */
export class RelayKeeper {
  readonly relays: RelayStatus[]
  private readonly libp2p: RelayKeeperComponents['libp2p']
  private readonly scorer: RelayScorer
  private readonly ping?: RelayKeeperComponents['ping']
  private readonly log: Logger
  private readonly interval: number
  private readonly pingTimeoutMs: number
  private readonly closeAfterFailedPings: number
  /** Failed pings in a row, by relay PeerId. */
  private readonly failedPings = new Map<string, number>()
  private readonly reservations: number
  private readonly adopt: number
  private readonly candidates?: RelayKeeperComponents['candidates']
  private readonly probe?: RelayKeeperComponents['probe']
  private readonly probeIntervalMs: number
  private readonly probeTimeoutMs: number
  /** When each relay was last probed (or a probe of it tried), by PeerId. */
  private readonly probedAt = new Map<string, number>()
  private readonly probing = new Set<RelayStatus>()
  private readonly events: RelayKeeperEvents
  private timer?: ReturnType<typeof setTimeout>
  private readonly nextTry = new Map<RelayStatus, number>()
  /** Known relays dropped after failed dials, by PeerId: not taken on again before the time given. */
  private readonly dropped = new Map<string, number>()
  private readonly pinging = new Set<RelayStatus>()
  private stopper = new AbortController()
  private running = false
  /** Some relay was connected since start(): from then on a refused redial is a relay restarting, not a wrong address. */
  private reachedAny = false
  /** Called whenever a relay's state may have changed: waitForReservation() waits on these. */
  private readonly waiters = new Set<() => void>()
  private readonly onUpdate = (): void => { this.refreshStates() }

  constructor (components: RelayKeeperComponents, init: RelayKeeperInit, events: RelayKeeperEvents) {
    this.libp2p = components.libp2p
    this.scorer = components.scorer
    if (components.ping !== undefined) this.ping = components.ping
    if (components.candidates !== undefined) this.candidates = components.candidates
    if (components.probe !== undefined) this.probe = components.probe
    this.log = components.log
    this.events = events
    this.interval = init.checkIntervalMs ?? DEFAULT_RELAY_CHECK_INTERVAL_MS
    this.pingTimeoutMs = init.pingTimeoutMs ?? DEFAULT_RELAY_PING_TIMEOUT_MS
    this.closeAfterFailedPings = init.closeAfterFailedPings ?? DEFAULT_RELAY_CLOSE_AFTER_FAILED_PINGS
    this.reservations = init.reservations ?? DEFAULT_RELAY_RESERVATIONS
    this.adopt = init.adopt ?? 0
    this.probeIntervalMs = init.probeIntervalMs ?? DEFAULT_RELAY_PROBE_INTERVAL_MS
    this.probeTimeoutMs = init.probeTimeoutMs ?? DEFAULT_RELAY_PROBE_TIMEOUT_MS
    this.relays = init.relays.map((r, i) => {
      const { addr, peerId } = parseRelayAddr(r, i)
      return { addr, addrs: [addr], peerId, origin: 'configured' as const, state: 'down' as RelayState, failures: 0 }
    })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.reachedAny = false
    this.stopper = new AbortController()
    // 'transport:listening' comes as soon as the circuit relay transport holds a reservation;
    // 'self:peer:update' only after libp2p's address manager has waited a second for more changes
    this.libp2p.addEventListener('transport:listening', this.onUpdate)
    this.libp2p.addEventListener('transport:close', this.onUpdate)
    this.libp2p.addEventListener('self:peer:update', this.onUpdate)
    this.libp2p.addEventListener('connection:close', this.onUpdate)
    void this.tick()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.stopper.abort(new Error('relay keeper stopped'))
    this.libp2p.removeEventListener('transport:listening', this.onUpdate)
    this.libp2p.removeEventListener('transport:close', this.onUpdate)
    this.libp2p.removeEventListener('self:peer:update', this.onUpdate)
    this.libp2p.removeEventListener('connection:close', this.onUpdate)
    this.notify()
  }

  /** Every relay held (configured, then any known ones taken on), best score first. */
  ranked (): RelayStatus[] {
    return rankByScore(this.scorer, this.relays).map((r) => r.item)
  }

  /** Relays we have a live connection to, best score first. */
  connected (): RelayStatus[] {
    return this.ranked().filter((r) => r.state === 'reserved' || r.state === 'connected')
  }

  /**
   * Resolves as soon as a relay holds a reservation for us (no polling: each change of a relay's
   * state wakes it). Rejects with the signal's reason on abort, and with RelayUnreachableError at
   * once when no relay was ever reached since start() and every relay's last dial failed for a
   * reason waiting will not cure (refused, no such host, another peer id: see `definite`), naming
   * each address and its reason. Once a relay was reached, it waits through restarts.
   */
  async waitForReservation (signal: AbortSignal): Promise<void> {
    this.refreshStates()
    while (!this.relays.some((r) => r.state === 'reserved')) {
      signal.throwIfAborted()
      if (!this.running) throw new RelayUnreachableError('the relay keeper stopped before a relay gave a reservation')
      if (!this.reachedAny && this.relays.length > 0 && this.relays.every((r) => r.state === 'down' && r.failures > 0 && r.definite === true)) {
        const why = this.relays.map((r) => `${r.addr.toString()}: ${r.lastError ?? 'failed'}`).join('; ')
        throw new RelayUnreachableError(`no relay could be reached (${why})`)
      }
      await new Promise<void>((resolve) => {
        const done = (): void => { this.waiters.delete(done); signal.removeEventListener('abort', done); resolve() }
        this.waiters.add(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }

  private notify (): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  private refreshStates (): void {
    const own = this.libp2p.getMultiaddrs().map((a) => a.toString())
    for (const relay of this.relays) {
      const before = relay.state
      const connected = this.libp2p.getConnections(relay.peerId).some((c) => c.status === 'open')
      const reserved = connected && own.some((a) => a.includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`))
      if (connected) this.reachedAny = true
      if (reserved) relay.state = 'reserved'
      else if (connected) relay.state = 'connected'
      else if (relay.state !== 'connecting') relay.state = 'down'
      if (before !== 'reserved' && relay.state === 'reserved') {
        this.log('reservation held on relay %p', relay.peerId)
        this.scorer.recordReservation(relay.peerId, true)
        this.events.reserved(relay)
      } else if (before === 'reserved' && relay.state !== 'reserved') {
        this.log('reservation lost on relay %p (%s)', relay.peerId, relay.state)
        this.scorer.recordReservation(relay.peerId, false)
        this.events.lost(relay)
      }
    }
    this.notify()
  }

  private async tick (): Promise<void> {
    if (!this.running) return
    this.refreshStates()
    this.adoptIfShort()
    const now = Date.now()
    const due = this.ranked().filter((r) => r.state === 'down' && (this.nextTry.get(r) ?? 0) <= now)
    // the transport reserves on relays as their connections come up: the best go first
    const first = due.slice(0, this.reservations).map(async (relay) => this.redial(relay))
    if (due.length > this.reservations) await this.headStart(Promise.all(first))
    await Promise.all([...first, ...due.slice(this.reservations).map(async (relay) => this.redial(relay))])
    if (!this.running) return
    this.refreshStates()
    this.check()
    this.timer = setTimeout(() => { void this.tick() }, this.interval)
  }

  private async redial (relay: RelayStatus): Promise<void> {
    relay.state = 'connecting'
    try {
      await this.libp2p.dial(relay.addrs, { signal: AbortSignal.any([AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS), this.stopper.signal]) })
      relay.failures = 0
      delete relay.lastError
      delete relay.definite
      relay.state = 'connected'
      this.reachedAny = true
    } catch (err) {
      // the relay proved another peer id than the one configured or pinned: say which (the Noise
      // error names neither the address nor the relay), and refuse it as before
      const wrong = this.running ? await wrongRelayId(err, relay.addr, relay.peerId, { signal: this.stopper.signal }).catch(() => undefined) : undefined
      relay.failures++
      relay.lastError = wrong?.message ?? describeDialError(err)
      relay.definite = isDefiniteDialFailure(wrong ?? err)
      relay.state = 'down'
      const backoff = Math.min(MAX_RELAY_BACKOFF_MS, this.interval * 2 ** Math.min(relay.failures - 1, 10))
      this.nextTry.set(relay, Date.now() + backoff)
      if (this.running) this.log('relay %p unreachable (%s), next try in %d ms', relay.peerId, relay.lastError, backoff)
      this.notify()
    }
  }

  /**
   * Fewer relays up than wanted: drops known relays that failed three redials in a row, then takes
   * on the best-ranked candidates not held yet, so that at most `adopt` known relays are held.
   */
  private adoptIfShort (): void {
    if (this.adopt === 0 || this.candidates === undefined) return
    const configured = this.relays.filter((r) => r.origin === 'configured').length
    const wanted = Math.min(this.reservations, Math.max(configured, 1))
    // a relay not dialled yet counts as up until its first dial fails
    const up = this.relays.filter((r) => r.state !== 'down' || r.failures === 0).length
    if (up >= wanted) return
    for (const r of this.relays.filter((r) => r.origin === 'known' && r.state === 'down' && r.failures >= KNOWN_RELAY_MAX_FAILURES)) {
      this.log('dropping known relay %p after %d failed dials (%s)', r.peerId, r.failures, r.lastError)
      this.relays.splice(this.relays.indexOf(r), 1)
      this.nextTry.delete(r)
      this.dropped.set(r.peerId.toString(), Date.now() + KNOWN_RELAY_DROP_MS)
    }
    const now = Date.now()
    for (const [id, until] of this.dropped) if (until <= now) this.dropped.delete(id)
    const room = Math.min(wanted - up, this.adopt - this.relays.filter((r) => r.origin === 'known').length)
    if (room <= 0) return
    const held = new Set(this.relays.map((r) => r.peerId.toString()))
    const fresh = this.candidates().filter((c) => !held.has(c.peerId.toString()) && !this.dropped.has(c.peerId.toString()))
    for (const { item: { peerId, addrs: [addr, ...more] } } of rankByScore(this.scorer, fresh).slice(0, room)) {
      if (addr === undefined) continue
      this.log('%d of %d wanted relays up: taking on known relay %p', up, wanted, peerId)
      this.relays.push({ addr, addrs: [addr, ...more], peerId, origin: 'known', state: 'down', failures: 0 })
    }
  }

  /** Resolves when `dials` settle, RELAY_DIAL_HEAD_START_MS pass or the keeper stops, whichever is first. */
  private async headStart (dials: Promise<unknown>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const signal = this.stopper.signal
    let onAbort = (): void => {}
    await Promise.race([
      dials,
      new Promise<void>((resolve) => {
        onAbort = resolve
        timer = setTimeout(resolve, RELAY_DIAL_HEAD_START_MS)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }

  /**
   * One check of every relay: down when not connected; a connected one is pinged, and probed when
   * its probe is due (neither awaited: a slow one delays no redial). While a relay is probed it is
   * not pinged (the probe's bytes would delay the pong) and nothing is recorded of it.
   */
  private check (): void {
    const now = Date.now()
    for (const relay of this.relays) {
      if (relay.state !== 'connected' && relay.state !== 'reserved') {
        this.scorer.recordUptime(relay.peerId, false)
        continue
      }
      if (this.probe !== undefined && !this.probing.has(relay) && (this.probedAt.get(relay.peerId.toString()) ?? -Infinity) + this.probeIntervalMs <= now) {
        this.probing.add(relay)
        this.probedAt.set(relay.peerId.toString(), now)
        void this.probeOnce(relay, this.probe).finally(() => { this.probing.delete(relay) })
      }
      if (this.probing.has(relay)) continue
      if (this.ping === undefined) {
        this.scorer.recordUptime(relay.peerId, true)
      } else if (!this.pinging.has(relay)) {
        this.pinging.add(relay)
        void this.pingOnce(relay, this.ping).finally(() => { this.pinging.delete(relay) })
      }
    }
  }

  private async probeOnce (relay: RelayStatus, probe: NonNullable<RelayKeeperComponents['probe']>): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.probeTimeoutMs), this.stopper.signal])
    try {
      const bytesPerSecond = await probe(relay.peerId, { signal })
      if (!this.running) return
      this.scorer.recordThroughput(relay.peerId, bytesPerSecond)
    } catch (err) {
      // a relay without the protocol (an older one), or a failed probe: nothing learnt, tried again after the interval
      if (this.running) this.log('throughput probe of relay %p failed: %s', relay.peerId, describeError(err))
    }
  }

  private async pingOnce (relay: RelayStatus, ping: NonNullable<RelayKeeperComponents['ping']>): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.pingTimeoutMs), this.stopper.signal])
    try {
      const ms = await ping(relay.peerId, { signal })
      if (!this.running) return
      this.scorer.recordRtt(relay.peerId, ms)
      this.scorer.recordUptime(relay.peerId, true)
      this.failedPings.delete(relay.peerId.toString())
    } catch (err) {
      if (!this.running) return
      const unsupported = upstreamErrorKind(err) === 'unsupported-protocol'
      this.scorer.recordUptime(relay.peerId, unsupported)
      if (unsupported) return
      this.log('ping of relay %p failed: %s', relay.peerId, describeError(err))
      this.pingFailed(relay, err)
    }
  }

  /** Counts a failed ping; at closeAfterFailedPings in a row the relay's connections are closed (the next check redials it). */
  private pingFailed (relay: RelayStatus, err: unknown): void {
    const id = relay.peerId.toString()
    const n = (this.failedPings.get(id) ?? 0) + 1
    if (this.closeAfterFailedPings === 0 || n < this.closeAfterFailedPings) {
      this.failedPings.set(id, n)
      return
    }
    this.failedPings.delete(id)
    const connections = this.libp2p.getConnections(relay.peerId)
    this.log('relay %p answered none of %d pings in a row (last: %s): closing its %d connection(s)', relay.peerId, n, describeError(err), connections.length)
    for (const c of connections) c.abort(new Error(`relay ${id} answered none of ${n} pings in a row`))
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

/** A readable one-line reason, also for errors with an empty message (AggregateError from a refused dial, a WebSocket ErrorEvent). */
export function describeError (err: unknown): string {
  return describeDialError(err)
}
