import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { MAX_RELAY_REGION_LENGTH } from '@auralink/protocol'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULTS, RELAY_NAME } from './constants.js'
import { ConfigError } from './errors.js'

/** A pino log level; 'silent' logs nothing. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** The relay node's whole configuration, after flags, environment, config file and defaults (`resolveConfig()`). */
export interface RelayConfig {
  /** Address the WebSocket listener binds. @default '127.0.0.1' */
  host: string
  /** libp2p WebSocket port; 0 picks a free one. @default 4001 */
  port: number
  /** HTTP port for /healthz and /metrics; 0 picks a free one. @default 4002 */
  httpPort: number
  /**
   * Address the HTTP server (/healthz, /metrics) binds, apart from `host`: loopback by default, so
   * a public relay does not publish its metrics. @default '127.0.0.1'
   */
  httpHost: string
  /**
   * A bearer token for GET /metrics (`Authorization: Bearer <token>`, compared in constant time;
   * 401 without it); /healthz stays open. At least 16 characters; never logged or printed.
   * @default '' (none: /metrics is open to whoever reaches `httpHost`)
   */
  metricsToken: string
  /** Sockets open at once on the HTTP port; past it a new one is closed at once. @default 64 */
  httpMaxConnections: number
  /** Sockets open at once on the HTTP port from one address (IPv6: one /64). @default 8 */
  httpMaxConnectionsPerAddress: number
  /** Milliseconds an HTTP request (head and body) may take on the HTTP port (never less than headersTimeoutMs). @default 30000 */
  httpRequestTimeoutMs: number
  /** Milliseconds an idle keep-alive socket stays open on the HTTP port. @default 5000 */
  httpKeepAliveTimeoutMs: number
  /**
   * Milliseconds a socket has, from its first moment, to send a whole HTTP request head: on the
   * HTTP port, else 408 and closed; on the WebSocket port, to finish the WebSocket upgrade, else
   * closed. @default 10000
   */
  headersTimeoutMs: number
  /** Sockets open at once on the WebSocket port, in any state (libp2p connections included); past it a new one is closed at once. @default 1024 */
  maxSockets: number
  /** Sockets open at once on the WebSocket port from one address (IPv6: one /64). @default 64 */
  maxSocketsPerAddress: number
  /** libp2p connections open at once (libp2p's `maxConnections`: past it inbound ones are refused, and libp2p prunes). At least 1. @default 300 */
  maxConnections: number
  /** Inbound libp2p connections still in their handshake (Noise, yamux) at once, relay-wide (libp2p's `maxIncomingPendingConnections`). @default 64 */
  maxPendingConnections: number
  /** New inbound libp2p connections per second from one address (libp2p's `inboundConnectionThreshold`). @default 10 */
  inboundConnectionRate: number
  /** Milliseconds an inbound connection has for its whole handshake (Noise, then yamux) before it is closed (libp2p's `inboundUpgradeTimeout`). @default 5000 */
  handshakeTimeoutMs: number
  /** Inbound libp2p connections open at once from one address (IPv6: one /64), handshakes included; many users may share one NAT. @default 32 */
  maxConnectionsPerAddress: number
  /** Inbound libp2p connections still in their handshake at once from one address (IPv6: one /64). @default 4 */
  maxPendingConnectionsPerAddress: number
  /** Inbound libp2p connections open at once from one peer id. @default 4 */
  maxConnectionsPerPeer: number
  /** Where the relay keeps its key and its LevelDB datastore. @default './.auralink/relay' */
  dataDir: string
  /** Most reservations held at once. @default 128 */
  maxReservations: number
  /** Reservation lifetime in milliseconds (was `reservationTtl`, seconds). @default 7200000 (2 h) */
  reservationTtlMs: number
  /**
   * Milliseconds a reservation outlives its peer's last connection to this relay; then it is
   * dropped (a reconnect within it keeps the reservation). So a peer that reserves and leaves
   * holds its place for this long, not for reservationTtlMs (was `reservationGrace`, seconds).
   * @default 45000
   */
  reservationGraceMs: number
  /**
   * Reservations held at once by peers connected from one address (an IPv4 address, an IPv6 /64);
   * a new one past it: PERMISSION_DENIED. Not 1: peers behind one NAT share an address. @default 8
   */
  maxReservationsPerAddress: number
  /** Bytes a relayed connection may carry (both directions counted together) before the relay cuts it. @default 131072 */
  relayDataLimit: number
  /** Milliseconds a relayed connection may last (was `relayDurationLimit`, seconds). @default 120000 */
  relayDurationLimitMs: number
  /** Reservation requests (new or refresh) per peer per minute; over it: PERMISSION_DENIED. @default 10 */
  reservationRateLimit: number
  /** Relayed connections open at once with one peer as source or destination; over it: PERMISSION_DENIED. @default 16 */
  maxCircuitsPerPeer: number
  /** New relayed connections per source peer per minute; over it: PERMISSION_DENIED. @default 30 */
  circuitRateLimit: number
  /** Bytes for a relayed connection where neither end holds a name at this relay's directory (never more than relayDataLimit). @default 32768 */
  relayDataLimitAnonymous: number
  /**
   * Milliseconds for a relayed connection where neither end holds a name here (never more than
   * relayDurationLimitMs; was `relayDurationLimitAnonymous`, seconds). @default 30000
   */
  relayDurationLimitAnonymousMs: number
  /** Relayed connections open at once (relay-wide) where neither end holds a name here; over it: PERMISSION_DENIED. @default 32 */
  maxAnonymousCircuits: number
  /**
   * Milliseconds since a key first registered the name it holds here before its circuits count
   * as named (the normal limits, outside maxAnonymousCircuits). Names are free: without an age,
   * one REGISTER would lift any peer out of the anonymous limits (was `namedMinAge`, seconds).
   * @default 3600000 (1 h)
   */
  namedMinAgeMs: number
  /** Directory requests per peer per minute. @default 120 */
  directoryRateLimit: number
  /** Directory writes (register, update, unregister) per peer per minute. @default 20 */
  directoryWriteLimit: number
  /** Names one key may hold. @default 5 */
  directoryMaxNamesPerKey: number
  /** Throughput probes (`/auralink/relay-probe/1.0.0`) per peer per minute; past it the stream is reset. @default 6 */
  probeRateLimit: number
  /** @default 'info' */
  logLevel: LogLevel
  /** Extra multiaddrs to announce (a public address in front of a proxy). @default [] */
  announce: string[]
  /**
   * Multiaddrs of other relays (each ending in /p2p/<peer id>) to join the relay network through:
   * dialled at start (up to 5 attempts each), then the DHT finds the rest. @default [] (none: this
   * relay starts a network of its own, which others may bootstrap from)
   */
  bootstrap: string[]
  /**
   * Milliseconds between republish cycles of the directory's public and unlisted records to the
   * DHT (each also checks the record still wins there); 0: never (was `dhtRepublishInterval`,
   * seconds). @default 3600000 (1 h)
   */
  dhtRepublishIntervalMs: number
  /**
   * DHT PUTs of AuraID records this relay's DHT node accepts per sending relay per minute
   * (only relays may PUT at all); past it the PUT is refused (`auralink_dht_put_refused_total{reason="rate"}`).
   * @default 600
   */
  dhtPutRateLimit: number
  /**
   * Milliseconds between this relay's signed adverts on the relays' gossipsub topic (each valid
   * 10 minutes); 1000 to 599000 (was `advertInterval`, seconds). @default 60000
   */
  advertIntervalMs: number
  /** A region tag put in this relay's adverts, e.g. 'eu-west'; at most 32 characters. @default '' (none) */
  region: string
  /**
   * Record calls whose participants all consent (`/auralink/record/1.0.0`, docs/recording.md).
   * Off, the relay never loads its WebRTC media stack (werift). @default false
   */
  recording: boolean
  /** Where recordings are written. @default '' (`<dataDir>/recordings`) */
  recordingsDir: string
  /** Participants' uploads recorded at once on this relay (a two-party call is two). @default 4 */
  maxRecordings: number
  /** Uploads recorded at once from one peer. @default 1 */
  maxRecordingsPerPeer: number
  /** Longest one upload is recorded, whatever the consents allow (they lapse within 4 h). @default 3600000 (1 h) */
  maxRecordingDurationMs: number
  /** Bytes one upload may write; past it its recording stops (reason `bytes`). @default 1073741824 (1 GiB) */
  maxRecordingBytes: number
  /**
   * Free bytes the recordings' disk must keep: a request is refused (`limit`) below it, and the
   * recordings under way stop (reason `disk`). @default 1073741824 (1 GiB)
   */
  recordingsMinFreeBytes: number
  /**
   * Milliseconds a recording whose uploads have all ended waits for a participant who has not
   * uploaded yet (or one coming back after a drop) before its file is made. @default 30000
   */
  recordingGraceMs: number
  /**
   * An age public key (`age1...`): each finished recording is encrypted to it (age, the file
   * format of the `age` tool) and only `<id>.webm.age` is kept; whoever holds the identity decrypts
   * it (`auralink-relay recordings decrypt`, or `age -d`); the relay cannot. @default '' (none: files in the clear)
   */
  recordingsRecipient: string
  /**
   * Days a finished recording (its file and sidecar) is kept after it ended; then it is deleted.
   * Checked at start and every hour. 0: kept until someone deletes it. @default 30
   */
  recordingsRetentionDays: number
  /**
   * The RTMP hosts this relay streams calls out to (with `recording` on): `host` or `host:port`,
   * `*.example.com` for its subdomains; an entry without a port allows any. A stream to any other
   * host is refused (`limit`): a relay pushing wherever a stranger points it would be a way into
   * its own network. @default [] (none: the relay streams nowhere)
   */
  streamHosts: string[]
  /** Streams out (each one encoder, one RTMP push) at once on this relay. @default 2 */
  maxStreams: number
  /**
   * The SIP gateway's address, `ipv4:port` (docs/sip.md): set, the relay places SIP calls for
   * clients that hold a name here, to its `sipTrunks` only. @default '' (off: no SIP port open)
   */
  sipListen: string
  /**
   * The SIP servers (PBXes, phone-line providers) this relay may call: in the config file a list of
   * `{ "name", "host", "port" }`; as a flag or env var `name=host[:port]` (comma-separated in
   * the env var). A trunk's digest credentials come from the environment only, never a flag or
   * the file: `AURALINK_RELAY_SIP_TRUNK_<NAME>_USERNAME` and `_PASSWORD` (NAME upper-cased).
   * Only UDP. @default [] (none: no call goes anywhere)
   */
  sipTrunks: SipTrunkConfig[]
  /** SIP calls at once on this relay. @default 16 */
  maxSipCalls: number
  /** SIP calls at once from one client. @default 2 */
  maxSipCallsPerPeer: number
  /**
   * New SIP calls per minute from one source: a client placing calls (each request counts, refused
   * or not), a trunk's address calling in. @default 30
   */
  sipCallRateLimit: number
}

