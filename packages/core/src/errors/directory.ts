import { AuraLinkError } from './base.js'

/** The AuraID is not registered (or its record expired) at any directory asked. Fails fast: no dial is tried. */
export class AuraIdNotFoundError extends AuraLinkError {
  static override readonly name = 'AuraIdNotFoundError'
  override readonly name = 'AuraIdNotFoundError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_AURA_ID_NOT_FOUND'
  readonly code = 'ERR_AURA_ID_NOT_FOUND'
  /** The name that was looked up. */
  readonly auraId: string

  constructor (auraId: string, message = `${auraId} is not registered`) {
    super(message)
    this.auraId = auraId
  }
}

/**
 * Why a directory refused a request: the `DirectoryError` of the wire format (docs/PROTOCOL.md)
 * without its `DIRECTORY_ERROR_` prefix, or `BAD_RESPONSE` (the directory answered with a record
 * for another name) and `UNKNOWN` (a code this version does not know), which only a client sees.
 */
export type DirectoryRejectionReason =
  | 'BAD_REQUEST' | 'INVALID_NAME' | 'INVALID_SIGNATURE' | 'NAME_TAKEN' | 'STALE_SEQUENCE' | 'EXPIRED'
  | 'TOO_LARGE' | 'NOT_FOUND' | 'RATE_LIMITED' | 'CONFLICT' | 'INTERNAL' | 'QUOTA_EXCEEDED'
  | 'BAD_RESPONSE' | 'UNKNOWN'

/**
 * The directory refused a request; `reason` says why (`NAME_TAKEN`: another key holds the name,
 * the message says until when). Thrown by the directory service itself (which answers with
 * `reason` on the wire) and, on the client, for the refusal that came back.
 */
export class DirectoryRejectedError extends AuraLinkError {
  static override readonly name = 'DirectoryRejectedError'
  override readonly name = 'DirectoryRejectedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DIRECTORY_REJECTED'
  readonly code = 'ERR_DIRECTORY_REJECTED'
  /** Why: the directory's `DirectoryError` name, e.g. `NAME_TAKEN`. */
  readonly reason: DirectoryRejectionReason

  constructor (reason: DirectoryRejectionReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/**
 * A directory request did not complete in time: on a client, no answer came within its timeout;
 * in the directory service, a stream did not bring a complete request within `requestTimeoutMs`
 * (the stream is aborted with this).
 */
export class DirectoryTimeoutError extends AuraLinkError {
  static override readonly name = 'DirectoryTimeoutError'
  override readonly name = 'DirectoryTimeoutError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DIRECTORY_TIMEOUT'
  readonly code = 'ERR_DIRECTORY_TIMEOUT'

  constructor (message = 'the directory request did not finish in time', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A DHT value under `/auraid/<name>` that is not a public or unlisted record for that very name (or a key of another shape). */
export class InvalidDhtRecordError extends AuraLinkError {
  static override readonly name = 'InvalidDhtRecordError'
  override readonly name = 'InvalidDhtRecordError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_DHT_RECORD'
  readonly code = 'ERR_INVALID_DHT_RECORD'

  constructor (message = 'the DHT value is not an AuraID record for its key', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A network (DHT) lookup failed or ran past its timeout. */
export class NetworkLookupError extends AuraLinkError {
  static override readonly name = 'NetworkLookupError'
  override readonly name = 'NetworkLookupError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_NETWORK_LOOKUP'
  readonly code = 'ERR_NETWORK_LOOKUP'

  constructor (message = 'the network lookup failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A network (DHT) publish failed or ran past its timeout. */
export class NetworkPublishError extends AuraLinkError {
  static override readonly name = 'NetworkPublishError'
  override readonly name = 'NetworkPublishError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_NETWORK_PUBLISH'
  readonly code = 'ERR_NETWORK_PUBLISH'

  constructor (message = 'the network publish failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Why a DHT node refused a PUT of an AuraID record (docs/dht.md, "Threat model"): `not_relay`
 * (the sender is not a relay), `rate` (the sender's PUTs per minute), `invalid` (does not verify
 * for its key), `withdrawn` (a copy of a record unregistered here), `taken` (the name is held
 * here, or stored here, by another key: the first key sticks), `look_alike` (looks like a name
 * another key holds or stored here), `stale` (older than the record of the same key stored
 * here), `quota` (the key would hold more names than a directory allows).
 */
export type DhtPutRefusalReason = 'not_relay' | 'rate' | 'invalid' | 'withdrawn' | 'taken' | 'look_alike' | 'stale' | 'quota'

/** A DHT PUT of an AuraID record that this node's write policy refuses; kad-dht aborts the sender's stream with it. */
export class DhtPutRefusedError extends AuraLinkError {
  static override readonly name = 'DhtPutRefusedError'
  override readonly name = 'DhtPutRefusedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DHT_PUT_REFUSED'
  readonly code = 'ERR_DHT_PUT_REFUSED'
  /** Why the PUT was refused. */
  readonly reason: DhtPutRefusalReason

  constructor (reason: DhtPutRefusalReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}
