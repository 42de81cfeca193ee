import type { ReputationSaveError } from './errors.js'
import type { RelayStatus } from './relay-keeper.js'
import type { RelayReportEntry } from './relay-reports.js'
import type { ReportsReceived } from './report-exchange.js'
import type { MeshReputationInit } from './relay-reputation.js'
import type { RelayScore, RelayScorer } from './reputation/types.js'
import type { SafeEventEmitter } from '@auralink/core'
import type { AuraIdRecord, Ed25519PrivateKey, Profile, RelayAdvert, Visibility } from '@auralink/identity'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// The public types of a mesh node (createMeshNode in mesh-node.ts).

/** Options of `createMeshNode()`; every field is optional. */
export interface MeshNodeInit {
  /** The identity key: its PeerId is this node's address. @default a new Ed25519 key */
  privateKey?: Ed25519PrivateKey
  /**
   * The relays the node keeps connections and reservations on: multiaddrs
   * (`/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo...`), the same without `/p2p/<id>`, or WebSocket URLs
   * (`ws://127.0.0.1:4001`, `wss://relay.example.org`). Without an id, createMeshNode learns it from
   * the relay's handshake and pins it for the node's lifetime.
   */
  relays?: Array<string | Multiaddr>
  /**
   * ICE servers for WebRTC: `stun:`/`stuns:` ones for direct connections, `turn:`/`turns:` ones
   * (each with `username` and `credential`, else createMeshNode throws TypeError naming the
   * entry) for a dial's last phase only (see `MeshDialOptions.allowTurn`). Direct attempts and
   * inbound connections never use the TURN servers, except an inbound connection that starts while
   * a TURN-phase dial of this node runs (the README's "Dial order", docs/ARCHITECTURE.md "Relay
   * fallback"). Tests pass []; apps pass their own. @default []
   */
  iceServers?: RTCIceServer[]
  dial?: {
    /** Retries of a failed direct dial. @default 3 */
    retries?: number
    /** Backoff before the first retry, doubled each time. @default 250 */
    backoffMs?: number
    /**
     * One attempt's whole limit (a direct, relayed or TURN attempt); libp2p's per-address dial limit
     * and its limit on an inbound connection's upgrade are set to it as well. @default 15000
     */
    timeoutMs?: number
    /**
     * A direct or TURN attempt that makes no progress (no step of the WebRTC dial: signalling
     * stream, offer, answer, ICE candidates, upgrade) for this long, or for 20 round trips to the
     * relay it is signalled through when that is longer, is given up and retried; one that keeps
     * moving runs up to `timeoutMs`. @default 5000
     */
    stallMs?: number
  }
  /**
   * How often relays are checked (each connected one pinged, for its score) and lost ones
   * redialled. @default 2000
   */
  relayCheckIntervalMs?: number
  /**
   * How long the relay that a dial to a peer went through stays the first route tried for that
   * peer (then the ranking decides again); a failed dial through it drops it at once. 0 turns the
   * route cache off. @default 300000 (5 minutes)
   */
  routeCacheTtlMs?: number
  /**
   * Relay reputation: the scorer that ranks relays for reservations and dial routes, and where its
   * scores are kept between runs. See docs/reputation.md.
   * @default {} (a relayScorer() of the node's own, no store)
   */
  reputation?: MeshReputationInit
  /**
   * While fewer of its relays are up than it wants (as many as `relays` names, at most 2), the node
   * takes on relays it has heard of (`knownRelays()`), best-ranked first, this many at most: a node
   * whose only relay died moves its reservation to another relay of the network. A relay taken on
   * stays until the node stops, or until three redials of it in a row fail. 0 keeps the node to
   * `relays`. @default 2
   */
  adoptKnownRelays?: number
  /**
   * Throughput probes of connected relays (`/auralink/relay-probe/1.0.0`: the relay sends `bytes`
   * bytes, timed from the first to the last), for the score's bandwidth part: each relay when it
   * connects, then every `intervalMs`. `bytes` 0 turns probing off.
   * @default { bytes: 131072, intervalMs: 600000 }
   */
  relayProbe?: { bytes?: number, intervalMs?: number }
  /**
   * Which side of a new WebRTC connection runs the DTLS client, in Node (node-datachannel; browsers
   * keep their own choice). 'offerer' avoids the one-second DTLS retransmission that about half of
   * all Node dials paid with 'answerer', the role libp2p and node-datachannel pick by themselves
   * (src/webrtc-peer-connection.node.ts says why). 'answerer' is there for bench/connect's
   * side-by-side baseline and the test that shows the difference; both ends must use it, since
   * either end on 'offerer' makes the offerer the client.
   * @default 'offerer'
   * @internal
   */
  dtlsClient?: 'offerer' | 'answerer'
}

