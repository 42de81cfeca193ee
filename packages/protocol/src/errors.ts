// The errors the decoders throw, defined once in @auralink/core and re-exported here.
export { MalformedMessageError, MessageTooLargeError } from '@auralink/core'
