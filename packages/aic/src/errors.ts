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

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
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

/** A model file the package ships (or one the caller named) is not there. */
export class ModelNotFoundError extends Error {
  static override readonly name = 'ModelNotFoundError'
  override readonly name = 'ModelNotFoundError'
  readonly file: string

  constructor (file: string, options?: ErrorOptions) {
    super(`AIC model file not found: ${file}`, options)
    this.file = file
  }
}

/** A model file is there but unusable: its checksum differs from the manifest's, or ONNX Runtime refuses it. */
export class ModelLoadError extends Error {
  static override readonly name = 'ModelLoadError'
  override readonly name = 'ModelLoadError'
  readonly file: string

  constructor (file: string, reason: string, options?: ErrorOptions) {
    super(`AIC model file ${file} cannot be loaded: ${reason}`, options)
    this.file = file
  }
}

/** The ONNX Runtime that the chosen runtime needs is not installed or cannot start here. */
export class RuntimeUnavailableError extends Error {
  static override readonly name = 'RuntimeUnavailableError'
  override readonly name = 'RuntimeUnavailableError'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
  }
}

/** A call on an enhancer or codec after close(). */
export class InvalidStateError extends Error {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'

  constructor (message: string) {
    super(message)
  }
}

/** A bitstream names a model version other than the one this codec runs: decoding it would give wrong pixels or fail. */
export class UnsupportedModelVersionError extends Error {
  static override readonly name = 'UnsupportedModelVersionError'
  override readonly name = 'UnsupportedModelVersionError'
  readonly version: number
  readonly expected: number

  constructor (version: number, expected: number) {
    super(`the bitstream was coded with model version ${version}; this codec runs version ${expected}`)
    this.version = version
    this.expected = expected
  }
}
