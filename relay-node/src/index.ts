/**
 * @packageDocumentation
 *
 * The AuraLink relay node: circuit relay v2, the AuraID directory on LevelDB (its public and
 * unlisted names also in the relays' Kad-DHT, joined through `bootstrap` relays), /healthz and
 * Prometheus /metrics. Most people run it as `npx auralink-relay`; this module lets a program
 * embed it.
 *
 * @example
 * ```ts
 * import { createRelayNode } from '@auralink/relay-node'
 *
 * const relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: './relay' })
 * await relay.start()
 * console.log(relay.multiaddrs, relay.httpUrl)
 * await relay.stop()
 * ```
 */
export { createRelayNode, relayServices } from './node.js'
export type { RelayNode, RelayNodeInit, RelayServices } from './node.js'
export { loadConfig, resolveConfig, usage, FIELDS, DEPRECATED_FIELDS } from './config.js'
export type { RelayConfig, LogLevel, DeprecatedRelaySettings, Deprecation } from './config.js'
export { DEFAULTS, KEY_FILE, DATASTORE_DIR, DHT_PROTOCOL } from './constants.js'
export { RelayMetrics } from './metrics.js'
export { relayGuard } from './relay-guard.js'
export type { RelayGuard, RelayGuardInit, RelayGuardComponents, RelayLimit, CircuitCounts } from './relay-guard.js'
export type { RelayMetricsSources, ErrorKind, ConnectionListener, ConnectionRefusal } from './metrics.js'
export { connectionGuard, connectionManagerInit, guardedWebSockets } from './connection-guard.js'
export type { ConnectionGuard, ConnectionGuardInit, ConnectionGuardComponents, GuardedWebSocketsInit, Libp2pRefusal } from './connection-guard.js'
export * from './errors.js'
// types only: the service itself (and werift) loads when `recording` is on
export type { RecordService, RecordServiceInit, RecordServiceLimits, RecordingSidecar, UploadStopReason, RecordRequestOutcome } from './media/record-service.js'
export type { RecordLimits } from './media/record-request.js'
