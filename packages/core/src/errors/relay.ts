import { AuraLinkError } from './base.js'

/** Bad flags, env vars or config file; the relay CLI prints the message and exits 2. */
export class ConfigError extends AuraLinkError {
  static override readonly name = 'ConfigError'
  override readonly name = 'ConfigError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_CONFIG'
  readonly code = 'ERR_CONFIG'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The relay's data dir cannot be created or written; the CLI exits 2. */
export class DataDirError extends AuraLinkError {
  static override readonly name = 'DataDirError'
  override readonly name = 'DataDirError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DATA_DIR'
  readonly code = 'ERR_DATA_DIR'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The relay's LevelDB datastore is damaged: a missing `CURRENT` beside its data, a truncated or
 * corrupt table, LevelDB's "Corruption:". The message says which file and LevelDB's words, and
 * what to do: restore the data dir from a backup, or run `auralink-relay --repair`. The CLI exits 2.
 */
export class DatastoreDamagedError extends AuraLinkError {
  static override readonly name = 'DatastoreDamagedError'
  override readonly name = 'DatastoreDamagedError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_DATASTORE_DAMAGED'
  readonly code = 'ERR_DATASTORE_DAMAGED'

  constructor (message = 'the datastore is damaged', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A port the relay needs is taken; the CLI exits 1. */
export class PortInUseError extends AuraLinkError {
  static override readonly name = 'PortInUseError'
  override readonly name = 'PortInUseError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_PORT_IN_USE'
  readonly code = 'ERR_PORT_IN_USE'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A recording consent that cannot be trusted or does not fit (issue 17): malformed, badly signed,
 * with fields out of bounds, lapsed or from the future, or not matching the other consents of the
 * recording or the relay it is shown to (`reason` says which). A relay records nothing on it.
 */
export class InvalidRecordingConsentError extends AuraLinkError {
  static override readonly name = 'InvalidRecordingConsentError'
  override readonly name = 'InvalidRecordingConsentError'
  /** The code of every error of this class. */
  static readonly code = 'ERR_INVALID_RECORDING_CONSENT'
  readonly code = 'ERR_INVALID_RECORDING_CONSENT'
  /** What is wrong. */
  readonly reason: 'malformed' | 'signature' | 'fields' | 'expired' | 'mismatch'

  constructor (reason: 'malformed' | 'signature' | 'fields' | 'expired' | 'mismatch', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}
