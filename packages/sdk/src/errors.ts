// Every error an SDK call can throw, defined once in @auralink/core and re-exported here, so an
// app imports them all from @auralink/sdk. Match with `instanceof`; `code` is for logs (the
// "Errors" section of README.md lists them, with their codes and when each is thrown).
export { AURALINK_ERROR_CODES, AuraLinkError } from '@auralink/core'
export type { AuraLinkErrorCode, DirectoryRejectionReason, NameRule } from '@auralink/core'
export {
  // the client and its calls
  CallEndedError, FileTooLargeError, FileTransferError, InvalidStateError, MediaAccessDeniedError,
  ImageFailedError, MediaUnsupportedError, PhoneCallFailedError, RecordingFailedError, RecordingRefusedError, TransferAbortedError, UnsupportedRuntimeError,
  // names, records and the key store
  CorruptKeyError, InvalidAuraIdError, KeyInUseError, UnsupportedPlatformError, InvalidRecordError, InvalidSignatureError, MalformedRecordError,
  RecordExpiredError, RecordTooLargeError,
  // the directory, relays and dials
  AuraIdNotFoundError, DialFailedError, DirectoryRejectedError, DirectoryTimeoutError, PeerIdMismatchError,
  PeerOfflineError, RelayUnreachableError, ReputationLoadError, ReputationSaveError, WrongRelayIdError
} from '@auralink/core'
