/** A name stays bound to its key this long after its record's validity ends: 7 days. */
export const DEFAULT_GRACE_PERIOD_MS = 7 * 24 * 60 * 60 * 1000
/** Requests of any kind per remote peer per minute. */
export const DEFAULT_MAX_REQUESTS_PER_MINUTE = 120
/** Register, update and unregister requests per remote peer per minute. */
export const DEFAULT_MAX_WRITES_PER_MINUTE = 20
/** Names one key may hold at one directory. */
export const DEFAULT_MAX_NAMES_PER_KEY = 5
/** Search results when the request asks for none or more (never above MAX_SEARCH_RESULTS, 50). */
export const DEFAULT_MAX_SEARCH_RESULTS = 20
/** A stream must deliver its request, and be done, within this time. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** Concurrent directory streams per connection. */
export const DEFAULT_MAX_INBOUND_STREAMS = 64
/** Rate-limit buckets of peers not seen for this long are dropped. */
export const RATE_LIMIT_IDLE_MS = 10 * 60 * 1000
