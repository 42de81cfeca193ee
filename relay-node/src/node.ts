import { join, resolve } from 'node:path'
import { SIP_INBOUND_PROTOCOL } from '@auralink/protocol'
import { auraIdDhtSelector, auraIdDirectory, AURAID_DHT_NAMESPACE } from '@auralink/signalling'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { relayAdverts } from './adverts.js'
import { joinRelayNetwork } from './bootstrap.js'
import { resolveConfig } from './config.js'
import { DATASTORE_DIR, DHT_PROTOCOL, RELAY_NAME } from './constants.js'
import { loadOrCreateKey, prepareDataDir } from './data-dir.js'
import { damagedError, DatastoreHealth, describeRepair, isDatastoreFault, levelWords, openRelayDatastore } from './datastore-health.js'
import { ConfigError, InvalidStateError, PortInUseError } from './errors.js'
import { dhtGuard } from './dht-guard.js'
import { connectionGuard, connectionManagerInit, guardedWebSockets } from './connection-guard.js'
import { createHttpServer } from './http.js'
import { RelayMetrics } from './metrics.js'
import { relayGossipsub } from './relay-gossipsub.js'
import { relayList } from './relay-list.js'
import { relayProbe } from './relay-probe.js'
import { relayGuard } from './relay-guard.js'
import type { Deprecation, DeprecatedRelaySettings, RelayConfig } from './config.js'
import type { ConnectionListener, ConnectionRefusal } from './metrics.js'
import type { RelayAdverts } from './adverts.js'
import type { RelayGuard, RelayLimit } from './relay-guard.js'
import type { RecordService } from './media/record-service.js'
import type { StreamService } from './media/stream-service.js'
import type { SipGateway } from './sip/sip-gateway.js'
import type { SipService } from './sip/sip-service.js'
import type { DhtGuard } from './dht-guard.js'
import type { AuraIdDirectory } from '@auralink/signalling'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p, PeerId, Startable } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { LevelDatastore } from 'datastore-level'
import type { ServiceFactoryMap } from 'libp2p'
import type { Server } from 'node:http'
import type { Logger } from 'pino'

/** The libp2p services a relay node runs; `relayServices()` builds them. */
export type RelayServices = {
  identify: Identify
  ping: Ping
  relay: CircuitRelayService
  /** The relays' Kad-DHT (`/auralink/kad/1.0.0`), server mode: AuraID records under `/auraid/<name>`. */
  dht: KadDHT
  directory: AuraIdDirectory
  /** The relays' gossipsub: one topic, relay adverts (`relayGossipsub()`); named `pubsub` because `adverts` reads it so. */
  pubsub: GossipSub
  /** This relay's signed adverts, published every `advertIntervalMs`, and the table of relays known from theirs. */
  adverts: RelayAdverts
  /** `/auralink/relays/1.0.0`: our advert and those of the relays we know, for peers. */
  relayList: Startable
  /** `/auralink/relay-probe/1.0.0`: the bytes a peer asks for, so it can measure its throughput through us. */
  relayProbe: Startable
}

/**
 * Options for `createRelayNode()`: every setting of `RelayConfig` (each optional, defaults in
 * `DEFAULTS`, documented on `RelayConfig`) plus the logger.
 */
export interface RelayNodeInit extends Partial<RelayConfig>, DeprecatedRelaySettings {
  /**
   * Where lifecycle lines go (one JSON line per change, never one per packet).
   * @default pino({ name: 'auralink-relay', level: init.logLevel }) on stdout
   */
  logger?: Logger
  /**
   * Run LevelDB's repair on the datastore before opening it (`auralink-relay --repair`): it keeps
   * every entry it can still read and moves damaged files to `<dataDir>/datastore/lost/`; the
   * relay key is not touched. `RelayNode.repaired` says what it kept. For a damaged datastore
   * only (DatastoreDamagedError): a healthy one gains nothing from it.
   * @default false
   */
  repair?: boolean
}