/** One SIP trunk (RelayConfig.sipTrunks). */
export interface SipTrunkConfig {
  /** Letters, digits and _ (1-32): names it in logs and in its credentials' env vars. */
  name: string
  /** The trunk's IPv4 address: SIP and RTP from it are taken, from no other. */
  host: string
  /** @default 5060 */
  port: number
  transport: 'udp'
  /** Digest credentials (from the environment; `createRelayNode()` takes them here too). */
  username?: string
  password?: string
}

export { DEFAULTS }

/** `secret`: a string that may be empty and is never echoed in an error message. */
/** `switch`: on or off; a flag without a value (`--recording`), or true/false, 1/0, yes/no, on/off. */
/** `trunks`: SIP trunks, a list of objects (file, init) or `name=host[:port]` entries (flag, env). */
interface Field { flag: string, env: string, kind: 'string' | 'tag' | 'secret' | 'port' | 'count' | 'level' | 'addrs' | 'hosts' | 'switch' | 'trunks', help: string }

/** Every setting: its flag, env var, kind and help line. The one table CLI, env and file share. */
export const FIELDS: Record<keyof RelayConfig, Field> = {
  host: { flag: 'host', env: 'AURALINK_RELAY_HOST', kind: 'string', help: 'address to listen on' },
  port: { flag: 'port', env: 'AURALINK_RELAY_PORT', kind: 'port', help: 'libp2p WebSocket port (0: any free port)' },
  httpPort: { flag: 'http-port', env: 'AURALINK_RELAY_HTTP_PORT', kind: 'port', help: 'HTTP port for /healthz and /metrics (0: any free port)' },
  httpHost: { flag: 'http-host', env: 'AURALINK_RELAY_HTTP_HOST', kind: 'string', help: 'address the HTTP port listens on (apart from --host)' },
  metricsToken: { flag: 'metrics-token', env: 'AURALINK_RELAY_METRICS_TOKEN', kind: 'secret', help: 'bearer token GET /metrics requires (at least 16 characters; /healthz stays open)' },
  httpMaxConnections: { flag: 'http-max-connections', env: 'AURALINK_RELAY_HTTP_MAX_CONNECTIONS', kind: 'count', help: 'sockets open at once on the HTTP port' },
  httpMaxConnectionsPerAddress: { flag: 'http-max-connections-per-address', env: 'AURALINK_RELAY_HTTP_MAX_CONNECTIONS_PER_ADDRESS', kind: 'count', help: 'sockets open at once on the HTTP port from one address' },
  httpRequestTimeoutMs: { flag: 'http-request-timeout-ms', env: 'AURALINK_RELAY_HTTP_REQUEST_TIMEOUT_MS', kind: 'count', help: 'milliseconds an HTTP request may take on the HTTP port' },
  httpKeepAliveTimeoutMs: { flag: 'http-keep-alive-timeout-ms', env: 'AURALINK_RELAY_HTTP_KEEP_ALIVE_TIMEOUT_MS', kind: 'count', help: 'milliseconds an idle keep-alive socket stays open on the HTTP port' },
  headersTimeoutMs: { flag: 'headers-timeout-ms', env: 'AURALINK_RELAY_HEADERS_TIMEOUT_MS', kind: 'count', help: 'milliseconds a socket has to send its HTTP request head (WebSocket port: to finish the upgrade)' },
  maxSockets: { flag: 'max-sockets', env: 'AURALINK_RELAY_MAX_SOCKETS', kind: 'count', help: 'sockets open at once on the WebSocket port, in any state' },
  maxSocketsPerAddress: { flag: 'max-sockets-per-address', env: 'AURALINK_RELAY_MAX_SOCKETS_PER_ADDRESS', kind: 'count', help: 'sockets open at once on the WebSocket port from one address' },
  maxConnections: { flag: 'max-connections', env: 'AURALINK_RELAY_MAX_CONNECTIONS', kind: 'count', help: 'libp2p connections open at once (at least 1)' },
  maxPendingConnections: { flag: 'max-pending-connections', env: 'AURALINK_RELAY_MAX_PENDING_CONNECTIONS', kind: 'count', help: 'inbound connections in their handshake at once' },
  inboundConnectionRate: { flag: 'inbound-connection-rate', env: 'AURALINK_RELAY_INBOUND_CONNECTION_RATE', kind: 'count', help: 'new inbound connections per second from one address' },
  handshakeTimeoutMs: { flag: 'handshake-timeout-ms', env: 'AURALINK_RELAY_HANDSHAKE_TIMEOUT_MS', kind: 'count', help: 'milliseconds an inbound connection has for its Noise and yamux handshake' },
  maxConnectionsPerAddress: { flag: 'max-connections-per-address', env: 'AURALINK_RELAY_MAX_CONNECTIONS_PER_ADDRESS', kind: 'count', help: 'inbound connections open at once from one address' },
  maxPendingConnectionsPerAddress: { flag: 'max-pending-connections-per-address', env: 'AURALINK_RELAY_MAX_PENDING_CONNECTIONS_PER_ADDRESS', kind: 'count', help: 'inbound connections in their handshake at once from one address' },
  maxConnectionsPerPeer: { flag: 'max-connections-per-peer', env: 'AURALINK_RELAY_MAX_CONNECTIONS_PER_PEER', kind: 'count', help: 'inbound connections open at once from one peer id' },
  dataDir: { flag: 'data-dir', env: 'AURALINK_RELAY_DATA_DIR', kind: 'string', help: 'folder for the relay key and the name datastore' },
  maxReservations: { flag: 'max-reservations', env: 'AURALINK_RELAY_MAX_RESERVATIONS', kind: 'count', help: 'most reservations held at once' },
  reservationTtlMs: { flag: 'reservation-ttl-ms', env: 'AURALINK_RELAY_RESERVATION_TTL_MS', kind: 'count', help: 'reservation lifetime, milliseconds' },
  reservationGraceMs: { flag: 'reservation-grace-ms', env: 'AURALINK_RELAY_RESERVATION_GRACE_MS', kind: 'count', help: 'milliseconds a reservation outlives its peer\'s last connection' },
  maxReservationsPerAddress: { flag: 'max-reservations-per-address', env: 'AURALINK_RELAY_MAX_RESERVATIONS_PER_ADDRESS', kind: 'count', help: 'reservations held at once by peers at one address (IPv6: one /64)' },
  relayDataLimit: { flag: 'relay-data-limit', env: 'AURALINK_RELAY_DATA_LIMIT', kind: 'count', help: 'bytes a relayed connection may carry, both directions together' },
  relayDurationLimitMs: { flag: 'relay-duration-limit-ms', env: 'AURALINK_RELAY_DURATION_LIMIT_MS', kind: 'count', help: 'milliseconds a relayed connection may last' },
  reservationRateLimit: { flag: 'reservation-rate-limit', env: 'AURALINK_RELAY_RESERVATION_RATE_LIMIT', kind: 'count', help: 'reservation requests (new or refresh) per peer per minute' },
  maxCircuitsPerPeer: { flag: 'max-circuits-per-peer', env: 'AURALINK_RELAY_MAX_CIRCUITS_PER_PEER', kind: 'count', help: 'relayed connections open at once with one peer as source or destination' },
  circuitRateLimit: { flag: 'circuit-rate-limit', env: 'AURALINK_RELAY_CIRCUIT_RATE_LIMIT', kind: 'count', help: 'new relayed connections per source peer per minute' },
  relayDataLimitAnonymous: { flag: 'relay-data-limit-anonymous', env: 'AURALINK_RELAY_DATA_LIMIT_ANONYMOUS', kind: 'count', help: 'bytes a relayed connection may carry when neither end holds a name here' },
  relayDurationLimitAnonymousMs: { flag: 'relay-duration-limit-anonymous-ms', env: 'AURALINK_RELAY_DURATION_LIMIT_ANONYMOUS_MS', kind: 'count', help: 'milliseconds a relayed connection may last when neither end holds a name here' },
  maxAnonymousCircuits: { flag: 'max-anonymous-circuits', env: 'AURALINK_RELAY_MAX_ANONYMOUS_CIRCUITS', kind: 'count', help: 'relayed connections open at once where neither end holds a name here' },
  namedMinAgeMs: { flag: 'named-min-age-ms', env: 'AURALINK_RELAY_NAMED_MIN_AGE_MS', kind: 'count', help: 'milliseconds a name must have been held here before its holder\'s circuits count as named' },
  directoryRateLimit: { flag: 'directory-rate-limit', env: 'AURALINK_RELAY_DIRECTORY_RATE_LIMIT', kind: 'count', help: 'directory requests per peer per minute' },
  directoryWriteLimit: { flag: 'directory-write-limit', env: 'AURALINK_RELAY_DIRECTORY_WRITE_LIMIT', kind: 'count', help: 'directory writes per peer per minute' },
  probeRateLimit: { flag: 'probe-rate-limit', env: 'AURALINK_RELAY_PROBE_RATE_LIMIT', kind: 'count', help: 'throughput probes per peer per minute' },
  directoryMaxNamesPerKey: { flag: 'directory-max-names-per-key', env: 'AURALINK_RELAY_DIRECTORY_MAX_NAMES', kind: 'count', help: 'names one key may hold' },
  logLevel: { flag: 'log-level', env: 'AURALINK_RELAY_LOG_LEVEL', kind: 'level', help: LOG_LEVELS.join(' | ') },
  announce: { flag: 'announce', env: 'AURALINK_RELAY_ANNOUNCE', kind: 'addrs', help: 'extra multiaddr to announce (repeatable; env: comma-separated)' },
  bootstrap: { flag: 'bootstrap', env: 'AURALINK_RELAY_BOOTSTRAP', kind: 'addrs', help: 'multiaddr of another relay to join the relay network through (repeatable; env: comma-separated)' },
  advertIntervalMs: { flag: 'advert-interval-ms', env: 'AURALINK_RELAY_ADVERT_INTERVAL_MS', kind: 'count', help: 'milliseconds between this relay\'s adverts on gossipsub (1000-599000)' },
  region: { flag: 'region', env: 'AURALINK_RELAY_REGION', kind: 'tag', help: 'region tag in this relay\'s adverts (at most 32 characters)' },
  dhtRepublishIntervalMs: { flag: 'dht-republish-interval-ms', env: 'AURALINK_RELAY_DHT_REPUBLISH_INTERVAL_MS', kind: 'count', help: 'milliseconds between republishing held names to the DHT (0: never)' },
  dhtPutRateLimit: { flag: 'dht-put-rate-limit', env: 'AURALINK_RELAY_DHT_PUT_RATE_LIMIT', kind: 'count', help: 'DHT PUTs of AuraID records accepted per relay per minute' },
  recording: { flag: 'recording', env: 'AURALINK_RELAY_RECORDING', kind: 'switch', help: 'record calls whose participants all consent (loads the WebRTC media stack)' },
  recordingsDir: { flag: 'recordings-dir', env: 'AURALINK_RELAY_RECORDINGS_DIR', kind: 'tag', help: 'folder for recordings (none: <data-dir>/recordings)' },
  maxRecordings: { flag: 'max-recordings', env: 'AURALINK_RELAY_MAX_RECORDINGS', kind: 'count', help: 'participants\' uploads recorded at once' },
  maxRecordingsPerPeer: { flag: 'max-recordings-per-peer', env: 'AURALINK_RELAY_MAX_RECORDINGS_PER_PEER', kind: 'count', help: 'uploads recorded at once from one peer' },
  maxRecordingDurationMs: { flag: 'max-recording-duration-ms', env: 'AURALINK_RELAY_MAX_RECORDING_DURATION_MS', kind: 'count', help: 'milliseconds one upload is recorded at most' },
  maxRecordingBytes: { flag: 'max-recording-bytes', env: 'AURALINK_RELAY_MAX_RECORDING_BYTES', kind: 'count', help: 'bytes one upload may write' },
  recordingsMinFreeBytes: { flag: 'recordings-min-free-bytes', env: 'AURALINK_RELAY_RECORDINGS_MIN_FREE_BYTES', kind: 'count', help: 'free bytes the recordings\' disk keeps (below it: no new recordings, running ones stop)' },
  recordingGraceMs: { flag: 'recording-grace-ms', env: 'AURALINK_RELAY_RECORDING_GRACE_MS', kind: 'count', help: 'milliseconds a recording waits for a missing participant before its file is made' },
  recordingsRecipient: { flag: 'recordings-recipient', env: 'AURALINK_RELAY_RECORDINGS_RECIPIENT', kind: 'tag', help: 'age public key (age1...) finished recordings are encrypted to' },
  recordingsRetentionDays: { flag: 'recordings-retention-days', env: 'AURALINK_RELAY_RECORDINGS_RETENTION_DAYS', kind: 'count', help: 'days a finished recording is kept, then deleted (0: kept)' },
  streamHosts: { flag: 'stream-host', env: 'AURALINK_RELAY_STREAM_HOSTS', kind: 'hosts', help: 'RTMP host (host, host:port, *.domain) calls may be streamed out to (repeatable; env: comma-separated; none: no streams)' },
  maxStreams: { flag: 'max-streams', env: 'AURALINK_RELAY_MAX_STREAMS', kind: 'count', help: 'streams out over RTMP at once' },
  sipListen: { flag: 'sip-listen', env: 'AURALINK_RELAY_SIP_LISTEN', kind: 'tag', help: 'ipv4:port the SIP gateway listens on (none: no SIP)' },
  sipTrunks: { flag: 'sip-trunk', env: 'AURALINK_RELAY_SIP_TRUNKS', kind: 'trunks', help: 'SIP trunk calls may go to, name=ipv4[:port] (repeatable; env: comma-separated; credentials: env AURALINK_RELAY_SIP_TRUNK_<NAME>_USERNAME/_PASSWORD)' },
  maxSipCalls: { flag: 'max-sip-calls', env: 'AURALINK_RELAY_MAX_SIP_CALLS', kind: 'count', help: 'SIP calls at once' },
  maxSipCallsPerPeer: { flag: 'max-sip-calls-per-peer', env: 'AURALINK_RELAY_MAX_SIP_CALLS_PER_PEER', kind: 'count', help: 'SIP calls at once from one client' },
  sipCallRateLimit: { flag: 'sip-call-rate-limit', env: 'AURALINK_RELAY_SIP_CALL_RATE_LIMIT', kind: 'count', help: 'new SIP calls per minute from one client, or in from one trunk' }
}

