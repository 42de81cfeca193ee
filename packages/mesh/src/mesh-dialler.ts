import { CIRCUIT_REUSE_MAX_AGE_MS, CIRCUIT_REUSE_MIN_BYTES, MAX_DIAL_BACKOFF_MS } from './constants.js'
import { AttemptClock, stallLimitMs } from './dial-progress.js'
import { circuitRelayOf, dialRoutes } from './dial-routes.js'
import { upstreamErrorKind } from '@auralink/core'
import { DialFailedError, PeerIdMismatchError, PeerOfflineError } from './errors.js'
import { turnAllowed } from './ice-servers.js'
import type { IcePhase, IcePolicy } from './ice-policy.js'
import type { IceServerSets } from './ice-servers.js'
import type { ConnectionPath, MeshConnection, MeshDialOptions } from './mesh-types.js'
import type { RelayScorer } from './reputation/types.js'
import type { RouteCache } from './route-cache.js'
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// How a mesh node dials a peer it has resolved: direct WebRTC, then a relayed circuit, then TURN.

export interface MeshDiallerComponents {
  libp2p: Libp2p
  scorer: RelayScorer
  routes: RouteCache
  ice: IcePolicy
  iceServers: IceServerSets
  /** Our connected relays, best first (throws RelayUnreachableError when there are none). */
  connectedRelays(): Array<{ peerId: PeerId, addr: Multiaddr }>
  /** A direct attempt failed and the dial goes on (the node's 'dial:retry' event). */
  retry(detail: { peer: PeerId, relay: PeerId, attempt: number, error: Error }): void
  /** The measured round-trip time to a connected relay, in ms, when one is known. */
  relayRttMs(relay: PeerId): number | undefined
  log: Logger
}

export interface MeshDiallerInit {
  retries: number
  backoffMs: number
  /** One attempt's whole limit. */
  timeoutMs: number
  /** Least time an attempt may go without progress (see dial-progress.ts). */
  stallMs: number
  /** An attempt may go this many round trips to its relay without progress, when that is longer than `stallMs`. */
  stallRtts: number
}

interface Route { peerId: PeerId, addr: Multiaddr }

/** The whole dial's limit (`MeshDialOptions.timeoutMs`): its length, when it ends, and the signal that fires then. */
export interface DialLimit { ms: number, deadline: number, signal: AbortSignal }

/** What one dial has done so far, for the error that ends it. */
interface DialState {
  attempts: number
  lastError: Error | undefined
  /** One line per phase that ran and failed. */
  tried: string[]
  phase?: 'direct' | 'relayed' | 'TURN'
}

/**
 * Dials a peer in three phases, each tried only when the one before it failed:
 * 1. direct WebRTC, signalled through each dial route (`dialRoutes`) in turn, `retries` more
 *    rounds with backoff, using the STUN servers only: host and server-reflexive candidates;
 * 2. a relayed circuit through each connected relay, when `allowRelayed`;
 * 3. WebRTC through TURN, signalled through each dial route once, with the TURN servers only and
 *    `iceTransportPolicy: 'relay'`, when TURN servers are configured and `allowTurn` is not false.
 * So direct beats relayed beats TURN. See IcePolicy (ice-policy.ts) for how an attempt's ICE
 * servers are chosen and what that cannot keep apart.
 */
export class MeshDialler {
  private readonly c: MeshDiallerComponents
  private readonly init: MeshDiallerInit
  /** Connections made by the TURN phase: libp2p hands them back to later dials, which must not call them direct or relayed. */
  private readonly viaTurn = new WeakSet<Connection>()

  constructor (components: MeshDiallerComponents, init: MeshDiallerInit) {
    this.c = components
    this.init = init
  }