/**
 * How a dialled connection runs: 'direct' (WebRTC between the peers, host or server-reflexive
 * candidates), 'relayed' (a libp2p circuit through an AuraLink relay, with its data and time
 * limits) or 'turn' (WebRTC whose packets all go through a TURN server of `iceServers`).
 */
export type ConnectionPath = 'direct' | 'relayed' | 'turn'

/** A connection to a peer found by AuraID (or PeerId), saying which path it took. */
export interface MeshConnection {
  readonly connection: Connection
  readonly remotePeer: PeerId
  /** The AuraID dialled, when dialled by name. */
  readonly auraId?: string
  /** True for a WebRTC connection straight between the two peers; false through a relay's circuit or a TURN server. */
  readonly direct: boolean
  readonly path: ConnectionPath
  /** Dial attempts it took, of every phase (1 = first try). */
  readonly attempts: number
  /** Why it is not direct (what failed before), when it is not. */
  readonly fallbackReason?: string
  /**
   * The relay the connection went through (its signalling when direct, all of it when relayed)
   * when this node dialled it; undefined for a connection the other peer opened.
   */
  readonly relay?: PeerId
  /** Opens a stream for `protocol` on this connection. */
  newStream(protocol: string, options?: AbortOptions): Promise<Stream>
  /** Closes gracefully; a close that does not finish in time aborts the connection instead (rejecting only when `options.signal` aborted). */
  close(options?: AbortOptions): Promise<void>
}

/** Options of `node.dial()`: which fallbacks to allow, and `signal`. */
export interface MeshDialOptions extends AbortOptions {
  /**
   * Try direct WebRTC first. false skips that phase: a call that lost its path re-dials this way,
   * through a relay's circuit at once, rather than waiting out direct tries on a network that is
   * down (set `allowRelayed` too). @default true
   */
  allowDirect?: boolean
  /** Fall back to a relayed connection (with the relay's data and time limits) when every direct try fails. @default false */
  allowRelayed?: boolean
  /**
   * Last, when direct tries and the relayed fallback (if allowed) failed, try WebRTC through the
   * TURN servers of `MeshNodeInit.iceServers` (`iceTransportPolicy: 'relay'`, one try per dial
   * route): path 'turn'. No effect without TURN servers. @default true when TURN servers are configured
   */
  allowTurn?: boolean
  /**
   * Progress of the dial's WebRTC attempts, as libp2p reports it (`webrtc:dial-relay`,
   * `webrtc:send-sdp-offer`, `webrtc:read-sdp-answer`, ...): the SDK times a call's setup with it.
   */
  onProgress?: (event: { type: string }) => void
  /**
   * The whole dial's limit in ms, resolving the AuraID included. Within it, failed direct attempts
   * are retried past `MeshNodeInit.dial.retries` for as long as another attempt fits before the
   * limit (backoff at most 2 s), keeping one attempt's time (`dial.timeoutMs`) for the relayed and
   * TURN phases when those are allowed; when it runs out the dial rejects with DialFailedError
   * naming every phase it tried. Without it, `dial.retries` alone bounds the direct phase.
   * `signal` still aborts the dial at any moment, with its own reason.
   */
  timeoutMs?: number
}

/** Options of `register()`: what the signed record says besides the name. */
export interface RegisterOptions extends AbortOptions {
  /** @default 'public' */
  visibility?: Visibility
  profile?: Profile
  /** End of validity, ms since the epoch. @default now + 30 days */
  validity?: number
}