/**
 * The relay's old names for its durations, in seconds. Each now carries its unit (`...Ms`, in
 * milliseconds, as every other duration does); the old key, flag and env var are still taken,
 * in seconds, with a deprecation warning in the log.
 */
export interface DeprecatedRelaySettings {
  /** @deprecated seconds: use `reservationTtlMs` (milliseconds) */
  reservationTtl?: number
  /** @deprecated seconds: use `reservationGraceMs` (milliseconds) */
  reservationGrace?: number
  /** @deprecated seconds: use `relayDurationLimitMs` (milliseconds) */
  relayDurationLimit?: number
  /** @deprecated seconds: use `relayDurationLimitAnonymousMs` (milliseconds) */
  relayDurationLimitAnonymous?: number
  /** @deprecated seconds: use `namedMinAgeMs` (milliseconds) */
  namedMinAge?: number
  /** @deprecated seconds: use `dhtRepublishIntervalMs` (milliseconds) */
  dhtRepublishInterval?: number
  /** @deprecated seconds: use `advertIntervalMs` (milliseconds) */
  advertInterval?: number
}

/** An old setting in seconds: the setting in milliseconds that replaces it, its old flag and env var. */
interface Renamed { replacedBy: keyof RelayConfig, flag: string, env: string }

/** Every deprecated setting (DeprecatedRelaySettings) and what replaced it. */
export const DEPRECATED_FIELDS: Readonly<Record<keyof DeprecatedRelaySettings, Renamed>> = Object.freeze({
  reservationTtl: { replacedBy: 'reservationTtlMs', flag: 'reservation-ttl', env: 'AURALINK_RELAY_RESERVATION_TTL' },
  reservationGrace: { replacedBy: 'reservationGraceMs', flag: 'reservation-grace', env: 'AURALINK_RELAY_RESERVATION_GRACE' },
  relayDurationLimit: { replacedBy: 'relayDurationLimitMs', flag: 'relay-duration-limit', env: 'AURALINK_RELAY_DURATION_LIMIT' },
  relayDurationLimitAnonymous: { replacedBy: 'relayDurationLimitAnonymousMs', flag: 'relay-duration-limit-anonymous', env: 'AURALINK_RELAY_DURATION_LIMIT_ANONYMOUS' },
  namedMinAge: { replacedBy: 'namedMinAgeMs', flag: 'named-min-age', env: 'AURALINK_RELAY_NAMED_MIN_AGE' },
  dhtRepublishInterval: { replacedBy: 'dhtRepublishIntervalMs', flag: 'dht-republish-interval', env: 'AURALINK_RELAY_DHT_REPUBLISH_INTERVAL' },
  advertInterval: { replacedBy: 'advertIntervalMs', flag: 'advert-interval', env: 'AURALINK_RELAY_ADVERT_INTERVAL' }
})

