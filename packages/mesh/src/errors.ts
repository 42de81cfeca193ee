// The errors this package throws, defined once in @auralink/core and re-exported here.
export {
  AttemptTimeoutError, AuraIdNotFoundError, DialFailedError, DirectoryRejectedError, DirectoryTimeoutError,
  ExpiredRelayAdvertError, InvalidRelayAdvertError, InvalidRelayReportError, InvalidStateError, MessageTooLargeError,
  PeerIdMismatchError, PeerOfflineError, RelayUnreachableError, ReputationLoadError, ReputationSaveError, WrongRelayIdError
} from '@auralink/core'
export type { DirectoryRejectionReason } from '@auralink/core'