/** The events of a mesh node, by name. */
export interface MeshNodeEvents {
  'relay:reserved': CustomEvent<{ relay: PeerId }>
  'relay:lost': CustomEvent<{ relay: PeerId }>
  /** A direct dial attempt through `relay` failed; the dial goes on with the next route. */
  'dial:retry': CustomEvent<{ peer: PeerId, relay: PeerId, attempt: number, error: Error }>
  /**
   * Another peer sent a batch of signed relay reports (`/auralink/relay-reports/1.0.0`): how many
   * the scorer kept (each weighted by the reporter's trust), or why the batch was refused.
   */
  'reports:received': CustomEvent<ReportsReceived>
  /** A periodic save to `reputation.store` failed; the node tries again at the next interval. */
  'reputation:save-failed': CustomEvent<{ error: ReputationSaveError }>
}

/** One of the node's relays, as `node.relays()` lists them: its address, reservation and score. */
export interface RelayInfo {
  readonly peerId: PeerId
  readonly addr: Multiaddr
  /** 'configured' (one of `relays`) or 'known' (taken on from a relay list: see `adoptKnownRelays`). */
  readonly origin: RelayStatus['origin']
  readonly state: RelayStatus['state']
  readonly failures: number
  readonly lastError?: string
  /** The relay's score from the node's scorer (`reputation.scorer`): `total`, higher is better, and its `parts`. */
  readonly score: RelayScore
}

/** A mesh node, made by `createMeshNode()`: a libp2p node that keeps relay reservations, registers and resolves AuraIDs and dials peers by name. */
export interface MeshNode extends SafeEventEmitter<MeshNodeEvents> {
  readonly libp2p: Libp2p
  readonly peerId: PeerId
  /** The scorer that ranks this node's relays (`reputation.scorer`, or the node's own). */
  readonly scorer: RelayScorer
  /**
   * Starts the node; with a `reputation.store`, first loads its scores (ReputationLoadError when that
   * fails). A second call while it starts resolves when that start is done.
   */
  start(): Promise<void>
  /**
   * Stops the node; with a `reputation.store`, saves its scores last (ReputationSaveError when that
   * fails, once all is stopped). Idempotent: a second call while it stops resolves when it has stopped.
   */
  stop(): Promise<void>
  /**
   * Resolves as soon as a relay holds a reservation for us, so others can dial us. Rejects with
   * RelayUnreachableError at once when every relay's dial failed for a reason other than a timeout
   * (refused, another peer id: WrongRelayIdError's message), naming each address and reason.
   */
  waitForReservation(options?: AbortOptions): Promise<void>
  /** The configured relays with their state and score, best score first. */
  relays(): RelayInfo[]
  /**
   * Other relays this node has heard of: verified, unexpired adverts from its relays' relay lists
   * (`/auralink/relays/1.0.0`, asked when a reservation is made and every 5 minutes), at most 1024.
   * The node takes some on when too few of its own relays are up (`adoptKnownRelays`).
   */
  knownRelays(): RelayAdvert[]
  /** Signs a record binding `name` to this node's key and registers it at every connected relay. */
  register(name: string, options?: RegisterOptions): Promise<AuraIdRecord>
  /** Releases `name` at every connected relay with a signed unregister proof. */
  unregister(name: string, options?: AbortOptions): Promise<void>
  /** The verified record of `name`; AuraIdNotFoundError when no directory knows it. */
  resolve(name: string, options?: AbortOptions & { cache?: boolean }): Promise<AuraIdRecord>
  /** Public records whose names start with `prefix`. */
  search(prefix: string, options?: AbortOptions & { limit?: number }): Promise<AuraIdRecord[]>
  /**
   * Dials `@name.aura` (or a PeerId): direct WebRTC signalled through a relay's /p2p-circuit/webrtc
   * (with retries), then a relayed connection when `allowRelayed`, then WebRTC through TURN when
   * configured and `allowTurn` is not false. DialFailedError (saying what was tried) when all fail.
   */
  dial(target: string | PeerId, options?: MeshDialOptions): Promise<MeshConnection>
  /**
   * Signs this node's opinions of relays (`entries`, or by default the reputation part of each
   * relay it has data on) and sends them to `peer` (over a connection to it, else relayed through
   * our relays). The receiver weighs them by its trust in us (docs/reputation.md).
   */
  sendRelayReports(peer: PeerId, entries?: RelayReportEntry[], options?: AbortOptions): Promise<void>
  /** Handles incoming streams for `protocol` (libp2p's `handle`). */
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  /** Stops handling `protocol`. */
  unhandle(protocol: string): Promise<void>
}
