import { AuraLinkError } from './base.js'

/** The browser refused the camera or microphone (the user said no, or no device exists). */
export class MediaAccessDeniedError extends AuraLinkError {
  static override readonly name = 'MediaAccessDeniedError'
  override readonly name = 'MediaAccessDeniedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MEDIA_ACCESS_DENIED'
  readonly code = 'ERR_MEDIA_ACCESS_DENIED'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Media was asked for where no WebRTC media implementation exists (Node without `wrtc`). */
export class MediaUnsupportedError extends AuraLinkError {
  static override readonly name = 'MediaUnsupportedError'
  override readonly name = 'MediaUnsupportedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_MEDIA_UNSUPPORTED'
  readonly code = 'ERR_MEDIA_UNSUPPORTED'

  constructor (message = 'no WebRTC media implementation here', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The call ended before what was awaited happened. `reason` is the call's end reason. */
export class CallEndedError extends AuraLinkError {
  static override readonly name = 'CallEndedError'
  override readonly name = 'CallEndedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_CALL_ENDED'
  readonly code = 'ERR_CALL_ENDED'
  /** The call's end reason. */
  readonly reason: string

  constructor (reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}

/** A file transfer failed: refused, too large, cut off, or its checksum did not match. */
export class FileTransferError extends AuraLinkError {
  static override readonly name = 'FileTransferError'
  override readonly name = 'FileTransferError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_FILE_TRANSFER'
  readonly code = 'ERR_FILE_TRANSFER'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * An incoming file is larger than this client takes: over `maxFileBytes`, or over
 * `files.maxInMemoryBytes` with no sink given (`transfer.receiveTo()`). `size` is what the
 * sender announced, `limit` the cap it is over.
 */
export class FileTooLargeError extends AuraLinkError {
  static override readonly name = 'FileTooLargeError'
  override readonly name = 'FileTooLargeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_FILE_TOO_LARGE'
  readonly code = 'ERR_FILE_TOO_LARGE'
  /** The size the sender announced, in bytes. */
  readonly size: number
  /** The cap it is over, in bytes. */
  readonly limit: number

  constructor (size: number, limit: number, message = `a file of ${size} bytes is over the limit of ${limit} bytes`) {
    super(message)
    this.size = size
    this.limit = limit
  }
}

/**
 * A file transfer was cut off on this side: its call ended (hangup on either side, a failure,
 * the client stopped) or its `signal` aborted. Its stream was reset and partial data dropped.
 * `reason` is the call's end reason, or 'aborted'.
 */
export class TransferAbortedError extends AuraLinkError {
  static override readonly name = 'TransferAbortedError'
  override readonly name = 'TransferAbortedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_TRANSFER_ABORTED'
  readonly code = 'ERR_TRANSFER_ABORTED'
  /** The call's end reason, or 'aborted'. */
  readonly reason: string

  constructor (reason: string, message = `the transfer was aborted (${reason})`, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/** The JavaScript runtime is too old for AuraLink (Node before 22): the message names the version needed and the one running. */
export class UnsupportedRuntimeError extends AuraLinkError {
  static override readonly name = 'UnsupportedRuntimeError'
  override readonly name = 'UnsupportedRuntimeError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_UNSUPPORTED_RUNTIME'
  readonly code = 'ERR_UNSUPPORTED_RUNTIME'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The other side of the call refused to be recorded (`call.startRecording()`): nothing was recorded. `reason` is its words. */
export class RecordingRefusedError extends AuraLinkError {
  static override readonly name = 'RecordingRefusedError'
  override readonly name = 'RecordingRefusedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RECORDING_REFUSED'
  readonly code = 'ERR_RECORDING_REFUSED'
  /** The other side's words ('' when it gave none). */
  readonly reason: string

  constructor (reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}

/**
 * A recording could not start or was cut short: the relay refused it (`result`: 'bad-request',
 * 'no-consent', 'limit' or 'failed', as its RecordResponse said, with its words in the message),
 * the relay could not be reached ('unreachable'), no answer came in time ('timeout'), or the
 * other side's consent was not valid ('invalid-consent').
 */
export class RecordingFailedError extends AuraLinkError {
  static override readonly name = 'RecordingFailedError'
  override readonly name = 'RecordingFailedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RECORDING_FAILED'
  readonly code = 'ERR_RECORDING_FAILED'
  /** What went wrong. */
  readonly result: 'bad-request' | 'no-consent' | 'limit' | 'failed' | 'unreachable' | 'timeout' | 'invalid-consent'

  constructor (result: RecordingFailedError['result'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.result = result
  }
}

/**
 * A group call's membership op (issue 18; docs/group-calls.md) that does not decode, is not
 * signed by the key it names, has fields out of bounds, is from the future, or is for another
 * room (`reason` says which). Nobody joins or leaves on it.
 */
export class InvalidGroupOpError extends AuraLinkError {
  static override readonly name = 'InvalidGroupOpError'
  override readonly name = 'InvalidGroupOpError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_GROUP_OP'
  readonly code = 'ERR_INVALID_GROUP_OP'
  /** What is wrong. */
  readonly reason: 'malformed' | 'signature' | 'fields' | 'future' | 'room'

  constructor (reason: InvalidGroupOpError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/**
 * A phone call (`client.call('sip:...')`, docs/sip.md) that did not get through or was cut:
 * `reason` is the relay's or the far end's (`busy`, `declined`, `not-found`, `unreachable`,
 * `failed`, `refused`: the relay would not place it, `limit`: the relay's calls at once,
 * `remote-hangup`, `hangup`), or `unavailable` when none of this client's relays places SIP calls;
 * `status` is the SIP status that ended it (0 when none).
 */
export class PhoneCallFailedError extends AuraLinkError {
  static override readonly name = 'PhoneCallFailedError'
  override readonly name = 'PhoneCallFailedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_PHONE_CALL_FAILED'
  readonly code = 'ERR_PHONE_CALL_FAILED'
  readonly reason: 'busy' | 'declined' | 'not-found' | 'unreachable' | 'failed' | 'refused' | 'limit' | 'remote-hangup' | 'hangup' | 'unavailable'
  readonly status: number

  constructor (reason: PhoneCallFailedError['reason'], message: string, options?: { cause?: unknown, status?: number }) {
    super(message, options)
    this.reason = reason
    this.status = options?.status ?? 0
  }
}

/**
 * A still image in a call (call.sendImage(), the call's `image:failed` event) could not be sent
 * or shown. `reason`: 'unsupported' (no codec both sides have, or this runtime cannot read or
 * write the picture), 'corrupt' (the bytes do not decode), 'too-large' (over the receiver's
 * `images.maxSide`), 'decoder-unavailable' (the learned codec this side offered failed to load).
 */
export class ImageFailedError extends AuraLinkError {
  static override readonly name = 'ImageFailedError'
  override readonly name = 'ImageFailedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_IMAGE_FAILED'
  readonly code = 'ERR_IMAGE_FAILED'
  readonly reason: 'unsupported' | 'corrupt' | 'too-large' | 'decoder-unavailable'

  constructor (reason: ImageFailedError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}
