/** Bad flags, env vars or config file; the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  static override readonly name = 'ConfigError'
  override readonly name = 'ConfigError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The data dir cannot be created or written; the CLI exits 2. */
export class DataDirError extends Error {
  static override readonly name = 'DataDirError'
  override readonly name = 'DataDirError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The LevelDB datastore is damaged: a missing `CURRENT` beside its data, a truncated or corrupt
 * table, LevelDB's "Corruption:". The message says which file and LevelDB's words, and what to
 * do: restore the data dir from a backup, or run `auralink-relay --repair`. The CLI exits 2.
 */
export class DatastoreDamagedError extends Error {
  static override readonly name = 'DatastoreDamagedError'
  override readonly name = 'DatastoreDamagedError'

  constructor (message = 'the datastore is damaged', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A port the relay needs is taken; the CLI exits 1. */
export class PortInUseError extends Error {
  static override readonly name = 'PortInUseError'
  override readonly name = 'PortInUseError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** start() on a relay node that has been stopped: make a new one instead. */
export class InvalidStateError extends Error {
  static override readonly name = 'InvalidStateError'
  override readonly name = 'InvalidStateError'

  constructor (message = 'the relay node is stopped', options?: { cause?: unknown }) {
    super(message, options)
  }
}
