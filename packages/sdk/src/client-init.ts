import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_CALLS } from './constants.js'
import { checkAicMode } from './aic-wire.js'
import { inviteLimits } from './caller-names.js'
import { fileLimits } from './file-receiver.js'
import { checkImagesInit } from './images.js'
import { checkCamera } from './user-media.js'
import type { AicInit } from './aic-runtime.js'
import type { ImagesInit } from './images.js'
import type { CallMediaOptions } from './call.js'
import type { MediaRequest } from './call-machine.js'
import type { InvitesInit } from './caller-names.js'
import type { FilesInit } from './file-receiver.js'
import type { Ed25519PrivateKey, KeyStore } from '@auralink/identity'
import type { MeshNodeInit } from '@auralink/mesh'

// AuraLink.create()'s options and their checks, and the checks of each call's media.

/** Options of `AuraLink.create()`: only `relays` is required. */
export interface AuraLinkInit {
  /**
   * The relays: `ws://host:port`, `wss://host[:port]` or multiaddrs, with or without the relay's
   * peer id (`/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo...`). Without one, the id the relay proves in
   * its first handshake is pinned for this client's lifetime. At least one must be reachable.
   */
  relays: string[]
  /** The identity key; given, no key store is used. @default the key under `keyLabel` in `keyStore` (made and saved there the first time) */
  identity?: Ed25519PrivateKey
  /**
   * Where the identity key lives between sessions, so a reload or a restart keeps the same peer
   * id and the AuraIDs registered with it. `null`: no store, a new key at every create().
   * The key under `keyLabel` is locked while the client runs (a second client on it fails with
   * KeyInUseError): give each client of one browser or one machine its own `keyLabel`.
   * @default `defaultKeyStore()`: IndexedDB database 'auralink-keys' in browsers (`idbKeyStore()`);
   * in Node a `fileKeyStore` in `$AURALINK_HOME/keys`, or `~/.auralink/keys` without AURALINK_HOME
   */
  keyStore?: KeyStore | null
  /** The label of the identity key in `keyStore`; an AuraID makes a good one (one key per name). @default 'auralink-identity' */
  keyLabel?: string
  /** STUN/TURN servers for WebRTC. @default [] (host candidates only: same network or loopback) */
  iceServers?: RTCIceServer[]
  /** How long an outgoing call rings before it ends with 'timeout'. @default 30000 */
  ringTimeoutMs?: number
  /**
   * Keepalive on every call: a ping each `intervalMs`; an answered call quiet for
   * `reconnectingAfterMs` is 'reconnecting'; a call not answered yet quiet for `vanishedAfterMs`
   * ends ('peer-vanished'). @default 500 / 1500 / 8000
   */
  heartbeat?: { intervalMs?: number, reconnectingAfterMs?: number, vanishedAfterMs?: number }
  /**
   * Calls that lose their path reconnect by themselves (packages/sdk/README.md "Reconnecting"):
   * one that is still 'reconnecting' after `timeoutMs` ends with 'connection-lost'.
   * @default { timeoutMs: 30000 }
   */
  reconnect?: { timeoutMs?: number }
  /** The largest incoming file accepted, in memory or to a sink (`files.maxInMemoryBytes` caps what is held in memory). @default 536870912 (512 MiB) */
  maxFileBytes?: number
  /** Limits on incoming files: in-memory size, transfers at once (packages/sdk/README.md "Files"). */
  files?: FilesInit
  /** How callers' claimed AuraIDs are checked: unregistered ones remembered, lookups at once. */
  invites?: InvitesInit
  /**
   * How long create() waits for a relay reservation before it fails with RelayUnreachableError.
   * It fails sooner, at once, when every relay refused the connection or proved another peer id.
   * @default 15000
   */
  connectTimeoutMs?: number
  /**
   * Calls at once, incoming and outgoing. An invite that comes while this many are in progress is
   * answered 'busy' (the caller's call ends with reason 'busy') and never reaches 'incoming'.
   * @default 1
   */
  maxCalls?: number
  /** Dial retries and timeouts of the mesh. */
  dial?: MeshNodeInit['dial']
  /**
   * Relay reputation: the scorer and where its scores are kept between sessions (`fileScoreStore`
   * in Node, `idbScoreStore` in browsers, from `@auralink/mesh/reputation-store`). docs/reputation.md.
   * @default the mesh node's own scorer, no store
   */
  reputation?: MeshNodeInit['reputation']
  /**
   * AIC in video calls: the sender sends fewer bits at reduced size where the measured table says
   * the receiver's enhancer wins, and plain WebRTC wherever it does not (docs/aic.md "AIC in calls").
   * A call's own `aic` option overrides `mode`.
   * @default { mode: 'adaptive' }
   */
  aic?: AicInit
  /**
   * Phone calls to this client (docs/sip.md "Inbound"): with `incoming: true`, a relay running
   * `--sip-listen` rings this client (the `incoming:phone` event) when a phone calls
   * `<name>@<relay>` for one of its AuraIDs. Off, the relay answers such calls 404, as for a name
   * no one holds. @default { incoming: false }
   */
  phone?: { incoming?: boolean }
  /**
   * Still images in calls (`call.sendImage()`, docs/images.md): whether tool 2, the learned image
   * codec, is offered and used (`learned`; off by default while the shipped model needs more bytes
   * than JPEG; its model loads on the first picture that needs it), where its files are served,
   * the largest picture decoded.
   * @default { learned: false, maxSide: 4096 }
   */
  images?: ImagesInit
  /** Gets local media; defaults to navigator.mediaDevices.getUserMedia where it exists. */
  getUserMedia?: (constraints: MediaStreamConstraints) => Promise<MediaStream>
}

