/**
 * @packageDocumentation
 *
 * The AuraID directory: a libp2p service on `/auralink/directory/1.0.0` that relay nodes
 * embed. First come, first served; a name stays bound to its key until its record's validity
 * plus a grace period; look-alikes of held names are refused; per-peer rate limits; every
 * bad request gets a response with an error code while everyone else is served.
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
} from './directory.js'
export * from './constants.js'
export { PeerRateLimiter } from './rate-limiter.js'
