/**
 * @packageDocumentation
 *
 * AuraIDs: human-readable names (`@bob.aura`) bound to Ed25519 keys by signed records.
 *
 * - Names: {@link validateAuraId}, {@link parseAuraId}, {@link auraIdSkeleton}.
 * - Keys: {@link generateIdentityKey}, {@link peerIdOf}, export and import.
 * - Records: {@link createRecord}, {@link verifyRecord}, {@link selectRecord}, unregister proofs.
 * - Relay adverts: {@link createRelayAdvert}, {@link verifyRelayAdvert} (what a relay signs about itself).
 * - Recording consents: {@link createRecordingConsent}, {@link verifyRecordingConsent},
 *   {@link checkRecordingConsents} (each participant's signed agreement to one recording).
 * - Key stores: the {@link KeyStore} interface; `@auralink/identity/keystore` gives `fileKeyStore`
 *   in Node and `idbKeyStore` in browsers; the compliance suite from `@auralink/identity/compliance`.
 *
 * @example
 * ```ts
 * import { generateIdentityKey, createRecord, verifyRecord } from '@auralink/identity'
 *
 * const key = await generateIdentityKey()
 * const record = await createRecord(key, { name: '@alice.aura' })
 * const checked = await verifyRecord(record.bytes) // throws a typed error if forged or expired
 * ```
 */
export * from './errors.js'
export * from './constants.js'
export { validateAuraId, parseAuraId, isAuraId, auraIdSkeleton, AURAID_SKELETON_VERSION } from './name.js'
export * from './keys.js'
export * from './record.js'
export { checkKeyLabel, checkPrivateKey } from './keystore.js'
export type { KeyLock, KeyStore } from './keystore.js'
export { createRelayAdvert, verifyRelayAdvert, DEFAULT_RELAY_ADVERT_TTL_MS, MAX_RELAY_ADVERT_TTL_MS, MAX_RELAY_ADVERT_CLOCK_SKEW_MS } from './relay-advert.js'
export type { RelayAdvert, RelayAdvertInit } from './relay-advert.js'
export { createRecordingConsent, streamDestination, verifyRecordingConsent, checkRecordingConsents, DEFAULT_RECORDING_CONSENT_TTL_MS, MAX_RECORDING_CONSENT_CLOCK_SKEW_MS } from './recording-consent.js'
export type { AgreedRecording, RecordingConsent, RecordingConsentInit } from './recording-consent.js'
export { signRecordingAccess, verifyRecordingAccess, RECORDING_ACCESS_SIGNATURE_DOMAIN, MAX_RECORDING_ACCESS_TTL_MS, DEFAULT_RECORDING_ACCESS_TTL_MS } from './recording-access.js'
export type { RecordingAccess } from './recording-access.js'
export { createGroupOp, verifyGroupOp, GroupMembership, DEFAULT_GROUP_MAX_MEMBERS, MAX_GROUP_OP_CLOCK_SKEW_MS } from './group-membership.js'
export type { GroupMember, GroupOp, GroupOpEffect, GroupOpInit } from './group-membership.js'