/** A relay node (`createRelayNode()`): its libp2p node, datastore, addresses and lifecycle. */
export interface RelayNode {
  readonly libp2p: Libp2p<RelayServices>
  /** The LevelDB datastore under `<dataDir>/datastore`; libp2p and the directory share it. */
  readonly datastore: LevelDatastore
  readonly metrics: RelayMetrics
  /** The HTTP server for /healthz and /metrics (listening once start() resolves). */
  readonly http: Server
  /** The settings in force, defaults filled in; `dataDir` is absolute. */
  readonly config: Readonly<RelayConfig>
  /** The libp2p multiaddrs, each ending in /p2p/<relay peer id>. */
  readonly multiaddrs: string[]
  /** With `repair: true`: what LevelDB's repair kept (names, entries) and moved aside (`lost`), and `message`, the line the CLI prints. */
  readonly repaired?: { names: number, entries: number, lost: string[], message: string }
  /** The HTTP base URL, e.g. http://127.0.0.1:4002 ('' before start()). */
  readonly httpUrl: string
  /**
   * The recording service (`/auralink/record/1.0.0`, docs/recording.md) when `recording` is on;
   * undefined otherwise (the relay then never loads its WebRTC media stack).
   */
  readonly recordings?: RecordService
  /**
   * The SIP service (`/auralink/sip/1.0.0`, docs/sip.md) when `sipListen` is set; undefined
   * otherwise (no SIP port open, werift not loaded for it).
   */
  readonly sip?: SipService
  /** The SIP gateway (its stack on `sipListen`) when SIP is on. */
  readonly sipGateway?: SipGateway
  /**
   * Listens: HTTP first (503 on /healthz until libp2p is up), then libp2p.
   * Idempotent; rejects with PortInUseError for a taken port, InvalidStateError after stop().
   */
  start(): Promise<void>
  /** Stops HTTP, libp2p and the datastore. Idempotent. */
  stop(): Promise<void>
}

/**
 * The libp2p `services` of a relay node, built in this one place: identify, ping, the circuit
 * relay v2 server with the configured limits, the relays' Kad-DHT in server mode (its own
 * protocol, so never the public IPFS DHT; loopback and private addresses kept; the AuraID
 * validator and selector for `/auraid/` keys), and the AuraID directory on the shared datastore,
 * publishing to and looking up in that DHT.
 * `guard` (the per-peer abuse limits) sees the relay server's hop streams; its `gater` goes in
 * libp2p's `connectionGater`. `onLimit` hears of the throughput probe's refusals.
 */
