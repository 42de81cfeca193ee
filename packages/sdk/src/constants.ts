/** How long a call rings before the caller gives up (END_REASON_TIMEOUT). */
export const DEFAULT_RING_TIMEOUT_MS = 30_000
/** Each side sends a Ping this often on the call stream. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000
/** Nothing heard for this long: the call is 'reconnecting'. */
export const DEFAULT_RECONNECTING_AFTER_MS = 4_500
/** Nothing heard for this long: the peer vanished, the call ends (the issue asks for under 10 s). */
export const DEFAULT_VANISHED_AFTER_MS = 8_000
/** Bytes per file chunk on a file stream. */
export const FILE_CHUNK_BYTES = 64 * 1024
/** Bytes per Blob read when a file is too large to read whole (each read is a round trip in browsers: 64 KiB reads took 70 ms per 5 MiB in Chromium, 1 MiB reads 24 ms). */
export const FILE_READ_BYTES = 1024 * 1024
/** Files up to this size are held whole on both ends and hashed in one WebCrypto call; larger ones are streamed and hashed with noble. */
export const IN_MEMORY_FILE_BYTES = 64 * 1024 * 1024
/** The largest file a receiver accepts by default (it holds the file in memory until done). */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
/** How long a peer that lost a glare tie-break waits for the winner's invite. */
export const GLARE_WAIT_MS = 10_000
/** The key store label of the client's identity key, when a key store is given. */
export const DEFAULT_KEY_LABEL = 'auralink-identity'
/** reject(reason) texts and file names are cut to this many characters. */
export const MAX_REASON_CHARS = 256
/** AIC's mode for video calls when neither the client nor the call says. */
export const DEFAULT_AIC_MODE = 'adaptive' as const
/** A peer that says nothing of AIC for this long is a peer without AIC. */
export const DEFAULT_AIC_CAPABILITY_TIMEOUT_MS = 15_000
/** The AIC sender reads its stats and asks the controller this often; the receiver reports as often. */
export const DEFAULT_AIC_TICK_MS = 1_000
