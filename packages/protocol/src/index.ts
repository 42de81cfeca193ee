/**
 * @packageDocumentation
 *
 * The wire formats of AuraLink. Code is generated from `protos/*.proto` by
 * `npm run protos` (protobufjs static code, committed); this package adds protocol ids,
 * size limits and decoders that refuse oversized, truncated or malformed input with a
 * typed error ({@link MessageTooLargeError}, {@link MalformedMessageError}).
 *
 * @example
 * ```ts
 * import { decodeDirectoryRequest, DIRECTORY_PROTOCOL, MalformedMessageError } from '@auralink/protocol'
 *
 * try {
 *   const req = decodeDirectoryRequest(bytes)
 * } catch (err) {
 *   if (err instanceof MalformedMessageError) { ... }
 * }
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export * from './codec.js'
export * from './auraid.js'
export * from './aic.js'
export * from './signal.js'
export * from './relay.js'
export * from './group.js'
