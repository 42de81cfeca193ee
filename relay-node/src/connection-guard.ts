import { upstreamErrorKind } from '@auralink/core'
import { Server as NetServer } from 'node:net'
import { webSockets } from '@libp2p/websockets'
import { guardSockets, multiaddrAddressKey } from './socket-guard.js'
import { overriding } from './override.js'
import type { RelayConfig } from './config.js'
import type { ConnectionRefusal } from './metrics.js'
import type { SocketRefusal } from './socket-guard.js'
import type { ConnectionGater, Listener, MultiaddrConnection, PeerId, Transport, Upgrader } from '@libp2p/interface'
import type { WebSocketsComponents } from '@libp2p/websockets'
import type { Libp2pInit } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server as HttpServer } from 'node:http'
import type { Socket } from 'node:net'

/** What the libp2p part of the guard refuses or closes, as `auralink_relay_connections_refused_total{listener="libp2p",reason}` names it. */
export type Libp2pRefusal = Extract<ConnectionRefusal, 'max_connections' | 'max_pending' | 'inbound_rate' | 'connections_per_address' |
'pending_per_address' | 'connections_per_peer' | 'handshake_timeout'>

/** Options of `connectionGuard()`: the per-address caps. */
export interface ConnectionGuardInit {
  /** Inbound connections open at once from one address (`addressKey`), handshakes included. */
  maxConnectionsPerAddress: number
  /** Inbound connections still in their handshake at once from one address. */
  maxPendingConnectionsPerAddress: number
  /** Inbound connections open at once from one peer id. */
  maxConnectionsPerPeer: number
  /** libp2p's `maxConnections` and `maxIncomingPendingConnections`: only to name libp2p's own refusals. */
  maxConnections: number
  maxPendingConnections: number
  /** libp2p's `inboundUpgradeTimeout`: an upgrade that fails after this long timed out. */
  handshakeTimeoutMs: number
  /** Hears of every refusal; a listener that throws does not change the outcome. */
  onRefuse?: (reason: Libp2pRefusal, remote: string) => void
}

/** What the guard reads from the running node, attached once libp2p is built. */
export interface ConnectionGuardComponents {
  /** libp2p connections open now (`libp2p.getConnections().length`). */
  connections(): number
}

/** Per-address caps on inbound connections and handshakes (`connectionGuard()`): a connection gater plus the hooks the node wires in. */
export interface ConnectionGuard {
  /** Merge into libp2p's `connectionGater`. */
  readonly gater: Required<Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundEncryptedConnection' | 'denyInboundUpgradedConnection'>>
  /**
   * Hears that the inbound upgrade of `maConn` failed after `elapsedMs`: releases what the gater
   * counted for it, and names libp2p's own refusals (`ConnectionDeniedError` from its connection
   * manager) and handshake timeouts.
   */
  upgradeFailed(maConn: MultiaddrConnection, err: unknown, elapsedMs: number): void
  /** Starts using the node's components. */
  attach(components: ConnectionGuardComponents): void
  /** Inbound connections counted now: in their handshake, and all (handshakes included). */
  counts(): { pending: number, open: number }
  /** From now on failures are the node stopping, not refusals. */
  stop(): void
}

/** libp2p's `connectionManager` options from the relay's settings (`RelayConfig` documents each). */
export function connectionManagerInit (config: Pick<RelayConfig, 'maxConnections' | 'maxPendingConnections' | 'inboundConnectionRate' | 'handshakeTimeoutMs'>): NonNullable<Libp2pInit['connectionManager']> {
  return {
    maxConnections: config.maxConnections,
    maxIncomingPendingConnections: config.maxPendingConnections,
    inboundConnectionThreshold: config.inboundConnectionRate,
    inboundUpgradeTimeout: config.handshakeTimeoutMs
  }
}

/** The address key of a connection's remote multiaddr (its IP), or the whole multiaddr when it has none. */
export function remoteKey (addr: Multiaddr): string {
  return multiaddrAddressKey(addr) ?? addr.toString()
}

/**
 * Connection limits per remote address and per peer id for inbound libp2p connections, as a
 * connection gater: `denyInboundConnection` (connections and handshakes per address, counted
 * from the moment the socket is a libp2p connection), `denyInboundEncryptedConnection` (per
 * peer id, once Noise says who it is), `denyInboundUpgradedConnection` (the handshake is done).
 * Every count is released when the connection closes. libp2p's connection manager runs its own
 * checks (`maxConnections`, `maxIncomingPendingConnections`, `inboundConnectionThreshold`) before
 * the gater; `upgradeFailed` counts those refusals too.
 */
export function connectionGuard (init: ConnectionGuardInit): ConnectionGuard {
  return new Guard(init)
}

interface Entry { key: string, pending: boolean, peer?: string }

