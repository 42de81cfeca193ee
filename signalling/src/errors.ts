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
