import { AuraLinkError } from './base.js'

/** The input is larger than the limit for its message type. */
export class MessageTooLargeError extends AuraLinkError {
  static override readonly name = 'MessageTooLargeError'
  override readonly name = 'MessageTooLargeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MESSAGE_TOO_LARGE'
  readonly code = 'ERR_MESSAGE_TOO_LARGE'
  /** The input's size in bytes. */
  readonly size: number
  /** The limit for its message type in bytes. */
  readonly limit: number

  constructor (type: string, size: number, limit: number) {
    super(`${type} is ${size} bytes, over its limit of ${limit} bytes`)
    this.size = size
    this.limit = limit
  }
}

/** The input is not a valid encoding of the message type (truncated, corrupted, wrong wire type). */
export class MalformedMessageError extends AuraLinkError {
  static override readonly name = 'MalformedMessageError'
  override readonly name = 'MalformedMessageError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MALFORMED_MESSAGE'
  readonly code = 'ERR_MALFORMED_MESSAGE'

  constructor (type: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`${type} could not be decoded${reason}`, options)
  }
}

/** A directory request's length prefix announces more than MAX_DIRECTORY_REQUEST_BYTES (or never ends). */
export class RequestTooLargeError extends AuraLinkError {
  static override readonly name = 'RequestTooLargeError'
  override readonly name = 'RequestTooLargeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_REQUEST_TOO_LARGE'
  readonly code = 'ERR_REQUEST_TOO_LARGE'

  constructor (message = 'the request is over its size limit', options?: { cause?: unknown }) {
    super(message, options)
  }
}