  /**
   * Dials `peer`. With `limit` (`MeshDialOptions.timeoutMs`), direct rounds go on past `retries`
   * while another attempt fits before the deadline (see `anotherRound`), and the deadline's abort
   * ends the dial in a DialFailedError that says what was tried; the caller's own signal rethrows
   * its reason.
   */
  async dial (peer: PeerId, auraId: string | undefined, theirRelays: readonly string[], options: MeshDialOptions, limit?: DialLimit): Promise<MeshConnection> {
    const who = auraId ?? peer.toString()
    const state: DialState = { attempts: 0, lastError: undefined, tried: [] }
    const caller = options.signal
    const signals = [caller, limit?.signal].filter((x) => x !== undefined)
    const inner = { ...options, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) }
    try {
      return await this.phases(peer, auraId, who, theirRelays, inner, state, limit)
    } catch (err) {
      if (limit?.signal.aborted === true && caller?.aborted !== true && !(err instanceof PeerIdMismatchError) && !(err instanceof PeerOfflineError)) {
        if (err instanceof DialFailedError) throw err
        const tried = [...state.tried, `out of time in the ${state.phase ?? 'direct'} phase after ${state.attempts} attempt${state.attempts === 1 ? '' : 's'}${state.lastError !== undefined ? ` (last: ${state.lastError.message})` : ''}`]
        throw new DialFailedError(`could not reach ${who} within ${limit.ms} ms: ${tried.join('; ')}`, state.attempts, { cause: state.lastError ?? err })
      }
      throw err
    }
  }

  private async phases (peer: PeerId, auraId: string | undefined, who: string, theirRelays: readonly string[], options: MeshDialOptions, state: DialState, limit: DialLimit | undefined): Promise<MeshConnection> {
    const { retries, backoffMs } = this.init
    state.phase = 'direct'
    // allowDirect: false (a call re-dialling after its path broke) goes straight to the relayed phase
    for (let round = 0; options.allowDirect !== false; round++) {
      // ranked again each round: a relay whose circuit just failed has dropped, the next goes
      // first; the route that worked last time (the route cache) goes before them all
      const routes = this.routes(peer, theirRelays)
      let offline = 0
      for (const route of routes) {
        options.signal?.throwIfAborted()
        state.attempts++
        const t0 = Date.now()
        try {
          const connection = await this.webrtc('direct', peer, route, who, options)
          this.recordCircuit(peer, route.peerId, true)
          this.c.log('direct connection to %s via %p after %d attempt(s), %d ms', who, route.peerId, state.attempts, Date.now() - t0)
          // 'turn' only when libp2p handed back an existing connection of an earlier TURN phase
          // (it prefers none of two open WebRTC connections to the same peer)
          return wrap(connection, peer, auraId, route.peerId, this.pathOf(connection), state.attempts)
        } catch (err) {
          if (err instanceof PeerIdMismatchError) throw err
          options.signal?.throwIfAborted()
          const error = circuitError(err, who, route.peerId)
          state.lastError = error
          if (error instanceof PeerOfflineError) offline++
          this.recordCircuit(peer, route.peerId, false, error)
          this.c.log('attempt %d to %s via %p failed in %d ms: %s', state.attempts, who, route.peerId, Date.now() - t0, error.message)
          this.c.retry({ peer, relay: route.peerId, attempt: state.attempts, error })
        }
      }
      if (offline === routes.length) {
        throw new PeerOfflineError(`${who} is offline: it holds no reservation on ${routes.length === 1 ? 'our relay' : `any of our ${routes.length} relays`}`, { cause: state.lastError })
      }
      const backoff = Math.min(MAX_DIAL_BACKOFF_MS, backoffMs * 2 ** round)
      if (round >= retries && !this.anotherRound(backoff, options, limit)) break
      await sleep(backoff, options.signal)
    }
    const direct = options.allowDirect === false
      ? 'direct not allowed (allowDirect is false)'
      : `direct WebRTC dial failed ${state.attempts} time${state.attempts === 1 ? '' : 's'} (last: ${state.lastError?.message ?? 'unknown'})`
    state.tried.push(direct)

    if (options.allowRelayed === true) {
      state.phase = 'relayed'
      let failed = 0
      let offline = 0
      const relays = this.c.connectedRelays()
      for (const { peerId: relay, addr: relayAddr } of relays) {
        state.attempts++
        try {
          const connection = await this.c.libp2p.dial(relayAddr.encapsulate(`/p2p-circuit/p2p/${peer.toString()}`), options)
          this.checkPeer(connection, peer, who)
          this.recordCircuit(peer, relay, true)
          // libp2p hands back an unlimited connection to the peer when it has one (made by a
          // concurrent dial, or an earlier TURN phase): it is said for what it is
          const path = this.pathOf(connection)
          this.c.log('falling back to a relayed connection to %s (got %s): %s', who, path, direct)
          return wrap(connection, peer, auraId, relay, path, state.attempts, direct)
        } catch (err) {
          if (err instanceof PeerIdMismatchError) throw err
          options.signal?.throwIfAborted()
          state.lastError = circuitError(err, who, relay)
          failed++
          if (state.lastError instanceof PeerOfflineError) offline++
          this.recordCircuit(peer, relay, false, state.lastError)
        }
      }
      // every relay says the peer holds no reservation there: it is gone, not merely unreachable
      if (options.allowDirect === false && relays.length > 0 && offline === relays.length) {
        throw new PeerOfflineError(`${who} is offline: it holds no reservation on ${relays.length === 1 ? 'our relay' : `any of our ${relays.length} relays`}`, { cause: state.lastError })
      }
      state.tried.push(`relayed failed through ${failed} relay${failed === 1 ? '' : 's'} (last: ${state.lastError?.message ?? 'unknown'})`)
    } else {
      state.tried.push('relayed not allowed (allowRelayed is false)')
    }

    if (turnAllowed(options.allowTurn, this.c.iceServers)) {
      state.phase = 'TURN'
      const reason = state.tried.join('; ')
      let failed = 0
      for (const route of this.routes(peer, theirRelays)) {
        options.signal?.throwIfAborted()
        state.attempts++
        const t0 = Date.now()
        try {
          const connection = await this.webrtc('turn', peer, route, who, options)
          this.viaTurn.add(connection)
          this.recordCircuit(peer, route.peerId, true)
          this.c.log('connection to %s through TURN, signalled via %p, after %d attempt(s), %d ms: %s', who, route.peerId, state.attempts, Date.now() - t0, reason)
          return wrap(connection, peer, auraId, route.peerId, 'turn', state.attempts, reason)
        } catch (err) {
          if (err instanceof PeerIdMismatchError) throw err
          options.signal?.throwIfAborted()
          state.lastError = circuitError(err, who, route.peerId)
          failed++
          // not scored against the relay: its signalling was judged in the direct phase of this
          // very dial, and a TURN attempt that fails says more of the TURN server than of it
          this.c.log('TURN attempt %d to %s via %p failed in %d ms: %s', state.attempts, who, route.peerId, Date.now() - t0, state.lastError.message)
        }
      }
      state.tried.push(`TURN failed ${failed} time${failed === 1 ? '' : 's'} (last: ${state.lastError?.message ?? 'unknown'})`)
    } else {
      state.tried.push(this.c.iceServers.turn.length === 0 ? 'TURN not configured (no turn: server in iceServers)' : 'TURN not allowed (allowTurn is false)')
    }
    throw new DialFailedError(`could not reach ${who}${limit !== undefined ? ` within ${limit.ms} ms` : ''}: ${state.tried.join('; ')}`, state.attempts, { cause: state.lastError })
  }

  /**
   * Whether the direct phase, its `retries` spent, goes another round: only with a dial limit, when
   * after `backoff` one more attempt still fits (its stall limit, the shortest a dead attempt takes
   * to be given up) and leaves one attempt's whole time for the relayed or TURN phase, if either may run.
   */
  private anotherRound (backoff: number, options: MeshDialOptions, limit: DialLimit | undefined): boolean {
    if (limit === undefined) return false
    const fallback = options.allowRelayed === true || turnAllowed(options.allowTurn, this.c.iceServers)
    const needed = backoff + this.init.stallMs + (fallback ? this.init.timeoutMs : 0)
    return limit.deadline - Date.now() > needed
  }

  /**
   * One WebRTC attempt to `peer`, signalled through `route`, with the ICE servers of `phase`:
   * the open, unlimited connection, or it throws.
   */
  private async webrtc (phase: IcePhase, peer: PeerId, route: Route, who: string, options: MeshDialOptions): Promise<Connection> {
    const { libp2p } = this.c
    return this.c.ice.run(phase, async () => {
      // the attempt's time starts once it may run (IcePolicy), not while it waits its turn. It is
      // given up when it stops making progress (scaled by the relay's RTT), not at a fixed time
      // while it still moves: on a busy machine each step is slower, but every step comes
      const stallMs = stallLimitMs(this.init, this.c.relayRttMs(route.peerId))
      const clock = new AttemptClock(this.init.timeoutMs, stallMs, options)
      const { signal } = clock
      const onProgress = (evt: { type: string }): void => { clock.step(evt.type); options.onProgress?.(evt) }
      try {
        // a relay of theirs that we are not attached to: connect to it first
        if (libp2p.getConnections(route.peerId).length === 0) await libp2p.dial(route.addr, { signal, onProgress })
        // libp2p hands back an existing connection to the peer when it has one; a connection
        // stuck closing (a close that timed out), a relayed one or one through TURN is no use to
        // the direct phase: ask for a new one. The TURN phase always asks for a new one, so that
        // what it returns went through TURN
        const reusable = phase === 'direct' && libp2p.getConnections(peer).some((c) => this.pathOf(c) === 'direct' && c.status === 'open')
        this.dropStale(peer)
        this.dropOtherCircuits(peer, route.peerId)
        await this.dropSpentCircuits(peer, signal)
        const connection = await libp2p.dial(route.addr.encapsulate(`/p2p-circuit/webrtc/p2p/${peer.toString()}`), { signal, force: !reusable, onProgress })
        this.checkPeer(connection, peer, who)
        // a WebRTC connection through TURN is as `direct` (not a circuit) and unlimited as one without
        if (connection.status !== 'open' || connection.limits != null || !connection.direct) {
          throw new Error(`dial returned a ${connection.status} ${connection.limits != null ? 'limited' : ''} connection for a WebRTC address`)
        }
        this.c.log.trace('%s attempt to %s via %p: %d ms (stall limit %d ms): %s', phase, who, route.peerId, clock.elapsedMs, stallMs, clock.timeline())
        return connection
      } catch (err) {
        // our own limit ran out (not the caller's): say so, and where the attempt stopped,
        // instead of libp2p's "The operation was aborted due to timeout"
        this.c.log('%s attempt to %s via %p failed: %s; steps: %s', phase, who, route.peerId, (err as Error).message, clock.timeline())
        if (signal.aborted && options.signal?.aborted !== true && !(err instanceof PeerIdMismatchError)) {
          this.c.log('%s attempt to %s via %p: %s; steps: %s', phase, who, route.peerId, (signal.reason as Error).message, clock.timeline())
          throw signal.reason
        }
        throw err
      } finally {
        clock.dispose()
      }
    }, options)
  }

  /**
   * A dial to `peer` through `relay` worked or failed, for the relay's score and the route cache.
   * A refusal because the peer holds no reservation there (NO_RESERVATION, a PeerOfflineError by
   * now: circuitError) says nothing of the relay and is not scored (but that route is forgotten);
   * a dial the caller aborted never gets here.
   */
  private recordCircuit (peer: PeerId, relay: PeerId, ok: boolean, error?: Error): void {
    if (ok) this.c.routes.set(peer, relay)
    else this.c.routes.failed(peer, relay)
    if (!ok && error instanceof PeerOfflineError) return
    this.c.scorer.recordCircuit(relay, ok)
  }

  /** What a connection to a peer runs over. */
  private pathOf (connection: Connection): ConnectionPath {
    if (connection.limits != null || !connection.direct) return 'relayed'
    return this.viaTurn.has(connection) ? 'turn' : 'direct'
  }

  /** The routes of a WebRTC dial to `peer` (see `dialRoutes` in dial-routes.ts). */
  private routes (peer: PeerId, theirRelays: readonly string[]): Route[] {
    return dialRoutes(this.c.routes.order(peer, this.c.connectedRelays()), theirRelays, this.c.libp2p.peerId)
  }

  /** Aborts connections to `peer` that are neither open nor closed: they would be handed back by dial(). */
  private dropStale (peer: PeerId): void {
    for (const c of this.c.libp2p.getConnections(peer)) {
      if (c.status !== 'open' && c.status !== 'closed') {
        this.c.log('aborting a %s connection to %p', c.status, peer)
        c.abort(new Error(`connection stuck ${c.status}`))
      }
    }
  }

  /**
   * Closes idle relayed connections to `peer` through relays other than `relay` (left over from
   * an earlier dial's signalling). libp2p's WebRTC transport signals over any relayed connection
   * it already has to the peer, whatever relay the address names: without this a dial "through"
   * one relay may be signalled through another, and the outcome scored against the wrong relay.
   * A relayed connection with open streams (a relayed call) is left alone.
   */
  private dropOtherCircuits (peer: PeerId, relay: PeerId): void {
    for (const c of this.c.libp2p.getConnections(peer)) {
      if ((c.limits == null && c.direct) || c.streams.length > 0) continue
      const via = circuitRelayOf(c)
      if (via !== undefined && via !== relay.toString()) {
        this.c.log('closing a relayed connection to %p through %s before dialling through %p', peer, via, relay)
        void c.close().catch(() => { c.abort(new Error('relayed connection did not close')) })
      }
    }
  }

  /**
   * Closes idle relayed connections to `peer` that are near the end of their relay's limits.
   * libp2p's WebRTC transport signals over any connection it already has to the peer; a circuit
   * reused dial after dial runs out of its data limit (32 KiB for circuits between peers without an
   * established name on our relays: about twenty dials' signalling) or its time limit (30 s), and the
   * relay then cuts it in the middle of an attempt's signalling: the attempt fails with "Unexpected
   * EOF" reading the answer, or, cut after the answer, stalls until its stall limit. Under load,
   * when dials are slower, more of them meet the cut. With the circuit closed, the transport dials a
   * fresh one (a hop round trip and a Noise handshake more). Left alone: circuits with open streams
   * (a relayed call). The age is ours to count: libp2p reads a relay's duration limit as seconds
   * where relays (js-libp2p's among them) send milliseconds, so `limits.seconds` is no guide.
   */
  private async dropSpentCircuits (peer: PeerId, signal: AbortSignal): Promise<void> {
    const now = Date.now()
    const spent = this.c.libp2p.getConnections(peer).filter((c) => {
      if (c.limits == null || c.status !== 'open' || c.streams.length > 0) return false
      const bytes = c.limits.bytes
      return (bytes !== undefined && bytes < CIRCUIT_REUSE_MIN_BYTES) || now - c.timeline.open > CIRCUIT_REUSE_MAX_AGE_MS
    })
    // awaited: a circuit still closing would be the one the transport picks
    await Promise.all(spent.map(async (c) => {
      this.c.log('closing a relayed connection to %p (%s bytes left, %d ms old) before signalling a new attempt', peer, String(c.limits?.bytes ?? 'unlimited'), now - c.timeline.open)
      await c.close({ signal }).catch((err: Error) => { c.abort(err) })
    }))
  }

  private checkPeer (connection: Connection, expected: PeerId, who: string): void {
    if (!connection.remotePeer.equals(expected)) {
      void connection.close().catch(() => {})
      throw new PeerIdMismatchError(`connection to ${who} authenticated as ${connection.remotePeer.toString()}, not the resolved ${expected.toString()}`)
    }
  }
}

