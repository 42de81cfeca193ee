/** The AuraID is not registered (or its record expired) at any directory asked. Fails fast: no dial is tried. */
export class AuraIdNotFoundError extends Error {
  static override readonly name = 'AuraIdNotFoundError'
  override readonly name = 'AuraIdNotFoundError'
  readonly auraId: string

  constructor (auraId: string, message = `${auraId} is not registered`) {
    super(message)
    this.auraId = auraId
  }
}

/** The directory refused a request. `code` is the DirectoryError name, e.g. 'NAME_TAKEN'. */
export class DirectoryRejectedError extends Error {
  static override readonly name = 'DirectoryRejectedError'
  override readonly name = 'DirectoryRejectedError'
  readonly code: string

  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** A directory request got no answer in time. */
export class DirectoryTimeoutError extends Error {
  static override readonly name = 'DirectoryTimeoutError'
  override readonly name = 'DirectoryTimeoutError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** No configured relay could be reached, so the directory and circuits are out of reach. */
export class RelayUnreachableError extends Error {
  static override readonly name = 'RelayUnreachableError'
  override readonly name = 'RelayUnreachableError'

  constructor (message = 'no relay could be reached', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The peer holds no reservation on any relay we share: it is offline or attached elsewhere. */
export class PeerOfflineError extends Error {
  static override readonly name = 'PeerOfflineError'
  override readonly name = 'PeerOfflineError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Every dial attempt failed: direct, then relayed and TURN where allowed. The message says what was tried; `attempts` counts all. */
export class DialFailedError extends Error {
  static override readonly name = 'DialFailedError'
  override readonly name = 'DialFailedError'
  readonly attempts: number

  constructor (message: string, attempts: number, options?: { cause?: unknown }) {
    super(message, options)
    this.attempts = attempts
  }
}

/** The authenticated PeerId of a connection is not the key the AuraID resolved to. */
export class PeerIdMismatchError extends Error {
  static override readonly name = 'PeerIdMismatchError'
  override readonly name = 'PeerIdMismatchError'

  constructor (message: string) {
    super(message)
  }
}

/** A call on a mesh node that is not started, or was stopped. */
export class InvalidStateError extends Error {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'

  constructor (message = 'mesh node is not running') {
    super(message)
  }
}

/**
 * `start()` could not load the relay scores from `MeshNodeInit.reputation.store`: the store failed
 * or holds a corrupt snapshot (`cause`, a TypeError naming the bad field, says which). The node is
 * not started, and the store is left as it was: the app decides whether to start afresh (for
 * example by saving an empty snapshot, or by leaving `store` out).
 */
export class ReputationLoadError extends Error {
  static override readonly name = 'ReputationLoadError'
  override readonly name = 'ReputationLoadError'

  constructor (message = 'could not load the relay scores from the reputation store', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Saving the relay scores to `MeshNodeInit.reputation.store` failed (`cause` says why). */
export class ReputationSaveError extends Error {
  static override readonly name = 'ReputationSaveError'
  override readonly name = 'ReputationSaveError'

  constructor (message = 'could not save the relay scores to the reputation store', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A relay report batch that cannot be trusted: malformed, badly signed, with fields out of bounds,
 * too old or from the future, or signed by a peer other than the one that sent it (`reason`).
 */
export class InvalidRelayReportError extends Error {
  static override readonly name = 'InvalidRelayReportError'
  override readonly name = 'InvalidRelayReportError'
  readonly reason: 'malformed' | 'signature' | 'fields' | 'time' | 'sender'

  constructor (reason: InvalidRelayReportError['reason'], message: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}
