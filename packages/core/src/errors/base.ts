/**
 * Every code an {@link AuraLinkError} can carry, one per error class: the class name without
 * `Error`, in upper snake case, after `ERR_` (`InvalidAuraIdError` -> `ERR_INVALID_AURA_ID`).
 * A code never changes once released; a new class adds a new code.
 */
export const AURALINK_ERROR_CODES = [
  // wire formats
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_MALFORMED_MESSAGE',
  'ERR_REQUEST_TOO_LARGE',
  // objects
  'ERR_INVALID_STATE',
  // names, records and keys
  'ERR_INVALID_AURA_ID',
  'ERR_RECORD_TOO_LARGE',
  'ERR_MALFORMED_RECORD',
  'ERR_INVALID_RECORD',
  'ERR_INVALID_SIGNATURE',
  'ERR_RECORD_EXPIRED',
  'ERR_CORRUPT_KEY',
  'ERR_KEY_IN_USE',
  'ERR_UNSUPPORTED_PLATFORM',
  // the directory and the DHT
  'ERR_AURA_ID_NOT_FOUND',
  'ERR_DIRECTORY_REJECTED',
  'ERR_DIRECTORY_TIMEOUT',
  'ERR_INVALID_DHT_RECORD',
  'ERR_NETWORK_LOOKUP',
  'ERR_NETWORK_PUBLISH',
  'ERR_DHT_PUT_REFUSED',
  // the mesh: relays, dials, reputation
  'ERR_RELAY_UNREACHABLE',
  'ERR_PEER_OFFLINE',
  'ERR_DIAL_FAILED',
  'ERR_ATTEMPT_TIMEOUT',
  'ERR_PEER_ID_MISMATCH',
  'ERR_WRONG_RELAY_ID',
  'ERR_REPUTATION_LOAD',
  'ERR_REPUTATION_SAVE',
  'ERR_INVALID_RELAY_ADVERT',
  'ERR_EXPIRED_RELAY_ADVERT',
  'ERR_INVALID_RECORDING_CONSENT',
  'ERR_INVALID_RELAY_REPORT',
  // calls, media and files
  'ERR_MEDIA_ACCESS_DENIED',
  'ERR_MEDIA_UNSUPPORTED',
  'ERR_CALL_ENDED',
  'ERR_FILE_TRANSFER',
  'ERR_FILE_TOO_LARGE',
  'ERR_TRANSFER_ABORTED',
  'ERR_UNSUPPORTED_RUNTIME',
  'ERR_RECORDING_REFUSED',
  'ERR_RECORDING_FAILED',
  'ERR_PHONE_CALL_FAILED',
  'ERR_IMAGE_FAILED',
  'ERR_INVALID_GROUP_OP',
  // on-device compression (AIC)
  'ERR_INVALID_CDF',
  'ERR_TRUNCATED_STREAM',
  'ERR_CORRUPT_STREAM',
  'ERR_STREAM_TOO_LARGE',
  'ERR_MODEL_NOT_FOUND',
  'ERR_MODEL_LOAD',
  'ERR_RUNTIME_UNAVAILABLE',
  'ERR_UNSUPPORTED_MODEL_VERSION',
  // the relay node
  'ERR_CONFIG',
  'ERR_DATA_DIR',
  'ERR_DATASTORE_DAMAGED',
  'ERR_PORT_IN_USE'
] as const

/** The stable string code of an {@link AuraLinkError}: one per class, listed in {@link AURALINK_ERROR_CODES}. */
export type AuraLinkErrorCode = typeof AURALINK_ERROR_CODES[number]

/** The code an error class of this name carries: `InvalidAuraIdError` -> `ERR_INVALID_AURA_ID`. */
function codeOfName (name: string): string {
  return 'ERR_' + name.replace(/Error$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

/**
 * The base of every error AuraLink throws. Match an error with `instanceof` its class, which
 * narrows its type in TypeScript (`err instanceof DirectoryRejectedError` gives `err.reason`);
 * log or compare `code` where the class is out of reach (an error that crossed a wire, a log
 * line). Each subclass sets `name` (static and instance) and `code`, and passes `cause` when it
 * wraps another error.
 *
 * @example
 * ```ts
 * try {
 *   await client.register('@alice.aura')
 * } catch (err) {
 *   if (err instanceof DirectoryRejectedError && err.reason === 'NAME_TAKEN') { ... }
 *   else if (err instanceof AuraLinkError) log(err.code, err.message)
 *   else throw err
 * }
 * ```
 */
export abstract class AuraLinkError extends Error {
  static override readonly name: string = 'AuraLinkError'
  abstract override readonly name: string
  /** The stable code of this error's class. */
  abstract readonly code: AuraLinkErrorCode

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }

  /**
   * `err instanceof SomeAuraLinkError` holds for an error of that class by its prototype chain, and
   * also for one made by another copy of `@auralink/core` (two versions in one tree, another
   * bundle, a worker's error rebuilt from its fields): its `name` and `code` are the class's.
   * `err instanceof AuraLinkError` holds for any error whose `code` is in
   * {@link AURALINK_ERROR_CODES} and is its `name`'s code (`ERR_` and the name without `Error` in
   * upper snake case: a Node `TypeError` with code `ERR_INVALID_STATE` is not one of ours). So matching stays one way, `instanceof`, by the stable name
   * and code (never by message text), whatever copy threw it.
   */
  static override [Symbol.hasInstance] (value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true
    if (!(value instanceof Error)) return false
    const { name, code } = value as { name?: unknown, code?: unknown }
    const own = this as unknown as { name: string, code?: unknown }
    if (typeof own.code !== 'string') {
      return typeof name === 'string' && typeof code === 'string' && codeOfName(name) === code && (AURALINK_ERROR_CODES as readonly string[]).includes(code)
    }
    return name === own.name && code === own.code
  }
}

/**
 * A call on an object that is closed, stopped or not started, or in a state where the call makes
 * no sense (a key store after close(), a mesh node before start(), a relay node after stop(), an
 * enhancer after close(), a call that ended). The message names the object and its state.
 */
export class InvalidStateError extends AuraLinkError {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_STATE'
  readonly code = 'ERR_INVALID_STATE'

  constructor (message = 'the object is closed', options?: { cause?: unknown }) {
    super(message, options)
  }
}
