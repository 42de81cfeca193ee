import { AuraLinkError } from './base.js'

/** No configured relay could be reached, so the directory and circuits are out of reach. */
export class RelayUnreachableError extends AuraLinkError {
  static override readonly name = 'RelayUnreachableError'
  override readonly name = 'RelayUnreachableError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_RELAY_UNREACHABLE'
  readonly code = 'ERR_RELAY_UNREACHABLE'

  constructor (message = 'no relay could be reached', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The peer holds no reservation on a relay we dialled it through (a circuit relay refusal,
 * NO_RESERVATION), or on any relay we share: it is offline or attached elsewhere.
 */
export class PeerOfflineError extends AuraLinkError {
  static override readonly name = 'PeerOfflineError'
  override readonly name = 'PeerOfflineError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_PEER_OFFLINE'
  readonly code = 'ERR_PEER_OFFLINE'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * One dial attempt ran out of time: no progress for its stall limit, or over its whole limit. The
 * mesh then tries again while the caller's deadline allows; it is the `error` of a `dial:retry`
 * event, and the `cause` of a DialFailedError whose last attempt timed out.
 */
export class AttemptTimeoutError extends AuraLinkError {
  static override readonly name = 'AttemptTimeoutError'
  override readonly name = 'AttemptTimeoutError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_ATTEMPT_TIMEOUT'
  readonly code = 'ERR_ATTEMPT_TIMEOUT'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Every dial attempt failed: direct, then relayed and TURN where allowed. The message says what was tried; `attempts` counts all. */
export class DialFailedError extends AuraLinkError {
  static override readonly name = 'DialFailedError'
  override readonly name = 'DialFailedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DIAL_FAILED'
  readonly code = 'ERR_DIAL_FAILED'
  /** How many dial attempts were made, in all phases. */
  readonly attempts: number

  constructor (message: string, attempts: number, options?: { cause?: unknown }) {
    super(message, options)
    this.attempts = attempts
  }
}

/** The authenticated PeerId of a connection is not the key the AuraID resolved to. */
export class PeerIdMismatchError extends AuraLinkError {
  static override readonly name = 'PeerIdMismatchError'
  override readonly name = 'PeerIdMismatchError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_PEER_ID_MISMATCH'
  readonly code = 'ERR_PEER_ID_MISMATCH'

  constructor (message: string) {
    super(message)
  }
}

/**
 * `start()` could not load the relay scores from `MeshNodeInit.reputation.store`: the store failed
 * or holds a corrupt snapshot (`cause`, a TypeError naming the bad field, says which). The node is
 * not started, and the store is left as it was: the app decides whether to start afresh (for
 * example by saving an empty snapshot, or by leaving `store` out).
 */
export class ReputationLoadError extends AuraLinkError {
  static override readonly name = 'ReputationLoadError'
  override readonly name = 'ReputationLoadError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_REPUTATION_LOAD'
  readonly code = 'ERR_REPUTATION_LOAD'

  constructor (message = 'could not load the relay scores from the reputation store', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Saving the relay scores to `MeshNodeInit.reputation.store` failed (`cause` says why). */
export class ReputationSaveError extends AuraLinkError {
  static override readonly name = 'ReputationSaveError'
  override readonly name = 'ReputationSaveError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_REPUTATION_SAVE'
  readonly code = 'ERR_REPUTATION_SAVE'

  constructor (message = 'could not save the relay scores to the reputation store', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A relay advert that cannot be trusted: malformed, forged, or with fields out of bounds (`reason` says which). */
export class InvalidRelayAdvertError extends AuraLinkError {
  static override readonly name = 'InvalidRelayAdvertError'
  override readonly name = 'InvalidRelayAdvertError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_RELAY_ADVERT'
  readonly code = 'ERR_INVALID_RELAY_ADVERT'
  /** What is wrong with the advert. */
  readonly reason: 'malformed' | 'signature' | 'fields'

  constructor (reason: 'malformed' | 'signature' | 'fields', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/** A relay advert past its expiry (or issued too far in the future). */
export class ExpiredRelayAdvertError extends AuraLinkError {
  static override readonly name = 'ExpiredRelayAdvertError'
  override readonly name = 'ExpiredRelayAdvertError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_EXPIRED_RELAY_ADVERT'
  readonly code = 'ERR_EXPIRED_RELAY_ADVERT'

  constructor (message: string) {
    super(message)
  }
}

/**
 * A relay report batch that cannot be trusted: malformed, badly signed, with fields out of bounds,
 * too old or from the future, or signed by a peer other than the one that sent it (`reason`).
 */
export class InvalidRelayReportError extends AuraLinkError {
  static override readonly name = 'InvalidRelayReportError'
  override readonly name = 'InvalidRelayReportError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_RELAY_REPORT'
  readonly code = 'ERR_INVALID_RELAY_REPORT'
  /** What is wrong with the batch. */
  readonly reason: 'malformed' | 'signature' | 'fields' | 'time' | 'sender'

  constructor (reason: InvalidRelayReportError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/**
 * A relay answered at its address with another peer id than the one configured (or learnt and
 * pinned when the client first reached it). The connection is refused: it may be another relay
 * on that address, or someone pretending to be it.
 */
export class WrongRelayIdError extends AuraLinkError {
  static override readonly name = 'WrongRelayIdError'
  override readonly name = 'WrongRelayIdError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_WRONG_RELAY_ID'
  readonly code = 'ERR_WRONG_RELAY_ID'
  /** The address dialled, without its /p2p part. */
  readonly addr: string
  /** The peer id configured or pinned for that address. */
  readonly expected: string
  /** The peer id the relay proved in the handshake. */
  readonly actual: string

  constructor (addr: string, expected: string, actual: string, options?: { cause?: unknown }) {
    super(`relay ${addr} has peer id ${actual}, not the expected ${expected}: wrong /p2p/ id in the relay address, or another relay answered there`, options)
    this.addr = addr
    this.expected = expected
    this.actual = actual
  }
}
