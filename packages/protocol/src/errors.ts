/** The input is larger than the limit for its message type. */
export class MessageTooLargeError extends Error {
  static override readonly name = 'MessageTooLargeError'
  override readonly name = 'MessageTooLargeError'
  readonly size: number
  readonly limit: number

  constructor (type: string, size: number, limit: number) {
    super(`${type} is ${size} bytes, over its limit of ${limit} bytes`)
    this.size = size
    this.limit = limit
  }
}

/** The input is not a valid encoding of the message type (truncated, corrupted, wrong wire type). */
export class MalformedMessageError extends Error {
  static override readonly name = 'MalformedMessageError'
  override readonly name = 'MalformedMessageError'

  constructor (type: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`${type} could not be decoded${reason}`, options)
  }
}
