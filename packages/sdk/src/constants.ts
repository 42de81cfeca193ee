/** How long a call rings before the caller gives up (END_REASON_TIMEOUT). */
export const DEFAULT_RING_TIMEOUT_MS = 30_000
/** Each side sends a Ping this often on the call stream (a few dozen bytes each). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 500
/** Nothing heard for this long: the call is 'reconnecting' (so at most this plus one interval, 2 s, after the last message). */
export const DEFAULT_RECONNECTING_AFTER_MS = 1_500
/** A call not yet accepted (ringing, connecting) with nothing heard for this long ends 'peer-vanished'; an accepted one reconnects instead. */
export const DEFAULT_VANISHED_AFTER_MS = 8_000
/** How long a call may stay 'reconnecting' before it ends with 'connection-lost'. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 30_000
/**
 * @internal While the media path is down, the call stream up and the device has an interface, the
 * caller restarts ICE this often (each restart is an offer and an answer, a few KB, through a relay
 * when the direct path is gone); a change of the device's network restarts it at once. Not more
 * often: a restart replaces the old candidate pairs, which ICE brings back by itself when the same
 * path returns (bench/reconnect: 1 s restarts made a 5 s drop heal in 1.2 s at the median, the
 * browser's own ICE in 0.1 s).
 */
