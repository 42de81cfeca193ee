import { AuraLinkError } from './base.js'

/** The input is larger than the limit for its message type. */
export class MessageTooLargeError extends AuraLinkError {
  static override readonly name = 'MessageTooLargeError'
  override readonly name = 'MessageTooLargeError'
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
  static readonly code = 'ERR_REQUEST_TOO_LARGE'
  readonly code = 'ERR_REQUEST_TOO_LARGE'

  constructor (message = 'the request is over its size limit', options?: { cause?: unknown }) {
    super(message, options)
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
  static readonly code = 'ERR_INVALID_STATE'
  readonly code = 'ERR_INVALID_STATE'

  constructor (message = 'the object is closed', options?: { cause?: unknown }) {
    super(message, options)
  }
}
