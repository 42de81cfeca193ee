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
 * Every setting's default: a relay on 127.0.0.1 that needs no configuration.
 * `RelayConfig` documents each field.
 */
export const DEFAULTS: Readonly<RelayConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 4001,
  httpPort: 4002,
  dataDir: './.auralink/relay',
  maxReservations: 128,
  reservationTtl: 7200,
  relayDataLimit: 131072,
  relayDurationLimit: 120,
  reservationRateLimit: 10,
  maxCircuitsPerPeer: 16,
  circuitRateLimit: 30,
  relayDataLimitAnonymous: 32768,
  relayDurationLimitAnonymous: 30,
  maxAnonymousCircuits: 32,
  directoryRateLimit: 120,
  directoryWriteLimit: 20,
  directoryMaxNamesPerKey: 5,
  logLevel: 'info',
  announce: []
})