/** A deprecated setting that was used: its old name, the name to use, and one line for the log. */
export interface Deprecation {
  /** The old name as given: `--reservation-ttl`, `AURALINK_RELAY_RESERVATION_TTL`, `relay.json: reservationTtl` or `init.reservationTtl`. */
  setting: string
  /** The same place's new name, in milliseconds. */
  replacement: string
  message: string
}

const isDeprecated = (key: string): key is keyof DeprecatedRelaySettings => Object.hasOwn(DEPRECATED_FIELDS, key)

/**
 * An old setting's value in seconds as the milliseconds of the setting that replaced it, checked
 * as that one is; records the deprecation.
 */
function fromSeconds (old: keyof DeprecatedRelaySettings, raw: unknown, source: string, replacement: string, deprecations: Deprecation[]): [keyof RelayConfig, number] {
  const key = DEPRECATED_FIELDS[old].replacedBy
  const seconds = coerceKind(key, raw, source) as number
  const ms = seconds * 1000
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`${source}: ${JSON.stringify(raw)} seconds is too large`)
  const why = BOUNDS[key]?.(ms as never)
  if (why !== undefined) throw new ConfigError(`${source}: ${JSON.stringify(raw)} seconds (${ms} ms) ${why}`)
  deprecations.push({
    setting: source,
    replacement,
    message: `${source} is deprecated (seconds): use ${replacement} (milliseconds); ${seconds} s taken as ${ms} ms`
  })
  return [key, ms]
}

