import { AuraLinkError } from './base.js'

/** The naming rule an invalid AuraID breaks (see `validateAuraId` in @auralink/identity). */
export type NameRule = 'type' | 'format' | 'length' | 'charset' | 'look-alike' | 'edges' | 'repeats' | 'reserved'

/**
 * A string is not a valid AuraID. `rule` names the rule it breaks; `input` is the string;
 * `suggestion`, when there is one, is a valid AuraID close to it (`@Bob.aura`: `@bob.aura`).
 */
export class InvalidAuraIdError extends AuraLinkError {
  static override readonly name = 'InvalidAuraIdError'
  override readonly name = 'InvalidAuraIdError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_AURA_ID'
  readonly code = 'ERR_INVALID_AURA_ID'
  /** The rule broken: 'type' | 'format' | 'length' | 'charset' | 'look-alike' | 'edges' | 'repeats' | 'reserved'. */
  readonly rule: NameRule
  /** The string that was refused. */
  readonly input: string
  /** A valid AuraID the user may have meant; absent when none is close at hand. */
  readonly suggestion?: string

  constructor (input: string, rule: NameRule, message: string, options: { suggestion?: string } = {}) {
    super(message)
    this.rule = rule
    this.input = input
    if (options.suggestion !== undefined) this.suggestion = options.suggestion
  }
}

/** A record is over MAX_RECORD_BYTES. */
export class RecordTooLargeError extends AuraLinkError {
  static override readonly name = 'RecordTooLargeError'
  override readonly name = 'RecordTooLargeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RECORD_TOO_LARGE'
  readonly code = 'ERR_RECORD_TOO_LARGE'

  constructor (message = 'record is over its size limit', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record's bytes could not be decoded (truncated, corrupted, not a record). */
export class MalformedRecordError extends AuraLinkError {
  static override readonly name = 'MalformedRecordError'
  override readonly name = 'MalformedRecordError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MALFORMED_RECORD'
  readonly code = 'ERR_MALFORMED_RECORD'

  constructor (message = 'record could not be decoded', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record decodes but breaks a rule other than its name or signature (key type, field range). */
export class InvalidRecordError extends AuraLinkError {
  static override readonly name = 'InvalidRecordError'
  override readonly name = 'InvalidRecordError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_RECORD'
  readonly code = 'ERR_INVALID_RECORD'

  constructor (message = 'record is invalid', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The signature does not verify against the record's own key. */
export class InvalidSignatureError extends AuraLinkError {
  static override readonly name = 'InvalidSignatureError'
  override readonly name = 'InvalidSignatureError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_SIGNATURE'
  readonly code = 'ERR_INVALID_SIGNATURE'

  constructor (message = 'signature does not verify') {
    super(message)
  }
}

/** The record's validity ended (or, for an unregister proof, its timestamp is out of range). */
export class RecordExpiredError extends AuraLinkError {
  static override readonly name = 'RecordExpiredError'
  override readonly name = 'RecordExpiredError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RECORD_EXPIRED'
  readonly code = 'ERR_RECORD_EXPIRED'

  constructor (message = 'record has expired') {
    super(message)
  }
}

/** A key store file or entry holds something that is not a private key. */
export class CorruptKeyError extends AuraLinkError {
  static override readonly name = 'CorruptKeyError'
  override readonly name = 'CorruptKeyError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_CORRUPT_KEY'
  readonly code = 'ERR_CORRUPT_KEY'

  constructor (message = 'stored key is corrupt', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A key is in use: another AuraLink client (in this process, another process or another tab of
 * the same browser) holds the lock on its label. Give this client another `keyLabel`, or stop the
 * other one first.
 */
export class KeyInUseError extends AuraLinkError {
  static override readonly name = 'KeyInUseError'
  override readonly name = 'KeyInUseError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_KEY_IN_USE'
  readonly code = 'ERR_KEY_IN_USE'
  /** The key label that is held. */
  readonly label: string

  constructor (label: string, message = `key "${label}" is in use by another client`, options?: { cause?: unknown }) {
    super(message, options)
    this.label = label
  }
}

/**
 * A platform's own part called on another platform: `fileKeyStore()` in a browser build,
 * `idbKeyStore()` in Node. Both are declared in both builds of `@auralink/identity/keystore` (so
 * its types are the same whichever export condition a resolver picks); only one works.
 */
export class UnsupportedPlatformError extends AuraLinkError {
  static override readonly name = 'UnsupportedPlatformError'
  override readonly name = 'UnsupportedPlatformError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_UNSUPPORTED_PLATFORM'
  readonly code = 'ERR_UNSUPPORTED_PLATFORM'

  constructor (message = 'not available on this platform', options?: { cause?: unknown }) {
    super(message, options)
  }
}