export function relayServices (config: RelayConfig, datastore: LevelDatastore, guard: RelayGuard = relayGuard(config), onLimit?: (limit: RelayLimit, peer: PeerId) => void,
  dhtWrites: DhtGuard = dhtGuard({ datastore, bootstrap: config.bootstrap, maxNamesPerKey: config.directoryMaxNamesPerKey, putRateLimit: config.dhtPutRateLimit })): ServiceFactoryMap<RelayServices> {
  const relay = circuitRelayServer({
    reservations: {
      maxReservations: config.maxReservations,
      reservationTtl: config.reservationTtlMs,
      defaultDataLimit: BigInt(config.relayDataLimit),
      defaultDurationLimit: config.relayDurationLimitMs
    }
  })
  let server: CircuitRelayService | undefined
  return {
    identify: identify(),
    ping: ping(),
    // the server is stock; only the registrar it registers its hop handler with is wrapped, so
    // the guard's gater knows which hop stream (and so which circuit) it is asked about
    relay: (components: Parameters<typeof relay>[0]) => {
      const registrar = guard.wrapRegistrar(components.registrar)
      server = relay(new Proxy(components, { get: (target, prop) => prop === 'registrar' ? registrar : Reflect.get(target, prop) }))
      return server
    },
    // kad-dht is stock; its registrar is wrapped so that a PUT_VALUE is validated knowing its
    // sender, and the write policy (only relays, the directory's rules) decides (docs/dht.md)
    dht: (components: Parameters<ReturnType<typeof kadDHT>>[0]) => kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: false,
      // relays on loopback and private networks are normal (tests, LANs): keep every address
      peerInfoMapper: passthroughMapper,
      // a relay alone (the first of a network) answers at once instead of waiting for a peer
      allowQueryWithZeroPeers: true,
      validators: { [AURAID_DHT_NAMESPACE]: dhtWrites.validator },
      selectors: { [AURAID_DHT_NAMESPACE]: auraIdDhtSelector }
    })(dhtWrites.wrap(components)),
    // built after dht (services are made in this order), so components.dht is there
    directory: (components: Parameters<ReturnType<typeof auraIdDirectory>>[0] & { dht: KadDHT }) => auraIdDirectory({
      datastore,
      maxRequestsPerMinute: config.directoryRateLimit,
      maxWritesPerMinute: config.directoryWriteLimit,
      maxNamesPerKey: config.directoryMaxNamesPerKey,
      network: dhtWrites.network(components.dht),
      republishIntervalMs: config.dhtRepublishIntervalMs
    })(components),
    pubsub: relayGossipsub(),
    // the relays known from their adverts may write to the DHT
    adverts: (components: Parameters<ReturnType<typeof relayAdverts>>[0]) => {
      const adverts = relayAdverts({
        intervalMs: config.advertIntervalMs,
        region: config.region,
        capacity: config.maxReservations,
        load: () => server?.reservations.size ?? 0
      })(components)
      dhtWrites.useAdverts(adverts)
      return adverts
    },
    // built after adverts, so components.adverts is there
    relayList: (components: Parameters<ReturnType<typeof relayList>>[0]) => relayList()(components),
    relayProbe: relayProbe({ perMinute: config.probeRateLimit, onLimit: (peer) => onLimit?.('probe_rate', peer) })
  }
}

/** Relays in the DHT's routing table (kad-dht's single DHT exposes it; 0 when not there). */
function routingTableSize (dht: KadDHT | undefined): number {
  return (dht as { routingTable?: { size?: number } } | undefined)?.routingTable?.size ?? 0
}

