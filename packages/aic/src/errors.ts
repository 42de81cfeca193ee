// The errors this package throws, defined once in @auralink/core and re-exported here.
export {
  CorruptStreamError, InvalidCdfError, InvalidStateError, ModelLoadError, ModelNotFoundError,
  RuntimeUnavailableError, StreamTooLargeError, TruncatedStreamError, UnsupportedModelVersionError
} from '@auralink/core'
