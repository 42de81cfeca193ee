import { SafeEventEmitter } from '@auralink/core'
import { DirectoryOp, MAX_RELAY_PROBE_BYTES } from '@auralink/protocol'
import { createRecord, createUnregister, MAX_RECORD_RELAYS, selectRecord, validateAuraId, verifyRecord } from '@auralink/identity'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { defaultLogger } from '@libp2p/logger'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import {
  DATA_CHANNEL_MESSAGE_BYTES, DEFAULT_DTLS_CLIENT, DTLS_CLIENT_CONFIG_KEY, DEFAULT_ADOPTED_RELAYS, DEFAULT_DIAL_BACKOFF_MS, DEFAULT_DIAL_STALL_MS, DEFAULT_DIAL_STALL_RTTS, DEFAULT_RELAY_PROBE_BYTES, DEFAULT_DIAL_RETRIES, DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_RELAY_RESERVATIONS,
  DEFAULT_KNOWN_RELAYS, DEFAULT_RELAY_LIST_INTERVAL_MS, DEFAULT_RESOLVE_CACHE_SIZE, DEFAULT_ROUTE_CACHE_SIZE,
  DEFAULT_ROUTE_CACHE_TTL_MS, MAX_RESOLVE_CACHE_MS, RELAY_DIAL_TIMEOUT_MS
} from './constants.js'
import { meshConnectionGater } from './dial-policy.js'
import { directoryRequest } from './directory-client.js'
import { AuraIdNotFoundError, DirectoryRejectedError, InvalidStateError, RelayUnreachableError } from './errors.js'
import { sameSet } from './dial-routes.js'
import { IcePolicy } from './ice-policy.js'
import { splitIceServers } from './ice-servers.js'
import { MeshDialler } from './mesh-dialler.js'
import { learnRelayIds, parseRelayAddress } from './relay-address.js'
import { RelayKeeper } from './relay-keeper.js'
import { pingRelay } from './relay-ping.js'
import { probeRelay } from './relay-probe.js'
import { RelayReputation } from './relay-reputation.js'
import { fetchRelayList } from './relay-list-client.js'
import { ReportExchange } from './report-exchange.js'
import { RouteCache } from './route-cache.js'
import type { MeshDiallerComponents } from './mesh-dialler.js'
import type { RelayStatus } from './relay-keeper.js'
import type { MeshConnection, MeshDialOptions, MeshNode, MeshNodeEvents, MeshNodeInit, RegisterOptions, RelayInfo } from './mesh-types.js'
import type { RelayReportEntry } from './relay-reports.js'
import type { RelayScorer } from './reputation/types.js'
import type { AuraIdRecord, Ed25519PrivateKey, RelayAdvert } from '@auralink/identity'
import type { AbortOptions, Libp2p, PeerId, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { RelayAddress } from './relay-address.js'

export type {
  ConnectionPath, MeshConnection, MeshDialOptions, MeshNode, MeshNodeEvents, MeshNodeInit, RegisterOptions, RelayInfo
} from './mesh-types.js'

/**
 * Builds an AuraLink mesh node: a libp2p 3 node with WebSockets (to relays), WebRTC (to
 * peers), circuit relay v2, Noise, yamux, identify and ping; it keeps reservations on its
 * relays, registers and resolves AuraIDs through their directories, and dials peers by name.
 * It scores its relays from its own checks, reservations and dials (`init.reputation`,
 * docs/reputation.md) and tries the best first.
 *
 * A relay given without its peer id (`ws://host:port`, `wss://host`, a multiaddr without `/p2p/`)
 * is dialled once here to learn the id from the Noise handshake; the id is then pinned for the
 * node's lifetime (a later connection there that proves another id is refused, with
 * WrongRelayIdError in the relay's `lastError`). Rejects with RelayUnreachableError when no such
 * relay answers and no relay with a known id is given.
 */
export async function createMeshNode (init: MeshNodeInit = {}, options: AbortOptions = {}): Promise<MeshNode> {
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  if (init.relays !== undefined && !Array.isArray(init.relays)) throw new TypeError(`relays must be an array of multiaddrs, got ${typeof init.relays}`)
  const relays = await pinRelays((init.relays ?? []).map((r, i) => parseRelayAddress(r, i)), options)
  const iceServers = splitIceServers(init.iceServers)
  const ice = new IcePolicy(iceServers)
  const dtlsClient = init.dtlsClient ?? DEFAULT_DTLS_CLIENT
  if (dtlsClient !== 'offerer' && dtlsClient !== 'answerer') throw new TypeError(`dtlsClient must be 'offerer' or 'answerer', got ${JSON.stringify(dtlsClient)}`)
  // the Node build's RTCPeerConnection makes the offerer the DTLS client unless told otherwise
  // (webrtc-peer-connection.node.ts)
  const rtcConfiguration = dtlsClient === 'offerer' ? ice.rtcConfiguration : (): RTCConfiguration => Object.assign(ice.rtcConfiguration(), { [DTLS_CLIENT_CONFIG_KEY]: 'answerer' })
  const attemptMs = init.dial?.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
  if (!(Number.isFinite(attemptMs) && attemptMs > 0)) throw new RangeError(`dial.timeoutMs must be a number > 0, got ${attemptMs}`)
  const libp2p = await createLibp2p({
    privateKey,
    start: false,
    addresses: {
      // one reservation wanted per configured relay, at least one and at most two, and WebRTC
      // listening. Each '/p2p-circuit' is a slot the circuit relay transport fills with the first
      // relay whose connection comes up (identify shows the hop protocol); the keeper dials the
      // best-ranked relays first so the slots go to them (see relay-keeper.ts)
      listen: [...Array.from({ length: Math.max(1, Math.min(relays.length, DEFAULT_RELAY_RESERVATIONS)) }, () => '/p2p-circuit'), '/webrtc']
    },
    transports: [
      webSockets(),
      // 64 KiB data-channel messages instead of libp2p's 16 KiB (see constants.ts); the ICE
      // servers of each new peer connection: STUN only, TURN only during a dial's TURN phase
      // (ice-policy.ts)
      webRTC({ rtcConfiguration, dataChannel: { maxMessageSize: DATA_CHANNEL_MESSAGE_BYTES } }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p's fixed 6 s per address (dialling side) and 10 s per inbound upgrade (answering side)
    // cut WebRTC dials that were still progressing on a busy machine; the dialler's attempt limits
    // (a stall limit scaled by the relay's RTT inside dial.timeoutMs: dial-progress.ts) decide instead
    // (never below the relay dials' own limit, which the keeper's relay dials rely on)
    connectionManager: { addressDialTimeout: Math.max(attemptMs, RELAY_DIAL_TIMEOUT_MS), inboundUpgradeTimeout: Math.max(attemptMs, RELAY_DIAL_TIMEOUT_MS) },
    // plain ws:// to loopback, private and configured relays; libp2p's browser default refuses
    // those (see dial-policy.ts)
    connectionGater: meshConnectionGater(relays.map((r) => r.peerId)),
    // two outbound ping streams per connection, not the ping service's one: libp2p's connection
    // monitor pings every connection on /ipfs/ping/1.0.0 every 10 s, and the relay keeper pings
    // each relay on the same protocol every check (relay-ping.ts). With one allowed, a monitor ping
    // that starts while a keeper ping is open fails ("Too many outbound protocol streams ... 2/1"),
    // and the monitor, when it still aborted on a failed ping (below), dropped the relay
    // connection: the reservation is lost, and callers meanwhile get MALFORMED_MESSAGE from the
    // relay (the connection it picks for us is the dropped one). Two is what a listener accepts
    // (the ping spec; the relay's ping service keeps libp2p's default of two inbound).
    services: { identify: identify(), ping: ping({ maxOutboundStreams: 2 }) },
    // the monitor's pings go on (they give connections their RTT), but a failed one no longer
    // aborts the connection. It aborted direct WebRTC connections that carried calls whenever a
    // ping stream could not open within 5 s: on a busy machine (six group-call pages on two cores)
    // 51 aborts in one test run, each a call broken and re-dialled while its media was flowing. A
    // call's own heartbeat decides when its peer is gone (and ICE consent ends a dead peer
    // connection); a relay that goes silent is closed by the relay keeper after
    // DEFAULT_RELAY_CLOSE_AFTER_FAILED_PINGS of its pings (relay-keeper.ts)
    connectionMonitor: { abortConnectionOnPingFailure: false }
  })
  return new AuraMeshNode(libp2p, privateKey, init, relays.map((r) => r.addr), { ice, iceServers })
}

/**
 * Relays given without a peer id get the id their relay proves (learnRelayIds), encapsulated into
 * their address. One that cannot be reached is left out (and logged) while another relay remains;
 * when none remains, RelayUnreachableError names every address and its reason.
 */
async function pinRelays (relays: RelayAddress[], options: AbortOptions): Promise<Array<Required<RelayAddress>>> {
  const unknown = relays.filter((r) => r.peerId === undefined)
  const learnt = await learnRelayIds(unknown.map((r) => r.addr), options)
  const out: Array<Required<RelayAddress>> = []
  const failed: Error[] = []
  for (const r of relays) {
    if (r.peerId !== undefined) { out.push({ addr: r.addr, peerId: r.peerId }); continue }
    const id = learnt[unknown.indexOf(r)]
    if (id === undefined || id instanceof Error) { failed.push(id ?? new RelayUnreachableError(`relay ${r.addr.toString()}: no answer`)); continue }
    out.push({ addr: r.addr.encapsulate(`/p2p/${id.toString()}`), peerId: id })
  }
  if (failed.length > 0) {
    if (out.length === 0) throw new RelayUnreachableError(`no relay could be reached (${failed.map((e) => e.message).join('; ')})`, { cause: failed[0] })
    defaultLogger().forComponent('auralink:mesh').error('leaving out relays whose peer id could not be learnt: %s', failed.map((e) => e.message).join('; '))
  }
  return out
}

interface CacheEntry { record: AuraIdRecord, expires: number }

class AuraMeshNode extends SafeEventEmitter<MeshNodeEvents> implements MeshNode {
  readonly libp2p: Libp2p
  readonly peerId: PeerId
  private readonly key: Ed25519PrivateKey
  private readonly keeper: RelayKeeper
  private readonly reputation: RelayReputation
  private readonly log = defaultLogger().forComponent('auralink:mesh')
  private readonly cache = new Map<string, CacheEntry>()
  private readonly routes: RouteCache
  private refreshing: Promise<void> = Promise.resolve()
  private readonly known = new Map<string, RelayAdvert>()
  private readonly listing = new Set<string>()
  private listTimer: ReturnType<typeof setInterval> | undefined
  private readonly reports: ReportExchange
  private readonly registered = new Map<string, AuraIdRecord>()
  private readonly dialler: MeshDialler
  private running = false
  /** Memoised so that a second start() or stop() waits for the same work (relay-node/src/node.ts does the same). */
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined

  constructor (libp2p: Libp2p, key: Ed25519PrivateKey, init: MeshNodeInit, relays: Array<string | Multiaddr>, ice: Pick<MeshDiallerComponents, 'ice' | 'iceServers'>) {
    super()
    this.libp2p = libp2p
    this.key = key
    this.peerId = libp2p.peerId
    const dialInit = {
      retries: init.dial?.retries ?? DEFAULT_DIAL_RETRIES,
      backoffMs: init.dial?.backoffMs ?? DEFAULT_DIAL_BACKOFF_MS,
      timeoutMs: init.dial?.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      stallMs: init.dial?.stallMs ?? DEFAULT_DIAL_STALL_MS,
      stallRtts: DEFAULT_DIAL_STALL_RTTS
    }
    if (!Number.isInteger(dialInit.retries) || dialInit.retries < 0) {
      throw new RangeError(`dial.retries must be a whole number >= 0, got ${dialInit.retries}`)
    }
    if (!(Number.isFinite(dialInit.stallMs) && dialInit.stallMs > 0)) {
      throw new RangeError(`dial.stallMs must be a number > 0, got ${dialInit.stallMs}`)
    }
    const adopt = init.adoptKnownRelays ?? DEFAULT_ADOPTED_RELAYS
    if (!Number.isInteger(adopt) || adopt < 0) {
      throw new RangeError(`adoptKnownRelays must be a whole number >= 0, got ${adopt}`)
    }
    const probeBytes = init.relayProbe?.bytes ?? DEFAULT_RELAY_PROBE_BYTES
    if (!Number.isInteger(probeBytes) || probeBytes < 0 || probeBytes > MAX_RELAY_PROBE_BYTES) {
      throw new RangeError(`relayProbe.bytes must be a whole number from 0 to ${MAX_RELAY_PROBE_BYTES}, got ${probeBytes}`)
    }
    const probeInterval = init.relayProbe?.intervalMs
    if (probeInterval !== undefined && !(Number.isFinite(probeInterval) && probeInterval > 0)) {
      throw new RangeError(`relayProbe.intervalMs must be a number > 0, got ${probeInterval}`)
    }
    this.routes = new RouteCache({ ttlMs: init.routeCacheTtlMs ?? DEFAULT_ROUTE_CACHE_TTL_MS, maxEntries: DEFAULT_ROUTE_CACHE_SIZE })
    this.reputation = new RelayReputation(init.reputation, {
      saveFailed: (error) => { this.safeDispatchEvent('reputation:save-failed', { detail: { error } }) }
    }, defaultLogger().forComponent('auralink:mesh:reputation'))
    this.dialler = new MeshDialler({
      libp2p,
      scorer: this.reputation.scorer,
      routes: this.routes,
      ...ice,
      connectedRelays: () => this.connectedRelays(),
      retry: (detail) => { this.safeDispatchEvent('dial:retry', { detail }) },
      // the relay keeper's pings, smoothed (reputation); else libp2p's connection monitor's last ping
      relayRttMs: (relay) => this.reputation.scorer.toJSON().relays[relay.toString()]?.rtt?.mean ??
        this.libp2p.getConnections(relay).find((c) => c.rtt !== undefined)?.rtt,
      log: defaultLogger().forComponent('auralink:mesh:dial')
    }, dialInit)
    this.keeper = new RelayKeeper({
      libp2p,
      scorer: this.reputation.scorer,
      // the ping protocol of the node's ping service, with a client that closes its streams (relay-ping.ts)
      ping: async (relay: PeerId, options: AbortOptions) => pingRelay(libp2p, relay, options),
      candidates: () => this.knownRelays().map((a) => ({ peerId: a.peerId, addrs: a.addrs })),
      ...(probeBytes > 0 ? { probe: async (relay: PeerId, options: AbortOptions) => (await probeRelay(libp2p, relay, probeBytes, options)).bytesPerSecond } : {}),
      log: this.log
    }, {
      relays,
      reservations: DEFAULT_RELAY_RESERVATIONS,
      adopt,
      ...(probeInterval !== undefined ? { probeIntervalMs: probeInterval } : {}),
      ...(init.relayCheckIntervalMs !== undefined ? { checkIntervalMs: init.relayCheckIntervalMs } : {})
    }, {
      reserved: (r) => {
        this.safeDispatchEvent('relay:reserved', { detail: { relay: r.peerId } })
        void this.reregister(r.peerId).then(async () => this.refreshRelays())
        void this.askRelayList(r.peerId)
      },
      lost: (r) => {
        this.safeDispatchEvent('relay:lost', { detail: { relay: r.peerId } })
        void this.refreshRelays()
      }
    })
    this.reports = new ReportExchange({
      libp2p,
      key,
      scorer: this.reputation.scorer,
      log: defaultLogger().forComponent('auralink:mesh:reports'),
      relays: () => this.keeper.connected(),
      received: (detail) => { this.safeDispatchEvent('reports:received', { detail }) }
    })
  }

  get scorer (): RelayScorer { return this.reputation.scorer }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a listener of %s threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /** Starts the node; a second call while it starts waits for the same start, and one while it stops starts it again after. */
  async start (): Promise<void> {
    await this.stopping
    const starting = this.starting ??= this.startOnce()
    try {
      await starting
    } catch (err) {
      if (this.starting === starting) this.starting = undefined
      throw err
    }
  }

  private async startOnce (): Promise<void> {
    // before anything runs: a corrupt snapshot leaves the node stopped (ReputationLoadError)
    await this.reputation.load()
    await this.libp2p.start()
    await this.reports.start()
    this.keeper.start()
    this.listTimer = setInterval(() => {
      for (const r of this.keeper.connected()) void this.askRelayList(r.peerId)
    }, DEFAULT_RELAY_LIST_INTERVAL_MS)
    this.reputation.start()
    this.running = true
    this.log('started as %p', this.peerId)
  }

  /** Stops the node; idempotent, and a second call while it stops waits until the first is done. */
  async stop (): Promise<void> {
    const starting = this.starting
    if (starting === undefined) { await this.stopping; return }
    this.stopping ??= (async () => {
      try {
        await starting.catch(() => {})
        if (this.running) await this.stopOnce()
      } finally {
        this.starting = undefined
      }
    })().finally(() => { this.stopping = undefined })
    await this.stopping
  }

  private async stopOnce (): Promise<void> {
    this.running = false
    this.keeper.stop()
    clearInterval(this.listTimer)
    try {
      await this.reports.stop()
      await this.libp2p.stop()
    } finally {
      this.cache.clear()
      this.routes.clear()
      this.known.clear()
      // last, so it holds everything measured; rejects (ReputationSaveError) once all is released
      await this.reputation.stop()
      this.log('stopped')
    }
  }

  private assertRunning (): void {
    if (!this.running) throw new InvalidStateError('mesh node is not started (call start() first) or was stopped')
  }

  async waitForReservation (options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    await this.keeper.waitForReservation(options.signal ?? AbortSignal.timeout(30_000))
  }

  relays (): RelayInfo[] {
    return this.reputation.rank(this.keeper.relays).map(({ item: r, score }) => ({
      peerId: r.peerId, addr: r.addr, origin: r.origin, state: r.state, failures: r.failures, ...(r.lastError !== undefined ? { lastError: r.lastError } : {}), score
    }))
  }

  /** Connected relays, best score first: the order of dial routes. */
  private connectedRelays (): RelayStatus[] {
    const relays = this.keeper.connected()
    if (relays.length === 0) {
      const why = this.keeper.relays.map((r) => `${r.addr.toString()}: ${r.lastError ?? r.state}`).join('; ')
      throw new RelayUnreachableError(this.keeper.relays.length === 0
        ? 'no relays configured (MeshNodeInit.relays is empty)'
        : `no relay is reachable (${why})`)
    }
    return relays
  }

  async register (name: string, options: RegisterOptions = {}): Promise<AuraIdRecord> {
    this.assertRunning()
    validateAuraId(name)
    const relays = this.connectedRelays().map((r) => r.peerId)
    // continue our own sequence: ask the directories what they hold for this name
    let sequence = (this.registered.get(name)?.sequence ?? 0) + 1
    try {
      const held = await this.resolve(name, { ...options, cache: false })
      if (held.peerId.equals(this.peerId)) sequence = Math.max(sequence, held.sequence + 1)
    } catch (err) {
      if (!(err instanceof AuraIdNotFoundError)) throw err
    }
    const record = await createRecord(this.key, {
      name, sequence, relays: this.reachableThrough(), ...pick(options, ['visibility', 'profile', 'validity'])
    })
    const results = await Promise.allSettled(relays.map(async (relay) =>
      directoryRequest(this.libp2p, relay, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes }, options)))
    const ok = results.filter((r) => r.status === 'fulfilled').length
    if (ok === 0) {
      const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      throw first?.reason instanceof Error ? first.reason : new RelayUnreachableError('registration failed at every relay')
    }
    this.registered.set(name, record)
    this.cache.set(name, { record, expires: Date.now() + Math.min(record.ttl * 1000, MAX_RESOLVE_CACHE_MS) })
    this.log('registered %s (sequence %d) at %d of %d relays', name, sequence, ok, relays.length)
    return record
  }

  /** A relay came (back): send it our records again so a relay that lost its data learns them. */
  private async reregister (relay: PeerId): Promise<void> {
    for (const record of this.registered.values()) {
      try {
        await directoryRequest(this.libp2p, relay, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes })
      } catch (err) {
        this.log('re-registering %s at %p failed: %s', record.name, relay, (err as Error).message)
      }
    }
  }

  /** The relays this node can be reached through now, for its records: those holding a reservation for it (else those connected), at most 4. */
  private reachableThrough (): string[] {
    const reserved = this.keeper.relays.filter((r) => r.state === 'reserved')
    return (reserved.length > 0 ? reserved : this.keeper.connected()).slice(0, MAX_RECORD_RELAYS).map((r) => r.addr.toString())
  }

  /**
   * Our reservations moved: records naming other relays are signed again (next sequence) and
   * registered, so that diallers on other relays find where we are. One refresh at a time.
   */
  private async refreshRelays (): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.running) return
      const now = this.reachableThrough()
      for (const record of [...this.registered.values()]) {
        if (sameSet(record.relays, now)) continue
        try {
          await this.register(record.name, { visibility: record.visibility, validity: record.validity, ...(record.profile !== undefined ? { profile: record.profile } : {}) })
        } catch (err) {
          this.log('re-signing %s with our relays failed: %s', record.name, (err as Error).message)
        }
      }
    }
    this.refreshing = this.refreshing.then(run, run)
    await this.refreshing
  }

  async unregister (name: string, options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    validateAuraId(name)
    const proof = await createUnregister(this.key, name, options)
    const results = await Promise.allSettled(this.connectedRelays().map(async ({ peerId: relay }) =>
      directoryRequest(this.libp2p, relay, { op: DirectoryOp.DIRECTORY_OP_UNREGISTER, unregister: proof }, options)))
    this.registered.delete(name)
    this.cache.delete(name)
    if (!results.some((r) => r.status === 'fulfilled')) {
      const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      throw first?.reason instanceof Error ? first.reason : new RelayUnreachableError('unregister failed at every relay')
    }
  }

  async resolve (name: string, options: AbortOptions & { cache?: boolean } = {}): Promise<AuraIdRecord> {
    this.assertRunning()
    validateAuraId(name)
    const cached = this.cache.get(name)
    if (options.cache !== false && cached !== undefined) {
      if (cached.expires > Date.now() && cached.record.validity > Date.now()) return cached.record
      this.cache.delete(name)
    }
    const relays = this.connectedRelays().map((r) => r.peerId)
    let best: AuraIdRecord | undefined
    const failures: Error[] = []
    await Promise.all(relays.map(async (relay) => {
      try {
        const res = await directoryRequest(this.libp2p, relay, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name }, options)
        const bytes = res.records[0]
        if (bytes === undefined) return
        const record = await verifyRecord(bytes, options)
        if (record.name !== name) {
          throw new DirectoryRejectedError('BAD_RESPONSE', `relay ${relay.toString()} answered ${name} with a record for ${record.name}`)
        }
        if (best === undefined || selectRecord(best, record) === 1) best = record
      } catch (err) {
        failures.push(err as Error)
      }
    }))
    if (best !== undefined) {
      if (this.cache.size >= DEFAULT_RESOLVE_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string)
      this.cache.set(name, { record: best, expires: Date.now() + Math.min(best.ttl * 1000, MAX_RESOLVE_CACHE_MS) })
      return best
    }
    if (failures.every((e) => e instanceof DirectoryRejectedError && e.reason === 'NOT_FOUND')) {
      throw new AuraIdNotFoundError(name)
    }
    const other = failures.find((e) => !(e instanceof DirectoryRejectedError && e.reason === 'NOT_FOUND'))
    throw other ?? new AuraIdNotFoundError(name)
  }

  async search (prefix: string, options: AbortOptions & { limit?: number } = {}): Promise<AuraIdRecord[]> {
    this.assertRunning()
    if (typeof prefix !== 'string' || prefix === '') throw new TypeError(`search prefix must be a non-empty string, got ${JSON.stringify(prefix)}`)
    const byName = new Map<string, AuraIdRecord>()
    for (const { peerId: relay } of this.connectedRelays()) {
      const res = await directoryRequest(this.libp2p, relay, { op: DirectoryOp.DIRECTORY_OP_SEARCH, prefix, limit: options.limit ?? 0 }, options)
      for (const bytes of res.records) {
        try {
          const record = await verifyRecord(bytes, options)
          const known = byName.get(record.name)
          if (known === undefined || selectRecord(known, record) === 1) byName.set(record.name, record)
        } catch (err) {
          this.log('search: relay %p sent a record that does not verify: %s', relay, (err as Error).message)
        }
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  async dial (target: string | PeerId, options: MeshDialOptions = {}): Promise<MeshConnection> {
    this.assertRunning()
    const { timeoutMs } = options
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`dial options.timeoutMs must be a number > 0, got ${String(timeoutMs)}`)
    }
    // the whole dial's limit, apart from the caller's signal so that the dialler can tell which fired
    const limit = timeoutMs !== undefined ? { ms: timeoutMs, deadline: Date.now() + timeoutMs, signal: AbortSignal.timeout(timeoutMs) } : undefined
    let peer: PeerId
    let auraId: string | undefined
    let theirRelays: readonly string[] = []
    if (typeof target === 'string') {
      auraId = validateAuraId(target)
      const signals = [options.signal, limit?.signal].filter((x) => x !== undefined)
      const record = await this.resolve(auraId, { ...options, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) })
      peer = record.peerId
      theirRelays = record.relays
    } else if (target != null && typeof target === 'object' && 'toMultihash' in target) {
      peer = target
    } else {
      throw new TypeError(`dial target must be an AuraID or a PeerId, got ${JSON.stringify(target)}`)
    }
    if (peer.equals(this.peerId)) throw new TypeError(`dial target ${auraId ?? peer.toString()} is this node itself`)
    return this.dialler.dial(peer, auraId, theirRelays, options, limit)
  }

  knownRelays (): RelayAdvert[] {
    const now = Date.now()
    return [...this.known.values()].filter((a) => a.expiresAt > now).sort((a, b) => a.peerId.toString().localeCompare(b.peerId.toString()))
  }

  /**
   * Asks a relay for its relay list: its own advert feeds its score's static parts (AIC support,
   * one hop), the others join `knownRelays()`, and each advert that does not verify counts as a
   * violation against the relay that passed it on. One request per relay at a time.
   */
  private async askRelayList (relay: PeerId): Promise<void> {
    const id = relay.toString()
    if (this.listing.has(id) || !this.running) return
    this.listing.add(id)
    try {
      const list = await fetchRelayList(this.libp2p, relay)
      const scorer = this.reputation.scorer
      if (list.own !== undefined) scorer.setRelayInfo(relay, { hops: 1, aicSupport: list.own.aicSupport })
      for (const err of list.invalid) scorer.recordViolation(relay, `relay list: ${err.message}`.slice(0, 200))
      for (const advert of list.others) {
        const key = advert.peerId.toString()
        if ((this.known.get(key)?.issuedAt ?? -1) >= advert.issuedAt) continue
        this.known.delete(key)
        if (this.known.size >= DEFAULT_KNOWN_RELAYS) this.known.delete(this.known.keys().next().value as string)
        this.known.set(key, advert)
      }
      this.log('relay list of %p: %d other relays, %d invalid adverts', relay, list.others.length, list.invalid.length)
    } catch (err) {
      // an older relay without the protocol, or one that went away: nothing learnt, nothing held against it
      this.log('relay list of %p: %s', relay, (err as Error).message)
    } finally {
      this.listing.delete(id)
    }
  }

  async sendRelayReports (peer: PeerId, entries?: RelayReportEntry[], options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    const opinions = entries ?? this.reports.ownOpinions()
    if (opinions.length === 0) throw new RangeError('no relay reports to send: this node has no data on any relay yet, and no entries were given')
    await this.reports.send(peer, opinions, options)
  }

  async handle (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void> {
    await this.libp2p.handle(protocol, handler, options)
  }

  async unhandle (protocol: string): Promise<void> {
    await this.libp2p.unhandle(protocol)
  }
}

function pick<T extends object, K extends keyof T> (obj: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k]
  return out
}