export const ICE_RESTART_INTERVAL_MS = 5_000
/** @internal While the media path is down, the caller looks at the device's network (the host candidates it can gather) this often, and restarts ICE at once when an interface came back or an address changed. */
export const NETWORK_PROBE_INTERVAL_MS = 250
/** @internal One look at the device's network gives up gathering after this long. */
export const NETWORK_PROBE_TIMEOUT_MS = 500
/** @internal A re-dial through a relay that takes longer than this is given up and tried again (one takes ~100 ms; a relay whose connection to a gone peer is closing may not answer at all). */
export const REDIAL_TIMEOUT_MS = 2_500
/** @internal The other side's Resume (and a move to a direct connection) that takes longer than this is given up and tried again. */
export const RESUME_TIMEOUT_MS = 5_000
/** @internal A call stream that fails while its connection is open: if the connection is still open this long after, the peer reset the stream and the call ends; if it closed, the path broke and the call reconnects. */
export const STREAM_RESET_GRACE_MS = 250
/** @internal Pause between two failed re-dials of a reconnecting call. */
export const REDIAL_BACKOFF_MS = 500
/** @internal Once a call carries on over a relayed connection, the caller tries for a direct one again this often. */
export const UPGRADE_INTERVAL_MS = 3_000
/** @internal Chat messages sent and not yet acknowledged; send() past it throws RangeError. */
export const MAX_UNACKED_CHAT = 1_000
/** Bytes per file chunk on a file stream. */
export const FILE_CHUNK_BYTES = 64 * 1024
/** Bytes per Blob read when a file is too large to read whole (each read is a round trip in browsers: 64 KiB reads took 70 ms per 5 MiB in Chromium, 1 MiB reads 24 ms). */
export const FILE_READ_BYTES = 1024 * 1024
/** A sender reads a Blob up to this size whole and hashes it in one WebCrypto call; a larger one is read twice in pieces and hashed with noble. */
export const IN_MEMORY_FILE_BYTES = 64 * 1024 * 1024
/** The largest file a receiver accepts by default, in memory or to a sink. */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
/** Incoming files up to this size are kept in memory (a Blob); larger ones need a sink (`transfer.receiveTo()`) or are refused. */
export const DEFAULT_MAX_IN_MEMORY_FILE_BYTES = 16 * 1024 * 1024
/** Incoming transfers at once from one peer (its call's), streams whose header has not arrived included. */
export const DEFAULT_MAX_INCOMING_FILES_PER_PEER = 4
/** Incoming transfers at once across all calls of a client, streams still sending their header included. */
export const DEFAULT_MAX_INCOMING_FILES = 8
/** An incoming file stream that has not sent its header within this time is reset. */
export const FILE_HEADER_TIMEOUT_MS = 10_000
/** How long call.sendImage() waits for the peer's ImageCodecs (sent when the call is accepted); a peer silent that long gets JPEG. */
export const IMAGE_CODECS_WAIT_MS = 5_000
/** A caller's AuraID that did not resolve is not looked up again for this long. */
export const DEFAULT_UNRESOLVED_CALLER_TTL_MS = 60_000
/** Most unresolved callers' AuraIDs remembered; the least recently seen goes first. */
export const DEFAULT_UNRESOLVED_CALLER_CACHE_SIZE = 1024
/** Directory lookups of callers' AuraIDs at once; an invite naming another name past it is refused. */
export const DEFAULT_MAX_CALLER_LOOKUPS = 4
/** A caller's AuraID whose lookup failed for another reason than NOT_FOUND (a relay unreachable or busy) is retried after this long. */
export const CALLER_LOOKUP_FAILURE_TTL_MS = 5_000
/** A lookup of a caller's AuraID gives up after this long (the caller is shown unnamed). */
export const CALLER_LOOKUP_TIMEOUT_MS = 10_000
/** @internal How long call() waits for the media session's first offer (it goes in the invite); past it the invite goes without, and the caller offers after the accept. */
export const EARLY_OFFER_TIMEOUT_MS = 3_000
/** How long a peer that lost a glare tie-break waits for the winner's invite. */
export const GLARE_WAIT_MS = 10_000
/** The key store label of the client's identity key (in the default key store, or the one given). */
export const DEFAULT_KEY_LABEL = 'auralink-identity'
/** reject(reason) texts are cut to this many characters. */
export const MAX_REASON_CHARS = 256
/** @internal A video call's AIC waits for its media connection before it loads the runtime (so as not to slow the call's setup), at most this long. */
export const AIC_LOAD_WAIT_MS = 10_000
/** AIC's mode for video calls when neither the client nor the call says. */
export const DEFAULT_AIC_MODE = 'adaptive' as const
/** A peer that says nothing of AIC for this long is a peer without AIC. */
export const DEFAULT_AIC_CAPABILITY_TIMEOUT_MS = 15_000
/** The AIC sender reads its stats and asks the controller this often; the receiver reports as often. */
export const DEFAULT_AIC_TICK_MS = 1_000
/** File names are cut to this many UTF-8 bytes (the extension kept). */
export const MAX_FILE_NAME_BYTES = 255
/** A refused file stream gets this long to carry the refusal to the sender before it is reset. */
export const FILE_REFUSE_WAIT_MS = 2_000
/** How long create() waits for a relay reservation before it fails with RelayUnreachableError. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000
/**
 * The limit of the dial that `call()` makes to reach the callee (the mesh's `dial(name, { timeoutMs })`):
 * failed WebRTC attempts are retried for as long as another fits in it, not only `dial.retries` times.
 */
export const CALL_DIAL_TIMEOUT_MS = 30_000
/** Calls at once (ringing, connecting, connected, reconnecting): an invite past it is answered 'busy'. */
export const DEFAULT_MAX_CALLS = 1
/** The oldest Node.js major version the SDK and the relay run on (`Promise.withResolvers`, `AbortSignal.any`, WebSocket). */
export const MIN_NODE_MAJOR = 22
/** @internal ICE candidates held until the remote description is set; more are dropped (a peer sends a handful). */
export const MAX_PENDING_CANDIDATES = 64
/** @internal Media signals (offers, answers, candidates) from the peer waiting to be applied; past it the media session fails. */
export const MAX_PENDING_MEDIA_SIGNALS = 256
/**
 * The video uplink a group call shares equally among its pairs by default (bit/s): each pair's
 * video sender gets uplink / pairs as its ceiling (`group.setUplink()`), AIC deciding within it
 * (docs/group-calls.md "Bitrate per pair"). 2.5 Mbit/s: a pair of a six-person room gets 500 kbit/s.
 */
export const DEFAULT_GROUP_UPLINK_BPS = 2_500_000
