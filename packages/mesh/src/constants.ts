/** How many times a direct (WebRTC) dial is retried after the first try fails. */
export const DEFAULT_DIAL_RETRIES = 3
/** Backoff before the first retry; doubles each time. */
export const DEFAULT_DIAL_BACKOFF_MS = 250
/** One dial attempt, ICE and Noise included. */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000
/** One directory request, stream open to response. */
export const DEFAULT_DIRECTORY_TIMEOUT_MS = 10_000
/** How often the relay keeper checks its relays and redials lost ones. */
export const DEFAULT_RELAY_CHECK_INTERVAL_MS = 2_000
/** Most relay redial backoff. */
export const MAX_RELAY_BACKOFF_MS = 30_000
/** Most resolved records kept in the cache. */
export const DEFAULT_RESOLVE_CACHE_SIZE = 1_000
/** Upper bound on how long a resolved record is cached, whatever its ttl says. */
export const MAX_RESOLVE_CACHE_MS = 5 * 60 * 1000
