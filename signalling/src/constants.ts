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
/** A network (DHT) lookup gives up after this; the directory stream allows 10 s in all. */
export const DEFAULT_NETWORK_LOOKUP_TIMEOUT_MS = 5_000
/** A network (DHT) publish gives up after this. */
export const DEFAULT_NETWORK_PUBLISH_TIMEOUT_MS = 15_000
/**
 * Held public and unlisted records are checked against the network and published again this
 * often: 1 hour, well inside the 48 hours for which DHT nodes keep a record they were sent.
 */
export const DEFAULT_REPUBLISH_INTERVAL_MS = 60 * 60 * 1000
/**
 * DHT PUTs accepted per sending relay per minute (token bucket): well above one relay's
 * republish of its names, far below a flood.
 */
export const DEFAULT_DHT_PUTS_PER_MINUTE = 600
/** A DHT node keeps (and answers) a record this long after it last received it, as kad-dht does (48 h). */
export const DHT_RECORD_MAX_AGE_MS = 48 * 60 * 60 * 1000
/**
 * A republish cycle sends at most this many records a minute: half of the other relays' default
 * DHT PUT rate per relay (DEFAULT_DHT_PUTS_PER_MINUTE), so a relay's names all get through; a
 * cycle of N names takes N / 300 minutes (10,000 names: 33 minutes, inside the hour).
 */
export const REPUBLISH_PUTS_PER_MINUTE = DEFAULT_DHT_PUTS_PER_MINUTE / 2
