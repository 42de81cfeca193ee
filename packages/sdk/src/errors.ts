// Errors of @auralink/sdk. Callers match on `err.name`. Errors raised by the mesh (an unknown
// AuraID, an offline callee, no reachable relay) reach callers unchanged, with their own names:
// AuraIdNotFoundError, PeerOfflineError, RelayUnreachableError, DialFailedError.

/** A call was made on an object that is closed, or in a state where the call makes no sense. */
export class InvalidStateError extends Error {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'
}

/** The browser refused the camera or microphone (the user said no, or no device exists). */
export class MediaAccessDeniedError extends Error {
  static override readonly name = 'MediaAccessDeniedError'
  override readonly name = 'MediaAccessDeniedError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Media was asked for where no WebRTC media implementation exists (Node without `wrtc`). */
export class MediaUnsupportedError extends Error {
  static override readonly name = 'MediaUnsupportedError'
  override readonly name = 'MediaUnsupportedError'
}

/** The call ended before what was awaited happened. `reason` is the call's end reason. */
export class CallEndedError extends Error {
  static override readonly name = 'CallEndedError'
  override readonly name = 'CallEndedError'
  readonly reason: string

  constructor (reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}

/** A file transfer failed: refused, too large, cut off, or its checksum did not match. */
export class FileTransferError extends Error {
  static override readonly name = 'FileTransferError'
  override readonly name = 'FileTransferError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * An incoming file is larger than this client takes: over `maxFileBytes`, or over
 * `files.maxInMemoryBytes` with no sink given (`transfer.receiveTo()`). `size` is what the
 * sender announced, `limit` the cap it is over.
 */
export class FileTooLargeError extends Error {
  static override readonly name = 'FileTooLargeError'
  override readonly name = 'FileTooLargeError'
  readonly size: number
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
export class TransferAbortedError extends Error {
  static override readonly name = 'TransferAbortedError'
  override readonly name = 'TransferAbortedError'
  readonly reason: string

  constructor (reason: string, message = `the transfer was aborted (${reason})`, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/** The JavaScript runtime is too old for AuraLink (Node before 22): the message names the version needed and the one running. */
export class UnsupportedRuntimeError extends Error {
  static override readonly name = 'UnsupportedRuntimeError'
  override readonly name = 'UnsupportedRuntimeError'
  readonly code = 'UNSUPPORTED_RUNTIME'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
