import type { DirectoryError } from '@auralink/protocol'

/**
 * A request the directory refuses. Never leaves the service: `handle()` turns it into a
 * response carrying `code` and `message`.
 */
export class DirectoryRefusal extends Error {
  static override readonly name = 'DirectoryRefusal'
  override readonly name = 'DirectoryRefusal'
  readonly code: DirectoryError

  constructor (code: DirectoryError, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A directory stream did not finish within `requestTimeoutMs`; the stream is aborted with this. */
export class RequestTimeoutError extends Error {
  static override readonly name = 'RequestTimeoutError'
  override readonly name = 'RequestTimeoutError'

  constructor (message = 'the directory stream did not finish in time', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The service was stopped while a stream was being served; the stream is aborted with this. */
export class DirectoryStoppedError extends Error {
  static override readonly name = 'DirectoryStoppedError'
  override readonly name = 'DirectoryStoppedError'

  constructor (message = 'the directory service stopped', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A request's length prefix announces more than MAX_DIRECTORY_REQUEST_BYTES (or never ends). */
export class RequestTooLargeError extends Error {
  static override readonly name = 'RequestTooLargeError'
  override readonly name = 'RequestTooLargeError'

  constructor (message = 'the request is over its size limit', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A DHT value under `/auraid/<name>` that is not a public or unlisted record for that very name (or a key of another shape). */
export class InvalidDhtRecordError extends Error {
  static override readonly name = 'InvalidDhtRecordError'
  override readonly name = 'InvalidDhtRecordError'

  constructor (message = 'the DHT value is not an AuraID record for its key', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A network (DHT) lookup failed or ran past its timeout. */
export class NetworkLookupError extends Error {
  static override readonly name = 'NetworkLookupError'
  override readonly name = 'NetworkLookupError'

  constructor (message = 'the network lookup failed', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A network (DHT) publish failed or ran past its timeout. */
export class NetworkPublishError extends Error {
  static override readonly name = 'NetworkPublishError'
  override readonly name = 'NetworkPublishError'

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
export class DhtPutRefusedError extends Error {
  static override readonly name = 'DhtPutRefusedError'
  override readonly name = 'DhtPutRefusedError'
  readonly reason: DhtPutRefusalReason

  constructor (reason: DhtPutRefusalReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}
