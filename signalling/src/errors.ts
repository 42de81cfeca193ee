// The errors this package throws, defined once in @auralink/core and re-exported here.
// DirectoryRejectedError is the refusal the directory answers with (its `reason` goes on the
// wire); DirectoryTimeoutError and InvalidStateError are what a stream is aborted with when its
// time is up or the service stops.
export {
  DhtPutRefusedError, DirectoryRejectedError, DirectoryTimeoutError, InvalidDhtRecordError,
  InvalidStateError, MalformedMessageError, MessageTooLargeError, NetworkLookupError, NetworkPublishError,
  RequestTooLargeError
} from '@auralink/core'
export type { DhtPutRefusalReason, DirectoryRejectionReason } from '@auralink/core'
