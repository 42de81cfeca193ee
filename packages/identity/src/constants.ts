/** Label length bounds, between "@" and ".aura". */
export const MIN_NAME_LENGTH = 3
/** The longest label: at most this many characters between "@" and ".aura". */
export const MAX_NAME_LENGTH = 32

/** Names no one may register: they would pass for the service or for everyone. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'admin', 'administrator', 'root', 'system', 'sys', 'auralink', 'aura', 'relay', 'directory',
  'support', 'help', 'security', 'official', 'staff', 'moderator', 'mod', 'owner', 'operator',
  'null', 'undefined', 'nobody', 'everyone', 'all', 'here', 'me', 'you', 'api', 'www', 'localhost',
  'abuse', 'postmaster', 'hostmaster', 'webmaster', 'noreply', 'no-reply', 'test', 'example', 'invalid'
])

/** Default validity of a new record: 30 days. */
export const DEFAULT_RECORD_VALIDITY_MS = 30 * 24 * 60 * 60 * 1000
/** Records may not claim validity further ahead than this: 1 year. */
export const MAX_RECORD_VALIDITY_MS = 366 * 24 * 60 * 60 * 1000
/** Default cache lifetime of a resolved record, in seconds. */
export const DEFAULT_RECORD_TTL_S = 300
/** Profile fields are short, self-declared strings. */
export const MAX_DISPLAY_NAME_LENGTH = 64
/** The longest `profile.avatar`, in characters. */
export const MAX_AVATAR_LENGTH = 2048
/** Most relay addresses a record may name, and the longest one. */
export const MAX_RECORD_RELAYS = 4
/** The longest relay address a record may name, in characters. */
export const MAX_RECORD_RELAY_LENGTH = 256
/** An unregister proof is accepted within this much of the verifier's clock. */
export const UNREGISTER_MAX_SKEW_MS = 5 * 60 * 1000
