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
