/** A CDF table is not usable: wrong length, not increasing, a zero-frequency symbol, wrong total. */
export class InvalidCdfError extends Error {
  static override readonly name = 'InvalidCdfError'
  override readonly name = 'InvalidCdfError'

  constructor (message: string) {
    super(message)
  }
}

/** The coded bytes end before every symbol was decoded. */
export class TruncatedStreamError extends Error {
  static override readonly name = 'TruncatedStreamError'
  override readonly name = 'TruncatedStreamError'

  constructor (message: string) {
    super(message)
  }
}

/** The coded bytes decode but fail the end-of-stream check, or leave bytes unread: they were altered. */
export class CorruptStreamError extends Error {
  static override readonly name = 'CorruptStreamError'
  override readonly name = 'CorruptStreamError'

  constructor (message: string) {
    super(message)
  }
}

/** A stream or a symbol count is over the limit the caller set. */
export class StreamTooLargeError extends Error {
  static override readonly name = 'StreamTooLargeError'
  override readonly name = 'StreamTooLargeError'

  constructor (message: string) {
    super(message)
  }
}
