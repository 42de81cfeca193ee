import type { RelayConfig } from './config.js'

/** The name the CLI and its log lines go by. */
export const RELAY_NAME = 'auralink-relay'

/** File in the data dir that holds the relay's Ed25519 key (libp2p protobuf encoding, mode 0600). */
export const KEY_FILE = 'relay.key'

/** The key's label in the data dir's file key store: it is kept as `<label>.key`. */
export const KEY_LABEL = 'relay'

/** Folder in the data dir that holds the LevelDB datastore. */
export const DATASTORE_DIR = 'datastore'

/**
 * The relays' own Kad-DHT protocol: a private DHT of AuraLink relays, never the public IPFS one
 * (`/ipfs/kad/1.0.0`). AuraID records live in it under `/auraid/<name>`.
 */
export const DHT_PROTOCOL = '/auralink/kad/1.0.0'

/** Each bootstrap relay is dialled up to this many times at start. */
export const BOOTSTRAP_ATTEMPTS = 5
/** The wait before the second attempt; it doubles for each next one (1, 2, 4, 8 s). */
export const BOOTSTRAP_FIRST_RETRY_MS = 1000
/** One bootstrap dial gives up after this. */
export const BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000
/** The DHT walk after the bootstrap dials gives up after this. */
export const BOOTSTRAP_WALK_TIMEOUT_MS = 30_000

/**
 * Every setting's default: a relay on 127.0.0.1 that needs no configuration.
 * `RelayConfig` documents each field.
 */
export const DEFAULTS: Readonly<RelayConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 4001,
  httpPort: 4002,
  httpHost: '127.0.0.1',
  metricsToken: '',
  httpMaxConnections: 64,
  httpMaxConnectionsPerAddress: 8,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5000,
  headersTimeoutMs: 10_000,
  maxSockets: 1024,
  maxSocketsPerAddress: 64,
  maxConnections: 300,
  maxPendingConnections: 64,
  inboundConnectionRate: 10,
  handshakeTimeoutMs: 5000,
  maxConnectionsPerAddress: 32,
  maxPendingConnectionsPerAddress: 4,
  maxConnectionsPerPeer: 4,
  dataDir: './.auralink/relay',
  maxReservations: 128,
  reservationTtlMs: 7_200_000,
  reservationGraceMs: 45_000,
  maxReservationsPerAddress: 8,
  relayDataLimit: 131072,
  relayDurationLimitMs: 120_000,
  reservationRateLimit: 10,
  maxCircuitsPerPeer: 16,
  circuitRateLimit: 30,
  relayDataLimitAnonymous: 32768,
  relayDurationLimitAnonymousMs: 30_000,
  maxAnonymousCircuits: 32,
  namedMinAgeMs: 3_600_000,
  directoryRateLimit: 120,
  directoryWriteLimit: 20,
  directoryMaxNamesPerKey: 5,
  probeRateLimit: 6,
  logLevel: 'info',
  announce: [],
  bootstrap: [],
  dhtRepublishIntervalMs: 3_600_000,
  dhtPutRateLimit: 600,
  advertIntervalMs: 60_000,
  region: '',
  recording: false,
  recordingsDir: '',
  maxRecordings: 4,
  maxRecordingsPerPeer: 1,
  maxRecordingDurationMs: 3_600_000,
  maxRecordingBytes: 1_073_741_824,
  recordingsMinFreeBytes: 1_073_741_824,
  recordingGraceMs: 30_000,
  recordingsRecipient: '',
  recordingsRetentionDays: 30,
  streamHosts: [],
  maxStreams: 2,
  sipListen: '',
  sipTrunks: [],
  maxSipCalls: 16,
  maxSipCallsPerPeer: 2,
  sipCallRateLimit: 30
})