/** The `--help` text: every flag with its help, default and environment variable. */
export function usage (): string {
  const lines = Object.entries(FIELDS).map(([key, f]) => {
    const def = DEFAULTS[key as keyof RelayConfig]
    return `  --${f.flag.padEnd(32)} ${f.help} (default: ${Array.isArray(def) || def === '' ? 'none' : typeof def === 'boolean' ? (def ? 'on' : 'off') : String(def)}; env ${f.env})`
  })
  return [
    'usage: auralink-relay [options]',
    '',
    'Runs an AuraLink relay node: circuit relay v2, the AuraID directory, the relays\' Kad-DHT, /healthz and /metrics.',
    '',
    ...lines,
    `  --${'config <file.json>'.padEnd(32)} a JSON file with any of the settings above, camelCase (env AURALINK_RELAY_CONFIG)`,
    `  --${'repair'.padEnd(32)} repair a damaged datastore first (LevelDB's repair: keeps what it can read, says how many names; flag only)`,
    `  --${'help'.padEnd(32)} this text`,
    `  ${'recordings keygen | decrypt'.padEnd(34)} the recordings' tools: an age key for --recordings-recipient, decrypting a recording (${RELAY_NAME} recordings --help)`,
    `  --${'version'.padEnd(32)} the version`,
    '',
    'Precedence: flags, then env vars, then the config file, then defaults.',
    `Deprecated, in seconds (still taken, with a warning in the log): ${Object.entries(DEPRECATED_FIELDS).map(([, r]) => `--${r.flag} (use --${FIELDS[r.replacedBy].flag})`).join(', ')}; their env vars and config keys likewise.`,
    'Exit codes: 0 stopped cleanly, 1 runtime failure (e.g. a port in use), 2 bad configuration, or a damaged datastore (restore it or use --repair).'
  ].join('\n')
}

