// The errors this package throws, defined once in @auralink/core and re-exported here.
export {
  CorruptKeyError, InvalidAuraIdError, KeyInUseError, InvalidRecordError, InvalidSignatureError, InvalidStateError,
  MalformedRecordError, RecordExpiredError, RecordTooLargeError, UnsupportedPlatformError,
  ExpiredRelayAdvertError, InvalidRelayAdvertError, InvalidRecordingConsentError, InvalidGroupOpError, MessageTooLargeError
} from '@auralink/core'
export type { NameRule } from '@auralink/core'
