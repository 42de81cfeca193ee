/** How many times a direct (WebRTC) dial is retried after the first try fails. */
export const DEFAULT_DIAL_RETRIES = 3
/** Backoff before the first retry; doubles each time. */
export const DEFAULT_DIAL_BACKOFF_MS = 250
/** Most backoff between two direct rounds of a dial (`MeshDialOptions.timeoutMs` lets one go past `retries` rounds). */
export const MAX_DIAL_BACKOFF_MS = 2_000
/**
 * One dial attempt's whole limit, ICE and the upgrade included. libp2p's own per-address limit
 * (`connectionManager.addressDialTimeout`, 6 s by default) and the answering side's
 * (`inboundUpgradeTimeout`, 10 s) are set to this too (or to RELAY_DIAL_TIMEOUT_MS when that is
 * longer), so that this limit and the stall limit below, not libp2p's fixed ones, decide when an
 * attempt is given up.
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000
/**
 * Least time a dial attempt may go without progress (a libp2p progress event: signalling stream
 * open, offer sent, answer read, a candidate added, the upgrade's steps) before it is given up
 * and retried. The longest quiet step of a healthy attempt is ICE checks plus the DTLS handshake
 * plus the SCTP association, which DTLS's 1 s retransmission timer can stretch past 1 s, and which
 * a busy 2-core machine stretches to several seconds.
 */
export const DEFAULT_DIAL_STALL_MS = 5_000
/** An attempt may also go this many round trips to its relay without progress (the longer of the two applies). */
export const DEFAULT_DIAL_STALL_RTTS = 20
/**
 * A relayed connection to a peer is reused for a new dial attempt's signalling only while it has
 * at least this many bytes of its relay's data limit left: one attempt's signalling (offer,
 * answer, candidates, on a signalling stream of its own) takes about 1.6 KiB of it (bench/dial-load),
 * so a circuit with a 32 KiB limit carries about twenty; the margin covers slow attempts and retries.
 */
export const CIRCUIT_REUSE_MIN_BYTES = 16 * 1024
/**
 * ... and only while it is younger than this: the shortest duration limit our relays give a
 * circuit is 30 s (between peers without an established name), and an attempt takes up to
 * `DEFAULT_DIAL_TIMEOUT_MS` (15 s).
 */
export const CIRCUIT_REUSE_MAX_AGE_MS = 15_000
/** One directory request, stream open to response. */
export const DEFAULT_DIRECTORY_TIMEOUT_MS = 10_000
/** One dial of a relay's WebSocket address (connection, Noise and yamux), and one dial that learns a relay's peer id. */
export const RELAY_DIAL_TIMEOUT_MS = 10_000
/** How often the relay keeper checks its relays and redials lost ones. */
export const DEFAULT_RELAY_CHECK_INTERVAL_MS = 2_000
/** Most relay redial backoff. */
export const MAX_RELAY_BACKOFF_MS = 30_000
/** Most resolved records kept in the cache. */
export const DEFAULT_RESOLVE_CACHE_SIZE = 1_000
/** Upper bound on how long a resolved record is cached, whatever its ttl says. */
export const MAX_RESOLVE_CACHE_MS = 5 * 60 * 1000
/** How long the relay a dial to a peer last went through stays that peer's first route. */
export const DEFAULT_ROUTE_CACHE_TTL_MS = 5 * 60 * 1000
/** Most peers whose route is cached; the oldest entry goes first. */
export const DEFAULT_ROUTE_CACHE_SIZE = 1_000
/** Least time between two batches of relay reports read from one peer; others are refused unread. */
export const DEFAULT_REPORT_MIN_INTERVAL_MS = 10_000
/** How often each connected relay is asked for its relay list (`/auralink/relays/1.0.0`). */
export const DEFAULT_RELAY_LIST_INTERVAL_MS = 5 * 60 * 1000
/** Most relays kept from relay lists; the oldest advert goes first. */
export const DEFAULT_KNOWN_RELAYS = 1_024
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
/**
 * Which side of a new WebRTC connection runs the DTLS client in Node (`MeshNodeInit.dtlsClient`):
 * the offerer (src/webrtc-peer-connection.node.ts says why).
 */
export const DEFAULT_DTLS_CLIENT = 'offerer'
/**
 * The RTCConfiguration member through which a node tells src/webrtc-peer-connection.node.ts to
 * leave the DTLS roles as node-datachannel sets them (value 'answerer'); that class removes it
 * before node-datachannel sees the configuration. Browsers ignore members they do not know.
 */
export const DTLS_CLIENT_CONFIG_KEY = 'auralinkDtlsClient'

// Relay reputation (src/reputation/, docs/reputation.md).
/** The default weights of a relay score's parts (see docs/reputation.md). */
export const DEFAULT_RELAY_SCORE_WEIGHTS = Object.freeze({
  latency: -0.40, bandwidth: 0.25, reputation: 0.15, hops: -0.10, aicSupport: 0.05, uptime: 0.05
})
/**
 * A relay with at least this many failed circuits (decayed count), more than it carried, is ranked
 * after every relay that is not failing, whatever its score (docs/reputation.md "Failing relays").
 */
