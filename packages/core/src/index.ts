/**
 * @packageDocumentation
 *
 * What every AuraLink package shares: the one set of errors and `SafeEventEmitter`.
 *
 * Every error AuraLink throws is an {@link AuraLinkError}, of one class per failure, each with a
 * fixed {@link AuraLinkErrorCode}. Match with `instanceof` (TypeScript narrows the type and its
 * fields); use `code` in logs and for an error that crossed a wire. `@auralink/sdk` re-exports
 * every error an SDK call can throw, so apps import them from there.
 *
 * @example
 * ```ts
 * import { AuraLinkError, InvalidAuraIdError } from '@auralink/core'
 *
 * try {
 *   validateAuraId(input)
 * } catch (err) {
 *   if (err instanceof InvalidAuraIdError) show(`${err.input}: ${err.rule}`)
 *   else if (err instanceof AuraLinkError) log(err.code, err.message)
 *   else throw err
 * }
 * ```
 */
export * from './errors.js'
export { SafeEventEmitter } from './events.js'
export { upstreamErrorKind } from './upstream.js'
export type { UpstreamErrorKind } from './upstream.js'