/** Bounds of single settings beyond their kind; the message says what is wrong. */
const BOUNDS: Partial<Record<keyof RelayConfig, (v: never) => string | undefined>> = {
  // an advert lives 10 minutes (DEFAULT_RELAY_ADVERT_TTL_MS): the next must come before it ends
  advertIntervalMs: (v: number) => v < 1000 || v > 599_000 ? 'is not from 1000 to 599000 ms' : undefined,
  region: (v: string) => v.length > MAX_RELAY_REGION_LENGTH ? `is longer than ${MAX_RELAY_REGION_LENGTH} characters` : undefined,
  // the full check (the key decodes) is age's, when recording starts; this catches a key pasted in the wrong field
  recordingsRecipient: (v: string) => v !== '' && !/^age1[0-9a-z]{10,2000}$/.test(v) ? 'is not an age recipient (age1 and lowercase bech32, as age-keygen prints after "public key:")' : undefined,
  metricsToken: (v: string) => v !== '' && v.length < 16 ? 'is shorter than 16 characters' : undefined,
  // the address is announced in every SIP message and SDP: an unspecified one would be no address at all
  sipListen: (v: string) => v !== '' && (ipv4Port(v) === undefined || v.startsWith('0.0.0.0:')) ? 'is not ipv4:port (an address of this machine, not 0.0.0.0, and a port 1-65535)' : undefined,
  // libp2p's connection manager throws for less
  maxConnections: (v: number) => v < 1 ? 'is not at least 1' : undefined,
  // 0 would turn Node's and libp2p's timeouts off
  handshakeTimeoutMs: (v: number) => v < 1 ? 'is not at least 1 ms' : undefined,
  headersTimeoutMs: (v: number) => v < 1 ? 'is not at least 1 ms' : undefined,
  httpRequestTimeoutMs: (v: number) => v < 1 ? 'is not at least 1 ms' : undefined
}

/** The value as an error message shows it: a secret never is. */
function shown (key: keyof RelayConfig, raw: unknown): string {
  return FIELDS[key].kind === 'secret' ? '(value not shown)' : JSON.stringify(raw)
}

function coerce (key: keyof RelayConfig, raw: unknown, source: string): RelayConfig[keyof RelayConfig] {
  const value = coerceKind(key, raw, source)
  const why = BOUNDS[key]?.(value as never)
  if (why !== undefined) throw new ConfigError(`${source}: ${shown(key, raw)} ${why}`)
  return value
}