/** A host as a URL writes it: IPv6 in brackets. */
function urlHost (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function inUse (err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { errors?: unknown[] }
  return e?.code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(e?.message ?? '') || (Array.isArray(e?.errors) && e.errors.some(inUse))
}

/**
 * Builds a relay node: a libp2p node (WebSockets, Noise, yamux, identify, ping, circuit relay
 * v2 server, the AuraID directory) with a persistent key and LevelDB datastore under the data
 * dir, and an HTTP server for /healthz and /metrics. Nothing listens until start().
 * Rejects with TypeError for a bad setting (naming it and the value), with DataDirError when
 * the data dir cannot be made, written or opened (or another process holds the datastore), with
 * DatastoreDamagedError when the datastore is damaged (restore it, or pass `repair: true`).
 */
export async function createRelayNode (init: RelayNodeInit = {}): Promise<RelayNode> {
  const { logger, repair = false, ...settings } = init
  const deprecations: Deprecation[] = []
  const config = resolveConfig(settings, deprecations)
  const log = logger ?? pino({ name: RELAY_NAME, level: config.logLevel })
  for (const d of deprecations) log.warn({ setting: d.setting, replacement: d.replacement }, d.message)
  if (config.streamHosts.length > 0 && !config.recording) throw new ConfigError('streamHosts: streaming calls out needs recording on (--recording: the relay\'s media endpoint)')
  const dataDir = resolve(config.dataDir)
  config.dataDir = dataDir
  config.recordingsDir = resolve(config.recordingsDir === '' ? join(dataDir, 'recordings') : config.recordingsDir)
  await prepareDataDir(dataDir)
  const privateKey = await loadOrCreateKey(dataDir)
  // inspected before it is opened; read and write faults at run time make the relay degraded
  const storeDir = join(dataDir, DATASTORE_DIR)
  const datastoreHealth = new DatastoreHealth()
  if (repair) log.info({ datastore: storeDir }, 'repairing the datastore')
  const { datastore, repair: repairReport } = await openRelayDatastore(storeDir, { repair, health: datastoreHealth })

  let libp2p: Libp2p<RelayServices> | undefined
  const guard = relayGuard({
    ...config,
    onLimit: (limit, peer) => { onLimit(limit, peer.toString()) },
    onDrop: (peer, reason) => {
      metrics.reservationDropped(reason)
      log.debug({ peer: peer.toString(), reason }, 'reservation dropped')
    }
  })
  // the sources are read at scrape time, once libp2p exists
  const metrics = new RelayMetrics({
    reservations: () => libp2p?.services.relay.reservations.size ?? 0,
    connections: () => libp2p?.getConnections().length ?? 0,
    names: async () => libp2p?.services.directory.size() ?? 0,
    circuits: () => guard.circuits(),
    dhtPeers: () => routingTableSize(libp2p?.services.dht),
    knownRelays: () => libp2p?.services.adverts.relays().length ?? 0,
    degraded: () => datastoreHealth.degraded,
    recordings: () => recordings?.active ?? 0,
    streams: () => streams?.streamsNow ?? 0,
    sipCalls: () => sip?.active ?? 0
  })
  let sip: SipService | undefined
  let sipGateway: SipGateway | undefined
  let recordings: RecordService | undefined
  let streams: StreamService | undefined
  // every datastore fault is counted; the first (which makes the relay degraded) is one error line
  datastoreHealth.onFault = ({ words, first }) => {
    metrics.error('datastore')
    if (first) log.error({ reason: words, datastore: storeDir }, 'datastore damaged: degraded')
  }
  // a refusal is a metric and a debug line, never an info line
  const onLimit = (limit: RelayLimit, peer: string): void => {
    metrics.limitHit(limit)
    log.debug({ limit, peer }, 'limit hit')
  }
  // connection limits (per address, per peer id, handshakes) and the WebSocket port's socket caps
  const refused = (listener: ConnectionListener) => (reason: ConnectionRefusal, remote: string): void => {
    metrics.connectionRefused(listener, reason)
    log.debug({ listener, reason, remote }, 'connection refused')
  }
  const connections = connectionGuard({ ...config, onRefuse: refused('libp2p') })
  try {
    libp2p = await createLibp2p({
      privateKey,
      datastore,
      start: false,
      addresses: {
        listen: [`/ip4/${config.host}/tcp/${config.port}/ws`],
        announce: config.announce
      },
      transports: [guardedWebSockets({ ...config, guard: connections, onRefuse: refused('websocket') })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: connectionManagerInit(config),
      // peers and relays on loopback and private networks are normal for a relay
      connectionGater: { denyDialMultiaddr: () => false, ...guard.gater, ...connections.gater },
      services: relayServices(config, datastore, guard, (limit, peer) => { onLimit(limit, peer.toString()) }, dhtGuard({
        datastore,
        bootstrap: config.bootstrap,
        maxNamesPerKey: config.directoryMaxNamesPerKey,
        putRateLimit: config.dhtPutRateLimit,
        onRefuse: ({ reason, peer, name }) => {
          metrics.dhtPutRefused(reason)
          log.debug({ reason, peer: peer.toString(), ...(name !== undefined ? { auraId: name } : {}) }, 'DHT put refused')
        }
      }))
    })
  } catch (err) {
    await datastore.close().catch(() => {})
    throw err
  }

  connections.attach({ connections: () => libp2p.getConnections().length })
  if (config.recording) {
    // loaded only here: a relay that does not record never loads werift
    const { RecordService } = await import('./media/record-service.js').catch(async (err: unknown) => {
      await datastore.close().catch(() => {})
      throw new Error(`--recording needs the relay's media stack (the werift package), which did not load: ${(err as Error).message}`, { cause: err })
    })
    if (config.recordingsRecipient !== '') {
      const { checkRecipient } = await import('./media/encrypt.js')
      try {
        checkRecipient(config.recordingsRecipient)
      } catch (err) {
        await datastore.close().catch(() => {})
        throw new ConfigError(`recordingsRecipient: ${(err as Error).message}`, { cause: err })
      }
    }
    if (config.streamHosts.length > 0) {
      const { StreamService } = await import('./media/stream-service.js')
      streams = new StreamService({
        log: log.child({ component: 'stream' }),
        maxStreams: config.maxStreams,
        onState: (state) => { metrics.streamStates.inc({ state }) },
        onReconnect: () => { metrics.streamReconnects.inc() },
        onUploadStopped: (reason) => { metrics.recordingsStopped.inc({ reason }) }
      })
    }
    recordings = new RecordService({
      dir: config.recordingsDir,
      relay: libp2p.peerId,
      limits: {
        maxRecordings: config.maxRecordings,
        maxRecordingsPerPeer: config.maxRecordingsPerPeer,
        maxDurationMs: config.maxRecordingDurationMs,
        maxBytes: config.maxRecordingBytes,
        minFreeBytes: config.recordingsMinFreeBytes,
        streamHosts: config.streamHosts
      },
      ...(streams !== undefined ? { streams } : {}),
      graceMs: config.recordingGraceMs,
      retentionDays: config.recordingsRetentionDays,
      onExpired: () => { metrics.recordingsExpired.inc() },
      ...(config.recordingsRecipient !== '' ? { recipient: config.recordingsRecipient } : {}),
      log: log.child({ component: 'recording' }),
      onRequest: (result) => { metrics.recordingRequests.inc({ result }) },
      onUploadStopped: (reason, bytes) => {
        metrics.recordingsStopped.inc({ reason })
        metrics.recordingBytes.inc(bytes)
      },
      onFinished: (status) => { metrics.recordingsFinished.inc({ status }) }
    })
  }
  if (config.sipListen !== '') {
    // loaded only here: a relay without SIP never loads the SIP stack, nor werift for it
    const [{ SipGateway }, { SipService }] = await Promise.all([import('./sip/sip-gateway.js'), import('./sip/sip-service.js')]).catch(async (err: unknown) => {
      await datastore.close().catch(() => {})
      throw new Error(`--sip-listen needs the relay's SIP and media stack (the sip and werift packages), which did not load: ${(err as Error).message}`, { cause: err })
    })
    const at = config.sipListen.lastIndexOf(':')
    const sipLog = log.child({ component: 'sip' })
    if (config.sipTrunks.length === 0) sipLog.warn('SIP is on but no trunk is configured (--sip-trunk, sipTrunks): every call is refused')
    try {
      sipGateway = new SipGateway({
        host: config.sipListen.slice(0, at),
        port: Number(config.sipListen.slice(at + 1)),
        trunks: config.sipTrunks,
        log: (msg) => { sipLog.debug(msg) },
        trace: process.env.AURALINK_SIP_TRACE === '1',
        onRefused: (reason) => { metrics.sipRefused.inc({ reason }) },
        onInvite: (call, user) => { sip?.incoming(call, user) }
      })
    } catch (err) {
      await datastore.close().catch(() => {})
      throw err
    }
    const gateway = sipGateway
    sip = new SipService({
      gateway,
      maxCalls: config.maxSipCalls,
      maxCallsPerPeer: config.maxSipCallsPerPeer,
      callRateLimit: config.sipCallRateLimit,
      holdsName: async (peer, options) => libp2p.services.directory.holdsName(peer, { ...options, minAgeMs: config.namedMinAgeMs }),
      log: sipLog,
      onRequest: (result) => { metrics.sipRequests.inc({ result }) },
      onEnded: (reason) => { metrics.sipCallsEnded.inc({ reason }) },
      onInbound: (result) => { metrics.sipInbound.inc({ result }) },
      // the client that holds @<user>.aura here, connected now, serving the inbound protocol
      callee: async (user, options) => {
        const record = await libp2p.services.directory.get(`@${user}.aura`, options).catch(() => undefined)
        const conn = record === undefined ? undefined : libp2p.getConnections(record.peerId).find((c) => c.status === 'open' && c.limits == null)
        if (record === undefined || conn === undefined) return undefined
        const stream = await conn.newStream(SIP_INBOUND_PROTOCOL, options).catch(() => undefined)
        return stream === undefined ? undefined : { peer: record.peerId, stream }
      }
    })
  }
  let repaired: RelayNode['repaired']
  if (repairReport !== undefined) {
    const names = await libp2p.services.directory.size().catch(async (err: unknown) => {
      await datastore.close().catch(() => {})
      throw err
    })
    repaired = { names, ...repairReport, message: describeRepair(storeDir, { names, ...repairReport }) }
    log.info({ datastore: storeDir, names, entries: repairReport.entries, lost: repairReport.lost }, 'datastore repaired')
  }
  let serving = false
  const startedAt = Date.now()
  const { relay, directory } = libp2p.services
  guard.attach({
    reservations: relay.reservations,
    holdsName: async (peer, options) => directory.holdsName(peer, options),
    remoteAddresses: (peer) => libp2p.getConnections(peer).filter((c) => c.status === 'open').map((c) => c.remoteAddr),
    events: libp2p
  })
  libp2p.services.directory.addEventListener('operation', ({ detail }) => {
    metrics.directoryOperation(detail.op, detail.outcome)
    if (detail.outcome === 'internal') metrics.error('directory_internal')
    if (detail.limit !== undefined) onLimit(`directory_${detail.limit}`, String(detail.peer))
  })
  directory.addEventListener('network', ({ detail }) => {
    metrics.dhtOperation(detail.op, detail.outcome)
  })
  directory.addEventListener('conflict', ({ detail }) => {
    metrics.directoryConflict()
    log.warn({ auraId: detail.name, loser: detail.loser.toString(), winner: detail.winner.toString(), during: detail.during },
      'name released: another key\'s record won in the relay network')
  })
  libp2p.services.adverts.addEventListener('advert', ({ detail }) => {
    metrics.advert(detail.result, detail.result === 'accept' ? (detail.stored ? 'stored' : 'table_full') : detail.reason)
    if (detail.result === 'reject') log.debug({ peer: detail.from.toString(), reason: detail.reason }, 'relay advert rejected')
  })
  libp2p.services.adverts.addEventListener('relay', ({ detail }) => {
    log.debug({ relay: detail.advert.peerId.toString(), change: detail.change }, 'relay advert')
  })
  libp2p.services.adverts.addEventListener('publish', ({ detail }) => {
    if (detail.error !== undefined) metrics.error('advert_publish')
  })
  libp2p.services.relay.addEventListener('relay:reservation', ({ detail }) => {
    log.debug({ peer: detail.addr.toString() }, 'reservation made')
  })

  // the recordings' playback on the HTTP port: signed requests from participants only
  const playback = config.recording
    ? (await import('./media/playback.js')).playbackHandler({ dir: config.recordingsDir, relay: libp2p.peerId, onRequest: (result) => { metrics.recordingsServed.inc({ result }) } })
    : undefined
  const http = createHttpServer(metrics, {
    ready: () => serving,
    health: async () => {
      // a datastore fault leaves `names` null and the relay degraded (200, status "degraded",
      // the reason): it still relays and answers what it can read; anything else is a 500
      const names = await libp2p.services.directory.size().catch((err: unknown) => {
        if (!isDatastoreFault(err)) throw err
        return null
      })
      return {
        ...(datastoreHealth.degraded ? { status: 'degraded', reason: datastoreHealth.reason } : {}),
        peerId: libp2p.peerId.toString(),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        reservations: libp2p.services.relay.reservations.size,
        connections: libp2p.getConnections().length,
        names,
        dhtPeers: routingTableSize(libp2p.services.dht)
      }
    }
  }, {
    metricsToken: config.metricsToken,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    maxConnections: config.httpMaxConnections,
    maxConnectionsPerAddress: config.httpMaxConnectionsPerAddress,
    ...(playback !== undefined ? { routes: playback } : {})
  })

  let httpUrl = ''
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined
  const joining = new AbortController()
  let joined: Promise<void> | undefined

  /** Dials the bootstrap relays in the background (bounded retries); one info line with the outcome. */
  const joinNetwork = (): void => {
    if (config.bootstrap.length === 0) return
    joined = joinRelayNetwork({
      peerId: libp2p.peerId,
      dial: async (addr, options) => libp2p.dial(addr, options),
      getClosestPeers: (key, options) => libp2p.services.dht.getClosestPeers(key, options)
    }, config.bootstrap, { signal: joining.signal }).then((outcome) => {
      const fields = { connected: outcome.connected, failed: outcome.failed, dhtPeers: routingTableSize(libp2p.services.dht), ...(outcome.walkError !== undefined ? { walkError: outcome.walkError } : {}) }
      if (outcome.connected.length === 0) log.warn(fields, 'no bootstrap relay reachable')
      else log.info(fields, 'joined the relay network')
    }, (err: unknown) => {
      if (!joining.signal.aborted) log.error({ reason: (err as Error).message }, 'joining the relay network failed')
    })
  }

  const listen = async (): Promise<void> => {
    log.info({ dataDir, peerId: libp2p.peerId.toString() }, 'starting')
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(config.httpPort, config.httpHost, () => { http.off('error', reject); resolve() })
      })
    } catch (err) {
      await datastore.close().catch(() => {})
      if (inUse(err)) throw new PortInUseError(`HTTP port ${config.httpHost}:${config.httpPort} is in use (another auralink-relay? choose one with --http-port)`, { cause: err })
      throw err
    }
    const addr = http.address()
    httpUrl = `http://${urlHost(config.httpHost)}:${typeof addr === 'object' && addr !== null ? addr.port : config.httpPort}`
    log.info({ http: httpUrl }, 'http listening')
    try {
      await libp2p.start()
    } catch (err) {
      await new Promise((resolve) => http.close(resolve))
      try { await libp2p.stop() } catch {}
      await datastore.close().catch(() => {})
      if (inUse(err)) throw new PortInUseError(`port ${config.host}:${config.port} is in use (another auralink-relay? choose one with --port)`, { cause: err })
      // a read at start (the directory's layout, the peer store) that hit damage
      if (isDatastoreFault(err)) throw damagedError(storeDir, `a read at start failed: ${levelWords(err)}`, err)
      throw err
    }
    await recordings?.start(libp2p)
    await sip?.start(libp2p)
    serving = true
    log.info({ multiaddrs: node.multiaddrs, http: httpUrl, ...(recordings !== undefined ? { recordings: config.recordingsDir } : {}) }, 'listening')
    joinNetwork()
  }

  const node: RelayNode = {
    libp2p,
    datastore,
    metrics,
    http,
    config,
    repaired,
    get multiaddrs () { return libp2p.getMultiaddrs().map(String) },
    get httpUrl () { return httpUrl },
    recordings,
    ...(sip !== undefined ? { sip, sipGateway } : {}),
    async start () {
      if (stopping !== undefined) throw new InvalidStateError('start() on a relay node that was stopped: create a new one')
      starting ??= listen()
      await starting
    },
    async stop () {
      stopping ??= (async () => {
        // a start() under way finishes (or fails) first, so nothing is left listening
        await starting?.catch(() => {})
        serving = false
        log.info('stopping')
        joining.abort(new InvalidStateError('the relay node is stopping'))
        await joined
        guard.stop()
        // every upload told why and every recording's file made, while libp2p still carries the answers
        await recordings?.stop()
        // every SIP call hung up (BYE or CANCEL out), each client told why, the SIP port closed
        await sip?.stop()
        if (http.listening) {
          http.closeAllConnections()
          await new Promise((resolve) => http.close(resolve))
        }
        connections.stop()
        await libp2p.stop()
        await datastore.close().catch((err: unknown) => {
          // a failed start() has closed it already
          log.debug({ reason: (err as Error).message }, 'datastore close')
        })
        log.info('stopped')
      })()
      await stopping
    }
  }
  return node
}