function wrap (connection: Connection, peer: PeerId, auraId: string | undefined, relay: PeerId, path: ConnectionPath, attempts: number, fallbackReason?: string): MeshConnection {
  return {
    connection,
    remotePeer: peer,
    ...(auraId !== undefined ? { auraId } : {}),
    direct: path === 'direct',
    relay,
    path,
    attempts,
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
    newStream: async (protocol, options) => connection.newStream(protocol, { ...options, runOnLimitedConnection: path === 'relayed' }),
    // a graceful close that does not finish in time (libp2p's close timeout, or the caller's
    // signal) ends in an abort: the connection is gone either way; only the caller's abort rethrows
    close: async (options) => {
      try {
        await connection.close(options)
      } catch (err) {
        connection.abort(err as Error)
        if (options?.signal?.aborted === true) throw err
      }
    }
  }
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal?.reason as Error) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A failed dial through `relay` as this package's error: the circuit relay's refusal because
 * the peer holds no reservation there (NO_RESERVATION) becomes PeerOfflineError (its cause the
 * libp2p error); any other error is returned as it is.
 */
function circuitError (err: unknown, who: string, relay: PeerId): Error {
  if (upstreamErrorKind(err) === 'no-reservation') {
    return new PeerOfflineError(`${who} holds no reservation on relay ${relay.toString()}`, { cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}