export const MIN_FAILED_CIRCUITS_TO_DEMOTE = 2
/** Every reputation counter halves in this time. */
export const DEFAULT_REPUTATION_HALF_LIFE_MS = 60 * 60 * 1000
/** Counters are multiplied by the decay factor once per interval (applied lazily, on read and write). */
export const DEFAULT_REPUTATION_DECAY_INTERVAL_MS = 1_000
/** A counter decayed below this goes to zero (gossipsub's DecayToZero). */
export const DEFAULT_REPUTATION_DECAY_TO_ZERO = 0.01
/** The smoothed RTT that makes the latency part 1. */
export const DEFAULT_REPUTATION_REFERENCE_RTT_MS = 500
/** RTT samples above this count as this (a timeout does not dominate the average). */
export const MAX_REPUTATION_RTT_MS = 2_000
/** The RTT assumed of a relay not yet measured. */
export const DEFAULT_REPUTATION_PRIOR_RTT_MS = 250
/** The throughput (bytes/s, 10 Mbit/s) that makes the bandwidth part 1; samples above it count as it. */
export const DEFAULT_REPUTATION_REFERENCE_THROUGHPUT = 1_250_000
/** The throughput assumed of a relay not yet measured. */
export const DEFAULT_REPUTATION_PRIOR_THROUGHPUT = 625_000
/** EWMA factor of a new RTT or throughput sample. */
export const DEFAULT_REPUTATION_SMOOTHING = 0.25
/** Pseudo-samples of the prior blended into the latency and bandwidth parts. */
export const DEFAULT_REPUTATION_PRIOR_WEIGHT = 1
/** Reputation lost per protocol violation, squared: min(max, penalty * violations^2). */
export const DEFAULT_REPUTATION_VIOLATION_PENALTY = 0.25
/** Most reputation lost to protocol violations. */
export const MAX_REPUTATION_VIOLATION_PENALTY = 4
/** Reports from other peers older than this are refused, and forgotten when they reach it. */
export const DEFAULT_REPUTATION_REPORT_TTL_MS = 60 * 60 * 1000
/** Reports dated further ahead of our clock than this are refused. */
export const DEFAULT_REPUTATION_REPORT_MAX_SKEW_MS = 60_000
/** Most weight reports from others get in the reputation part; our own data keeps the rest. */
export const DEFAULT_REPUTATION_REPORT_MIX = 0.25
/** Reports kept per relay. */
export const DEFAULT_REPUTATION_MAX_REPORTS_PER_RELAY = 64
/** EigenTrust damping towards the seed (pre-trusted peers and own experience). */
export const DEFAULT_REPUTATION_TRUST_DAMPING = 0.15
/** Share of the trust seed given to pre-trusted peers when we also have own experience with reporters. */
export const DEFAULT_REPUTATION_PRE_TRUSTED_SHARE = 0.5
/** Most relays, and most reporters, a scorer keeps. */
export const DEFAULT_REPUTATION_MAX_RELAYS = 1_024
/** The version of the reputation snapshot format written by `toJSON()`. */
export const REPUTATION_SNAPSHOT_VERSION = 1

// Reputation wiring in the mesh node (src/relay-reputation.ts, src/relay-keeper.ts).
/** How often a mesh node with a `reputation.store` saves its scorer's snapshot (it also saves on stop()). */
export const DEFAULT_REPUTATION_SAVE_INTERVAL_MS = 60_000
/** Limit of one ping of a connected relay at a relay check; a ping that takes longer counts as the relay being down at that check. */
export const DEFAULT_RELAY_PING_TIMEOUT_MS = 5_000
/**
 * Failed relay pings in a row after which the relay's connection is closed and redialled: with a
 * ping at each 2 s check, each bounded by 5 s, a relay silent for about 15 s. libp2p's connection
 * monitor, which did this after one failed ping of its own, no longer closes connections (it
 * closed direct connections carrying calls on a busy machine: mesh-node.ts).
 */
export const DEFAULT_RELAY_CLOSE_AFTER_FAILED_PINGS = 3
/** Bytes of one throughput probe of a relay (`/auralink/relay-probe/1.0.0`); 0 turns probing off. */
export const DEFAULT_RELAY_PROBE_BYTES = 128 * 1024
/** How often a mesh node probes each connected relay's throughput (the first time when it connects). */
export const DEFAULT_RELAY_PROBE_INTERVAL_MS = 10 * 60_000
/** Limit of one throughput probe; one that takes longer measures nothing. */
export const DEFAULT_RELAY_PROBE_TIMEOUT_MS = 20_000
/** Reservations a mesh node keeps (one '/p2p-circuit' listen address each), on its best-ranked relays. */
export const DEFAULT_RELAY_RESERVATIONS = 2
/** Known relays (from relay lists) a mesh node takes on at most while fewer of its relays are up than it wants. */
export const DEFAULT_ADOPTED_RELAYS = 2
/** Failed redials in a row after which a known relay that was taken on is dropped again. */
export const KNOWN_RELAY_MAX_FAILURES = 3
/** How long a known relay dropped after failed redials is not taken on again. */
export const KNOWN_RELAY_DROP_MS = 5 * 60_000
/**
 * Head start of the best-ranked relays when several are redialled at once: the circuit relay
 * transport reserves on relays in the order their connections come up, so the best ones are dialled
 * this long before the rest (or until they connect or fail, whichever is sooner).
 */
export const RELAY_DIAL_HEAD_START_MS = 1_000