class Guard implements ConnectionGuard {
  readonly gater: ConnectionGuard['gater']
  private readonly init: ConnectionGuardInit
  private readonly open = new Map<string, number>()
  private readonly pending = new Map<string, number>()
  private readonly peers = new Map<string, number>()
  private readonly entries = new WeakMap<MultiaddrConnection, Entry>()
  private pendingTotal = 0
  private openTotal = 0
  private components?: ConnectionGuardComponents
  private stopped = false

  constructor (init: ConnectionGuardInit) {
    this.init = init
    this.gater = {
      denyInboundConnection: (maConn) => this.denyConnection(maConn),
      denyInboundEncryptedConnection: (peer, maConn) => this.denyPeer(peer, maConn),
      denyInboundUpgradedConnection: (_peer, maConn) => { this.upgraded(maConn); return false }
    }
  }

  attach (components: ConnectionGuardComponents): void {
    this.components = components
  }

  stop (): void {
    this.stopped = true
  }

  counts (): { pending: number, open: number } {
    return { pending: this.pendingTotal, open: this.openTotal }
  }

  upgradeFailed (maConn: MultiaddrConnection, err: unknown, elapsedMs: number): void {
    this.release(maConn)
    if (this.stopped) return
    if (upstreamErrorKind(err) === 'connection-denied') {
      // libp2p's connection manager refused it before the gater was asked; it does not say
      // why, so the reason is read from the state it checks, in its order after the deny list
      if (this.pendingTotal >= this.init.maxPendingConnections) this.refuse('max_pending', '')
      else if ((this.components?.connections() ?? 0) >= this.init.maxConnections) this.refuse('max_connections', '')
      else this.refuse('inbound_rate', '')
    } else if (elapsedMs >= this.init.handshakeTimeoutMs) {
      this.refuse('handshake_timeout', '')
    }
  }

  private refuse (reason: Libp2pRefusal, remote: string): true {
    try {
      this.init.onRefuse?.(reason, remote)
    } catch {
      // a metrics listener that throws must not decide the refusal
    }
    return true
  }

  private denyConnection (maConn: MultiaddrConnection): boolean {
    const key = remoteKey(maConn.remoteAddr)
    const remote = maConn.remoteAddr.toString()
    if ((this.open.get(key) ?? 0) >= this.init.maxConnectionsPerAddress) return this.refuse('connections_per_address', remote)
    if ((this.pending.get(key) ?? 0) >= this.init.maxPendingConnectionsPerAddress) return this.refuse('pending_per_address', remote)
    const entry: Entry = { key, pending: true }
    this.entries.set(maConn, entry)
    bump(this.open, key, 1)
    bump(this.pending, key, 1)
    this.openTotal++
    this.pendingTotal++
    if (maConn.status !== 'open') this.release(maConn)
    else maConn.addEventListener('close', () => { this.release(maConn) }, { once: true })
    return false
  }

  private denyPeer (peer: PeerId, maConn: MultiaddrConnection): boolean {
    const id = peer.toString()
    if ((this.peers.get(id) ?? 0) >= this.init.maxConnectionsPerPeer) return this.refuse('connections_per_peer', maConn.remoteAddr.toString())
    const entry = this.entries.get(maConn)
    // a connection the gater did not see open (none today): nothing to release it by
    if (entry === undefined || entry.peer !== undefined) return false
    entry.peer = id
    bump(this.peers, id, 1)
    return false
  }

  private upgraded (maConn: MultiaddrConnection): void {
    const entry = this.entries.get(maConn)
    if (entry === undefined || !entry.pending) return
    entry.pending = false
    bump(this.pending, entry.key, -1)
    this.pendingTotal--
  }

  private release (maConn: MultiaddrConnection): void {
    const entry = this.entries.get(maConn)
    if (entry === undefined) return
    this.upgraded(maConn)
    this.entries.delete(maConn)
    bump(this.open, entry.key, -1)
    this.openTotal--
    if (entry.peer !== undefined) bump(this.peers, entry.peer, -1)
  }
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n > 0) map.set(key, n)
  else map.delete(key)
}

/** Options of `guardedWebSockets()`: limits on the WebSocket listener's sockets. */
export interface GuardedWebSocketsInit {
  /** Milliseconds a socket has to finish its WebSocket upgrade (the HTTP request head). */
  headersTimeoutMs: number
  /** Sockets open at once on the port, in any state. */
  maxSockets: number
  /** Sockets open at once from one address. */
  maxSocketsPerAddress: number
  /** The connection guard that hears of failed upgrades. */
  guard: ConnectionGuard
  /** Hears of every socket refused or closed by the socket caps or the upgrade deadline. */
  onRefuse?: (reason: SocketRefusal, address: string) => void
}

/** The parts of @libp2p/websockets' (10.x) listener that the socket limits need; not in its types. */
interface WebSocketListenerInternals {
  /** The `node:net` server that accepts every socket and sniffs its first byte. */
  server?: unknown
  /** The `node:http` server it hands `/ws` sockets to; made in `listen()`. */
  http?: HttpServer
  https?: HttpServer
}