/**
 * Checks `AuraLink.create(init)`'s options (TypeError for a wrong type, RangeError for a value out
 * of range, each naming the field and the bad value) and resolves the two the client needs first.
 */
export function checkInit (init: AuraLinkInit): { connectTimeoutMs: number, maxCalls: number } {
  if (init == null || typeof init !== 'object') throw new TypeError(`AuraLink.create(init): init must be an object, got ${init === null ? 'null' : typeof init}`)
  if (!Array.isArray(init.relays) || init.relays.length === 0) {
    throw new TypeError(`AuraLink.create(init): init.relays must be a non-empty array of relay addresses (ws://host:port or multiaddrs), got ${JSON.stringify(init.relays)}`)
  }
  checkAicInit(init.aic)
  checkImagesInit(init.images)
  fileLimits(init.maxFileBytes, init.files)
  inviteLimits(init.invites)
  const connectTimeoutMs = init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  if (typeof connectTimeoutMs !== 'number' || !(connectTimeoutMs > 0)) throw new RangeError(`AuraLink.create(init): init.connectTimeoutMs must be a number > 0, got ${String(connectTimeoutMs)}`)
  const reconnectMs = init.reconnect?.timeoutMs
  if (reconnectMs !== undefined && (typeof reconnectMs !== 'number' || !Number.isFinite(reconnectMs) || reconnectMs < 100)) {
    throw new RangeError(`AuraLink.create(init): init.reconnect.timeoutMs must be a number of ms >= 100, got ${String(reconnectMs)}`)
  }
  if (init.phone !== undefined && (init.phone === null || typeof init.phone !== 'object' || (init.phone.incoming !== undefined && typeof init.phone.incoming !== 'boolean'))) {
    throw new TypeError(`AuraLink.create(init): init.phone must be { incoming?: boolean }, got ${JSON.stringify(init.phone)}`)
  }
  const maxCalls = init.maxCalls ?? DEFAULT_MAX_CALLS
  if (!Number.isInteger(maxCalls) || maxCalls < 1) throw new RangeError(`AuraLink.create(init): init.maxCalls must be a whole number >= 1, got ${String(maxCalls)}`)
  return { connectTimeoutMs, maxCalls }
}

/** Checks `init.aic` (AuraLinkInit's AIC options). */
export function checkAicInit (aic: AicInit | undefined): void {
  if (aic === undefined) return
  if (aic === null || typeof aic !== 'object') throw new TypeError(`AuraLink.create(init): init.aic must be an object like { mode: 'adaptive' }, got ${aic === null ? 'null' : typeof aic}`)
  if (aic.mode !== undefined) checkAicMode(aic.mode, 'AuraLink.create(init): init.aic.mode')
  if (aic.runtime !== undefined && !['auto', 'wasm', 'webgpu'].includes(aic.runtime)) throw new TypeError(`AuraLink.create(init): init.aic.runtime must be 'auto', 'wasm' or 'webgpu', got ${JSON.stringify(aic.runtime)}`)
  if (aic.variant !== undefined && aic.variant !== 'standard' && aic.variant !== 'fast') throw new TypeError(`AuraLink.create(init): init.aic.variant must be 'standard' or 'fast', got ${JSON.stringify(aic.variant)}`)
  if (aic.threads !== undefined && (!Number.isInteger(aic.threads) || aic.threads < 1 || aic.threads > 16)) throw new RangeError(`AuraLink.create(init): init.aic.threads must be a whole number from 1 to 16, got ${String(aic.threads)}`)
  if (aic.adaptive !== undefined && typeof aic.adaptive !== 'boolean') throw new TypeError(`AuraLink.create(init): init.aic.adaptive must be a boolean, got ${JSON.stringify(aic.adaptive)}`)
  const share = aic.adaptiveCpuShare
  if (share !== undefined && (typeof share !== 'number' || !(share >= 0.05 && share <= 1))) throw new RangeError(`AuraLink.create(init): init.aic.adaptiveCpuShare must be a share of one core from 0.05 to 1, got ${String(share)}`)
  const t = aic.capabilityTimeoutMs
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 100 || t > 600_000)) throw new RangeError(`AuraLink.create(init): init.aic.capabilityTimeoutMs must be 100 to 600000 ms, got ${String(t)}`)
  for (const [k, v] of Object.entries(aic.modelUrls ?? {})) {
    if (k !== '2' && k !== '1.5') throw new TypeError(`AuraLink.create(init): init.aic.modelUrls takes keys '2' and '1.5', got ${JSON.stringify(k)}`)
    if (typeof v !== 'string' || v === '') throw new TypeError(`AuraLink.create(init): init.aic.modelUrls['${k}'] must be a non-empty string`)
  }
}

/** Checks the media of `client.call()` (`what` 'call') or of an invite (`what` 'invite'): what the call asks for. */
export function checkMedia (m: CallMediaOptions | { audio?: boolean | null, video?: boolean | null, data?: boolean | null }, what: string): MediaRequest {
  if (m == null || typeof m !== 'object') throw new TypeError(`${what}: media must be an object like { audio: true, video: true }, got ${m === null ? 'null' : typeof m}`)
  for (const k of ['audio', 'video', 'data'] as const) {
    const v = m[k]
    if (v != null && typeof v !== 'boolean') throw new TypeError(`${what}: media.${k} must be a boolean, got ${JSON.stringify(v)}`)
  }
  checkCamera(m as { camera?: unknown }, what)
  return { audio: m.audio === true, video: m.video === true, data: m.data !== false }
}

