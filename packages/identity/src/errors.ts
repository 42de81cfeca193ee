/** A string is not a valid AuraID. `rule` names the rule it breaks. */
export class InvalidAuraIdError extends Error {
  static override readonly name = 'InvalidAuraIdError'
  override readonly name = 'InvalidAuraIdError'
  /** The rule broken: 'type' | 'format' | 'length' | 'charset' | 'look-alike' | 'edges' | 'repeats' | 'reserved'. */
  readonly rule: NameRule
  readonly input: string

  constructor (input: string, rule: NameRule, message: string) {
    super(message)
    this.rule = rule
    this.input = input
  }
}

export type NameRule = 'type' | 'format' | 'length' | 'charset' | 'look-alike' | 'edges' | 'repeats' | 'reserved'

/** A record is over MAX_RECORD_BYTES. */
export class RecordTooLargeError extends Error {
  static override readonly name = 'RecordTooLargeError'
  override readonly name = 'RecordTooLargeError'

  constructor (message = 'record is over its size limit', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record's bytes could not be decoded (truncated, corrupted, not a record). */
export class MalformedRecordError extends Error {
  static override readonly name = 'MalformedRecordError'
  override readonly name = 'MalformedRecordError'

  constructor (message = 'record could not be decoded', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A record decodes but breaks a rule other than its name or signature (key type, field range). */
export class InvalidRecordError extends Error {
  static override readonly name = 'InvalidRecordError'
  override readonly name = 'InvalidRecordError'

  constructor (message = 'record is invalid', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The signature does not verify against the record's own key. */
export class InvalidSignatureError extends Error {
  static override readonly name = 'InvalidSignatureError'
  override readonly name = 'InvalidSignatureError'

  constructor (message = 'signature does not verify') {
    super(message)
  }
}

/** The record's validity ended (or, for an unregister proof, its timestamp is out of range). */
export class RecordExpiredError extends Error {
  static override readonly name = 'RecordExpiredError'
  override readonly name = 'RecordExpiredError'

  constructor (message = 'record has expired') {
    super(message)
  }
}

/** A key store file or entry holds something that is not a private key. */
export class CorruptKeyError extends Error {
  static override readonly name = 'CorruptKeyError'
  override readonly name = 'CorruptKeyError'

  constructor (message = 'stored key is corrupt', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A call on a key store that was closed. */
export class InvalidStateError extends Error {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'

  constructor (message = 'object is closed') {
    super(message)
  }
}

/** A relay advert that cannot be trusted: malformed, forged, or with fields out of bounds (`reason` says which). */
export class InvalidRelayAdvertError extends Error {
  static override readonly name = 'InvalidRelayAdvertError'
  override readonly name = 'InvalidRelayAdvertError'
  readonly reason: 'malformed' | 'signature' | 'fields'

  constructor (reason: 'malformed' | 'signature' | 'fields', message: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** A relay advert past its expiry (or issued too far in the future). */
export class ExpiredRelayAdvertError extends Error {
  static override readonly name = 'ExpiredRelayAdvertError'
  override readonly name = 'ExpiredRelayAdvertError'

  constructor (message: string) {
    super(message)
  }
}
