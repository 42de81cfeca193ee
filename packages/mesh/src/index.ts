/**
 * @packageDocumentation
 *
 * The AuraLink mesh node: a libp2p 3 node that keeps reservations on its relays, registers
 * and resolves AuraIDs through their directories, and dials peers by name over a direct
 * WebRTC connection (signalled through the relay), retrying the known first-try failures
 * with backoff, then falling back to a relayed connection only when asked and last to WebRTC
 * through TURN when TURN servers are configured, saying so (`conn.path`, `conn.fallbackReason`).
 *
 * @example
 * ```ts
 * import { createMeshNode } from '@auralink/mesh'
 *
 * const node = await createMeshNode({ relays: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo...'] })
 * await node.start()
 * await node.waitForReservation()
 * await node.register('@alice.aura')
 * const conn = await node.dial('@bob.aura')
 * console.log(conn.path) // 'direct'
 * console.log(node.relays()[0]?.score.total) // the best relay's score (docs/reputation.md)
 * const stream = await conn.newStream('/my-app/chat/1.0.0')
 * ```
 */
export { createMeshNode } from './mesh-node.js'
export type {
  MeshNode, MeshNodeInit, MeshConnection, MeshDialOptions, MeshNodeEvents, RegisterOptions, RelayInfo, ConnectionPath
} from './mesh-node.js'
export type { MeshReputationInit } from './relay-reputation.js'
export { directoryRequest, directoryErrorName } from './directory-client.js'
export type { DirectoryRequestOptions } from './directory-client.js'
export { relayScorer } from './reputation/scorer.js'
export type {
  PeerRef, RankedRelay, RelayFacts, RelayReport, RelayScore, RelayScorer, RelayScorerComponents, RelayScorerInit,
  RelaySnapshot, MeanSnapshot, ReputationSnapshot, ScoreParts, ScoreWeights
} from './reputation/types.js'
export { memoryScoreStore } from './reputation/store.js'
export type { ScoreStore } from './reputation/store.js'
export * from './errors.js'
// What users set or read; the other tuning constants stay internal (their values are the
// `@default`s of the options they tune).
export { DATA_CHANNEL_MESSAGE_BYTES, DEFAULT_RELAY_SCORE_WEIGHTS, MIN_FAILED_CIRCUITS_TO_DEMOTE, REPUTATION_SNAPSHOT_VERSION } from './constants.js'
export { createRelayReports, verifyRelayReports, MAX_RELAY_REPORT_AGE_MS, MAX_RELAY_REPORT_CLOCK_SKEW_MS } from './relay-reports.js'
export type { RelayReportEntry, RelayReports } from './relay-reports.js'
export type { ReportsReceived } from './report-exchange.js'
