import { AuraLinkError } from './base.js'

/** A CDF table is not usable: wrong length, not increasing, a zero-frequency symbol, wrong total. */
export class InvalidCdfError extends AuraLinkError {
  static override readonly name = 'InvalidCdfError'
  override readonly name = 'InvalidCdfError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_CDF'
  readonly code = 'ERR_INVALID_CDF'

  constructor (message: string) {
    super(message)
  }
}

/** The coded bytes end before every symbol was decoded. */
export class TruncatedStreamError extends AuraLinkError {
  static override readonly name = 'TruncatedStreamError'
  override readonly name = 'TruncatedStreamError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_TRUNCATED_STREAM'
  readonly code = 'ERR_TRUNCATED_STREAM'

  constructor (message: string) {
    super(message)
  }
}

/** The coded bytes decode but fail the end-of-stream check, or leave bytes unread: they were altered. */
export class CorruptStreamError extends AuraLinkError {
  static override readonly name = 'CorruptStreamError'
  override readonly name = 'CorruptStreamError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_CORRUPT_STREAM'
  readonly code = 'ERR_CORRUPT_STREAM'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A stream or a symbol count is over the limit the caller set. */
export class StreamTooLargeError extends AuraLinkError {
  static override readonly name = 'StreamTooLargeError'
  override readonly name = 'StreamTooLargeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_STREAM_TOO_LARGE'
  readonly code = 'ERR_STREAM_TOO_LARGE'

  constructor (message: string) {
    super(message)
  }
}

/** A model file the package ships (or one the caller named) is not there. */
export class ModelNotFoundError extends AuraLinkError {
  static override readonly name = 'ModelNotFoundError'
  override readonly name = 'ModelNotFoundError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MODEL_NOT_FOUND'
  readonly code = 'ERR_MODEL_NOT_FOUND'
  /** The model file. */
  readonly file: string

  constructor (file: string, options?: { cause?: unknown }) {
    super(`AIC model file not found: ${file}`, options)
    this.file = file
  }
}

/** A model file is there but unusable: its checksum differs from the manifest's, or ONNX Runtime refuses it. */
export class ModelLoadError extends AuraLinkError {
  static override readonly name = 'ModelLoadError'
  override readonly name = 'ModelLoadError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MODEL_LOAD'
  readonly code = 'ERR_MODEL_LOAD'
  /** The model file. */
  readonly file: string

  constructor (file: string, reason: string, options?: { cause?: unknown }) {
    super(`AIC model file ${file} cannot be loaded: ${reason}`, options)
    this.file = file
  }
}

/** The ONNX Runtime that the chosen runtime needs is not installed or cannot start here. */
export class RuntimeUnavailableError extends AuraLinkError {
  static override readonly name = 'RuntimeUnavailableError'
  override readonly name = 'RuntimeUnavailableError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RUNTIME_UNAVAILABLE'
  readonly code = 'ERR_RUNTIME_UNAVAILABLE'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A bitstream names a model version other than the one this codec runs: decoding it would give wrong pixels or fail. */
export class UnsupportedModelVersionError extends AuraLinkError {
  static override readonly name = 'UnsupportedModelVersionError'
  override readonly name = 'UnsupportedModelVersionError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_UNSUPPORTED_MODEL_VERSION'
  readonly code = 'ERR_UNSUPPORTED_MODEL_VERSION'
  /** The model version the bitstream names. */
  readonly version: number
  /** The version this codec runs. */
  readonly expected: number

  constructor (version: number, expected: number) {
    super(`the bitstream was coded with model version ${version}; this codec runs version ${expected}`)
    this.version = version
    this.expected = expected
  }
}