/** A stream host entry: a name or IPv4 (with `*.` for subdomains), or a bracketed IPv6; an optional port. */
const HOST_PATTERN = /^(?:(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/

/** `a.b.c.d:port` split, or undefined. */
function ipv4Port (v: string): { host: string, port: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(v)
  if (m === null || m[1]!.split('.').some((o) => Number(o) > 255)) return undefined
  const port = m[2] === undefined ? 5060 : Number(m[2])
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined
}

const TRUNK_NAME = /^[A-Za-z0-9_]{1,32}$/

/** SIP trunks from a list of objects (the file, init) or of `name=ipv4[:port]` strings (a flag, the env); credentials only from init. */
function trunksOf (raw: unknown, source: string, bad: (why: string) => never): SipTrunkConfig[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : bad('is not a list of SIP trunks')
  const trunks = list.map((t: unknown): SipTrunkConfig => {
    if (typeof t === 'string') {
      const eq = t.indexOf('=')
      const at = ipv4Port(t.slice(eq + 1))
      if (eq < 1 || !TRUNK_NAME.test(t.slice(0, eq)) || at === undefined) throw new ConfigError(`${source}: ${JSON.stringify(t)} is not name=ipv4[:port] (a name of letters, digits and _)`)
      return { name: t.slice(0, eq), ...at, transport: 'udp' }
    }
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new ConfigError(`${source}: ${JSON.stringify(t)} is not a trunk { name, host, port }`)
    const o = t as Record<string, unknown>
    const label = `${source}: trunk ${JSON.stringify(o.name)}`
    if (typeof o.name !== 'string' || !TRUNK_NAME.test(o.name)) throw new ConfigError(`${label}: name must be 1-32 letters, digits or _`)
    for (const k of Object.keys(o)) if (!['name', 'host', 'port', 'transport', ...(source.startsWith('init.') ? ['username', 'password'] : [])].includes(k)) throw new ConfigError(`${label}: unknown field "${k}"${k === 'username' || k === 'password' ? ' (credentials come from the environment: AURALINK_RELAY_SIP_TRUNK_<NAME>_USERNAME and _PASSWORD)' : ''}`)
    const at = typeof o.host === 'string' ? ipv4Port(`${o.host}:${o.port === undefined ? 5060 : String(o.port)}`) : undefined
    if (at === undefined || (o.port !== undefined && !Number.isInteger(o.port))) throw new ConfigError(`${label}: host must be an IPv4 address and port a whole number 1-65535`)
    if (o.transport !== undefined && o.transport !== 'udp') throw new ConfigError(`${label}: transport ${JSON.stringify(o.transport)} is not taken (only "udp")`)
    for (const k of ['username', 'password'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw new ConfigError(`${label}: ${k} is not a string`)
    return { name: o.name, ...at, transport: 'udp', ...(typeof o.username === 'string' ? { username: o.username } : {}), ...(typeof o.password === 'string' ? { password: o.password } : {}) }
  })
  for (const [i, t] of trunks.entries()) {
    const twin = trunks.findIndex((u) => u.name === t.name || (u.host === t.host && u.port === t.port))
    if (twin !== i) throw new ConfigError(`${source}: trunks ${JSON.stringify(trunks[twin]!.name)} and ${JSON.stringify(t.name)} share a name or an address (${t.host}:${t.port})`)
  }
  return trunks
}

/** Each trunk's digest credentials from the environment (`AURALINK_RELAY_SIP_TRUNK_<NAME>_USERNAME` / `_PASSWORD`). */
export function trunkCredentials (trunks: SipTrunkConfig[], env: NodeJS.ProcessEnv): SipTrunkConfig[] {
  return trunks.map((t) => {
    const base = `AURALINK_RELAY_SIP_TRUNK_${t.name.toUpperCase()}`
    const username = env[`${base}_USERNAME`]
    const password = env[`${base}_PASSWORD`]
    if ((username === undefined) !== (password === undefined)) throw new ConfigError(`trunk ${JSON.stringify(t.name)}: ${base}_USERNAME and ${base}_PASSWORD go together (one is set, the other not)`)
    return username !== undefined && password !== undefined ? { ...t, username, password } : t
  })
}

function coerceKind (key: keyof RelayConfig, raw: unknown, source: string): RelayConfig[keyof RelayConfig] {
  const f = FIELDS[key]
  const bad = (why: string): never => { throw new ConfigError(`${source}: ${shown(key, raw)} ${why}`) }
  switch (f.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') bad('is not a non-empty string')
      return raw as string
    case 'tag': case 'secret':
      if (typeof raw !== 'string') bad('is not a string')
      return raw as string
    case 'port': case 'count': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n) || n < 0) bad('is not a whole number >= 0')
      if (f.kind === 'port' && n > 65535) bad('is not a port (0-65535)')
      return n
    }
    case 'level':
      if (!LOG_LEVELS.includes(raw as LogLevel)) bad(`is not a log level (${LOG_LEVELS.join(', ')})`)
      return raw as LogLevel
    case 'switch': {
      if (typeof raw === 'boolean') return raw
      const word = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
      if (['true', '1', 'yes', 'on'].includes(word)) return true
      if (['false', '0', 'no', 'off'].includes(word)) return false
      return bad('is not on or off (true/false, 1/0, yes/no, on/off)')
    }
    case 'hosts': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : bad('is not a list of hosts')
      for (const h of list) if (typeof h !== 'string' || !HOST_PATTERN.test(h)) throw new ConfigError(`${source}: ${JSON.stringify(h)} is not a host, host:port or *.domain`)
      return list.map((h) => String(h).toLowerCase())
    }
    case 'trunks':
      return trunksOf(raw, source, bad)
    case 'addrs': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : bad('is not a list of multiaddrs')
      for (const a of list) {
        try {
          multiaddr(String(a))
        } catch {
          throw new ConfigError(`${source}: ${JSON.stringify(a)} is not a multiaddr`)
        }
      }
      return list.map(String)
    }
  }
}

