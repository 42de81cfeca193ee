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
/**
 * Largest data-channel message a WebRTC stream sends, libp2p's framing included. libp2p's
 * default is 16 KiB (go- and rust-libp2p peers accept no more); AuraLink's WebRTC peers are
 * browsers and node-datachannel, which accept 256 KiB, and 64 KiB is what RFC 8841 lets a sender
 * assume of a peer that states no limit. A quarter of the messages costs less CPU per byte: between
 * two Chromium pages on 2 cores a plain stream went from 0.84 to 0.90 of a raw RTCDataChannel and
 * sendFile from 0.74 to 0.77 (means of 4 to 6 interleaved sessions of 10 transfers; the renderers
 * spent about 10% less CPU per byte). Node to Node (bench/throughput) did not change beyond noise.
 */
export const DATA_CHANNEL_MESSAGE_BYTES = 64 * 1024
