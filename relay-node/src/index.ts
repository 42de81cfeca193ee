/**
 * @packageDocumentation
 *
 * The AuraLink relay node: circuit relay v2, the AuraID directory on LevelDB, /healthz and
 * Prometheus /metrics. Most people run it as `npx auralink-relay`; this module lets a program
 * embed it.
 *
 * @example
 * ```ts
 * import { createRelayNode, loadConfig } from '@auralink/relay-node'
 * import { pino } from 'pino'
 *
 * const { config } = loadConfig(['--port', '0', '--data-dir', './relay'])
 * const relay = await createRelayNode(config, pino())
 * await relay.start()
 * console.log(relay.multiaddrs)
 * ```
 */
export { createRelayNode } from './node.js'
export type { RelayNode, RelayServices } from './node.js'
export { loadConfig, usage, DEFAULTS, FIELDS } from './config.js'
export type { RelayConfig, LogLevel } from './config.js'
export { RelayMetrics } from './metrics.js'
export * from './errors.js'