/**
 * Fills in the defaults for a programmatic `createRelayNode(init)` and checks every given field.
 * Throws TypeError naming the field (`init.port`) and the bad value. A deprecated name (in
 * seconds, DeprecatedRelaySettings) sets its replacement and is added to `deprecations`.
 */
export function resolveConfig (init: Partial<RelayConfig> & DeprecatedRelaySettings, deprecations: Deprecation[] = []): RelayConfig {
  const config: Record<string, unknown> = { ...DEFAULTS, announce: [], bootstrap: [], streamHosts: [], sipTrunks: [] }
  // the old names (seconds) first, so that a new name given beside its old one wins
  const entries = Object.entries(init).filter(([, value]) => value !== undefined)
  for (const [key, value] of [...entries.filter(([k]) => isDeprecated(k)), ...entries.filter(([k]) => !isDeprecated(k))]) {
    if (!(key in FIELDS) && !isDeprecated(key)) throw new TypeError(`init.${key}: unknown setting (known: ${Object.keys(FIELDS).join(', ')})`)
    try {
      if (isDeprecated(key)) {
        const [replacedBy, ms] = fromSeconds(key, value, `init.${key}`, `init.${DEPRECATED_FIELDS[key].replacedBy}`, deprecations)
        config[replacedBy] = ms
      } else {
        config[key] = coerce(key as keyof RelayConfig, value, `init.${key}`)
      }
    } catch (err) {
      throw new TypeError((err as Error).message, { cause: err })
    }
  }
  return config as unknown as RelayConfig
}

/**
 * Builds the configuration from argv, env and an optional config file. Throws ConfigError.
 * `deprecations` lists the deprecated names used (DeprecatedRelaySettings), for the log.
 */
export function loadConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): { config: RelayConfig, help: boolean, version: boolean, repair: boolean, deprecations: Deprecation[] } {
  const options: Record<string, { type: 'string' | 'boolean', multiple?: boolean }> = {
    config: { type: 'string' },
    help: { type: 'boolean' },
    version: { type: 'boolean' },
    // an action for one start, not a setting: no env var or config file key (a supervisor
    // would otherwise repair on every restart)
    repair: { type: 'boolean' }
  }
  for (const f of Object.values(FIELDS)) options[f.flag] = { type: f.kind === 'switch' ? 'boolean' : 'string', ...(f.kind === 'addrs' || f.kind === 'hosts' || f.kind === 'trunks' ? { multiple: true } : {}) }
  for (const r of Object.values(DEPRECATED_FIELDS)) options[r.flag] = { type: 'string' }
  const deprecations: Deprecation[] = []
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof values
  } catch (err) {
    throw new ConfigError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), { cause: err })
  }
  const config: Record<string, unknown> = { ...DEFAULTS, announce: [], bootstrap: [], streamHosts: [], sipTrunks: [] }
  const file = (values.config as string | undefined) ?? env.AURALINK_RELAY_CONFIG
  if (file !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new ConfigError(`--config ${file}: ${(err as Error).message}`, { cause: err })
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`--config ${file}: expected a JSON object`)
    const entries = Object.entries(parsed)
    for (const [k, v] of [...entries.filter(([k]) => isDeprecated(k)), ...entries.filter(([k]) => !isDeprecated(k))]) {
      if (isDeprecated(k)) {
        const [key, ms] = fromSeconds(k, v, `${file}: ${k}`, `${file}: ${DEPRECATED_FIELDS[k].replacedBy}`, deprecations)
        config[key] = ms
        continue
      }
      if (!(k in FIELDS)) throw new ConfigError(`--config ${file}: unknown setting "${k}" (known: ${Object.keys(FIELDS).join(', ')})`)
      config[k] = coerce(k as keyof RelayConfig, v, `${file}: ${k}`)
    }
  }
  // in each source the old names (seconds) first, so that a new name given beside its old one wins
  for (const [old, r] of Object.entries(DEPRECATED_FIELDS) as Array<[keyof DeprecatedRelaySettings, Renamed]>) {
    const v = env[r.env]
    if (v !== undefined && v !== '') {
      const [key, ms] = fromSeconds(old, v, r.env, FIELDS[r.replacedBy].env, deprecations)
      config[key] = ms
    }
  }
  for (const [key, f] of Object.entries(FIELDS)) {
    const v = env[f.env]
    if (v !== undefined && v !== '') config[key] = coerce(key as keyof RelayConfig, v, f.env)
  }
  for (const [old, r] of Object.entries(DEPRECATED_FIELDS) as Array<[keyof DeprecatedRelaySettings, Renamed]>) {
    const v = values[r.flag]
    if (typeof v === 'string') {
      const [key, ms] = fromSeconds(old, v, `--${r.flag}`, `--${FIELDS[r.replacedBy].flag}`, deprecations)
      config[key] = ms
    }
  }
  for (const [key, f] of Object.entries(FIELDS)) {
    const v = values[f.flag]
    if (v !== undefined) config[key] = coerce(key as keyof RelayConfig, v, `--${f.flag}`)
  }
  config.sipTrunks = trunkCredentials(config.sipTrunks as SipTrunkConfig[], env)
  return { config: config as unknown as RelayConfig, help: values.help === true, version: values.version === true, repair: values.repair === true, deprecations }
}