/**
 * `webSockets()` with limits below libp2p: partial HTTP requests and sockets that never finish
 * their WebSocket upgrade never reach libp2p's upgrader or gater, so they are capped here.
 *
 * @libp2p/websockets (10.x) takes only `http.ServerOptions` for the servers it makes, not a
 * server: its `node:http` server gets `headersTimeout`/`requestTimeout` through them, but it sees
 * a socket only after the socket's first byte, and its `node:net` server (which accepts every
 * socket) has no options at all. So the listener's servers are read from the listener that
 * `createListener()` returns (`server`, made in its constructor; `http`, made synchronously at
 * the start of `listen()`, before any socket can arrive) and `guardSockets()` caps the sockets
 * and gives each `headersTimeoutMs` to finish its upgrade (from the moment it is accepted; the
 * http server's `'upgrade'` event ends the deadline). If a later version renames these fields,
 * `createListener()` throws rather than run without the limits.
 *
 * The upgrader the listener is given is wrapped too: a failed inbound upgrade is reported to
 * the connection guard (libp2p's refusals, handshake timeouts) and its socket destroyed at once
 * (through the `ws` WebSocket the listener's connection holds, `websocket.terminate()`: the
 * listener would close it gracefully, which waits on a peer that may never answer); and so is
 * the socket of every inbound connection that ends with an error (aborted or reset), which
 * @libp2p/websockets 10.1.x leaves open (see `guardedUpgrader`).
 */
export function guardedWebSockets (init: GuardedWebSocketsInit): (components: WebSocketsComponents) => Transport {
  // the socket guard's deadline (headersTimeoutMs from accept) is the rule; Node's own timeouts,
  // a second later, are only a backstop (so each timeout is counted once, by the guard)
  const backstop = init.headersTimeoutMs + 1000
  const factory = webSockets({ http: { headersTimeout: backstop, requestTimeout: backstop, connectionsCheckingInterval: 1000 } })
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener({ ...options, upgrader: guardedUpgrader(options.upgrader, init.guard) })
      guardListener(listener, init)
      return listener
    }
    return transport
  }
}

/** The `ws` WebSocket behind an inbound connection of @libp2p/websockets (10.x); not in its types. */
function websocketOf (maConn: MultiaddrConnection): { terminate?: () => void } | undefined {
  return (maConn as unknown as { websocket?: { terminate?: () => void } }).websocket
}

function guardedUpgrader (upgrader: Upgrader, guard: ConnectionGuard): Upgrader {
  const upgradeInbound: Upgrader['upgradeInbound'] = async (maConn, options) => {
    // Upstream bug (@libp2p/websockets 10.1.21, websocket-to-conn.js): `abort()` calls
    // `sendReset()`, which is `websocket.close(1006)`; ws refuses to send 1006 ("First argument
    // must be a valid error code number"), libp2p logs "failed to send reset to remote", and the
    // socket stays open for as long as the peer keeps it, held against --max-sockets-per-address
    // and --max-sockets after libp2p has forgotten the connection. So whenever the connection
    // ends with an error (aborted here: the connection monitor, a muxer error, a failed upgrade;
    // or reset by the peer), its socket is destroyed. A graceful close (no error) is left to ws:
    // a close frame, then at most its 30 s close timeout.
    maConn.addEventListener('close', (evt) => {
      if (evt.error != null) websocketOf(maConn)?.terminate?.()
    }, { once: true })
    const started = Date.now()
    try {
      await upgrader.upgradeInbound(maConn, options)
    } catch (err) {
      guard.upgradeFailed(maConn, err, Date.now() - started)
      // the listener closes a failed connection gracefully: a WebSocket close frame, then up to
      // 30 s (ws's close timeout) for an answer a squatter never sends. So the socket is
      // destroyed here, at once (the abort below would destroy it too, through the listener above).
      websocketOf(maConn)?.terminate?.()
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }
  return overriding(upgrader, { upgradeInbound })
}

function guardListener (listener: Listener, init: GuardedWebSocketsInit): void {
  const internals = listener as unknown as WebSocketListenerInternals
  if (!(internals.server instanceof NetServer)) {
    throw new Error('@libp2p/websockets: its listener has no node:net `server` to put the socket limits on (changed in this version?)')
  }
  const sockets = guardSockets(internals.server, {
    maxSockets: init.maxSockets,
    maxPerAddress: init.maxSocketsPerAddress,
    deadlineMs: init.headersTimeoutMs,
    ...(init.onRefuse !== undefined ? { onRefuse: init.onRefuse } : {})
  })
  const listen = listener.listen.bind(listener)
  listener.listen = async (ma) => {
    const listening = listen(ma)
    const servers = [internals.http, internals.https].filter((s) => s !== undefined)
    for (const s of servers) s.on('upgrade', (_req, socket: Socket) => { sockets.done(socket) })
    if (servers.length === 0) {
      await listening.catch(() => {})
      await listener.close()
      throw new Error('@libp2p/websockets: its listener made no node:http server to end the upgrade deadline on (changed in this version?)')
    }
    await listening
  }
}
