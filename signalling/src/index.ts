/**
 * @packageDocumentation
 *
 * The AuraID directory: a libp2p service on `/auralink/directory/1.0.0` that relay nodes
 * embed. First come, first served; a name stays bound to its key until its record's validity
 * plus a grace period; look-alikes of held names are refused; per-peer rate limits; every
 * bad request gets a response with an error code while everyone else is served. With a
 * `network` (`dhtNetwork()` over a libp2p Kad-DHT whose `auraid` validator is a write policy's,
 * `auraIdDhtPolicy()`), public and unlisted names are published under `/auraid/<name>` and
 * resolve across relay nodes, chosen by majority of the DHT nodes that answer (docs/dht.md).
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { auraIdDirectory } from '@auralink/signalling'
 * import { LevelDatastore } from 'datastore-level'
 *
 * const datastore = new LevelDatastore('./names')
 * await datastore.open()
 * const node = await createLibp2p({ ..., services: { directory: auraIdDirectory({ datastore }) } })
 * node.services.directory.addEventListener('operation', (e) => console.log(e.detail))
 * ```
 */
export { auraIdDirectory } from './directory.js'
export type {
  AuraIdDirectory, AuraIdDirectoryInit, AuraIdDirectoryComponents, AuraIdDirectoryEvents, DirectoryLimit, DirectoryOperation, DirectoryOperationEvent
} from './directory-api.js'
export {
  AURAID_DHT_NAMESPACE, auraIdDhtKey, auraIdDhtSelector, auraIdDhtValidator, compareAuraIdRecords, dhtNetwork, verifyDhtRecord
} from './dht.js'
export type { AuraIdDht, AuraIdNetwork, AuraIdNetworkAnswer, DhtNetworkInit } from './dht.js'
export { auraIdDhtPolicy, chooseByMajority } from './dht-policy.js'
export { dhtRecordStore, kadGetValue } from './dht-records.js'
export type { OpenDhtStream } from './dht-records.js'
export type {
  AuraIdDhtPolicy, AuraIdDhtPolicyInit, DhtAnswer, DhtLocalRecords, DhtPutRefusedEvent, DhtStoredValue, MajorityChoice
} from './dht-policy.js'
export type { DirectoryConflictEvent, DirectoryNetworkEvent, RepublishResult } from './network-sync.js'
export { DhtPutRefusedError, InvalidDhtRecordError, NetworkLookupError, NetworkPublishError } from './errors.js'
export type { DhtPutRefusalReason } from './errors.js'
export * from './constants.js'
export { PeerRateLimiter } from './rate-limiter.js'
