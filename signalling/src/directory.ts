import {
  auraIdSkeleton, validateAuraId, verifyRecord, verifyUnregister
} from '@auralink/identity'
import { AuraLinkError, InvalidAuraIdError, InvalidRecordError, InvalidSignatureError, MalformedRecordError, RecordExpiredError, RecordTooLargeError, SafeEventEmitter } from '@auralink/core'
import {
  decodeSignedUnregister, decodeUnregisterPayload, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp,
  MAX_SEARCH_RESULTS
} from '@auralink/protocol'
import {
  DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_NAMES_PER_KEY, DEFAULT_MAX_REQUESTS_PER_MINUTE,
  DEFAULT_MAX_SEARCH_RESULTS, DEFAULT_MAX_WRITES_PER_MINUTE, DEFAULT_REPUBLISH_INTERVAL_MS, DEFAULT_REQUEST_TIMEOUT_MS,
  RATE_LIMIT_IDLE_MS
} from './constants.js'
import { DirectoryRejectedError, DirectoryTimeoutError, InvalidStateError } from './errors.js'
import { KeyedMutex } from './mutex.js'
import { NetworkSync } from './network-sync.js'
import { PeerRateLimiter } from './rate-limiter.js'
import { DirectoryStore, isWithdrawnCopy } from './store.js'
import { serveStream } from './stream.js'
import type { AuraIdDirectory, AuraIdDirectoryComponents, AuraIdDirectoryEvents, AuraIdDirectoryInit, DirectoryLimit, DirectoryOperation } from './directory-api.js'
import type { RepublishResult } from './network-sync.js'
import type { AuraLinkErrorCode, DirectoryRejectionReason } from '@auralink/core'
import type { AuraIdRecord } from '@auralink/identity'
import type { DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type { AbortOptions, Connection, Logger, PeerId, Stream } from '@libp2p/interface'

/**
 * The AuraID directory as a libp2p service on `/auralink/directory/1.0.0`:
 * `services: { directory: auraIdDirectory({ datastore }) }`.
 */
export function auraIdDirectory (init: AuraIdDirectoryInit): (components: AuraIdDirectoryComponents) => AuraIdDirectory {
  if (init?.datastore == null) throw new TypeError('auraIdDirectory: init.datastore is required')
  for (const k of ['gracePeriodMs', 'maxRequestsPerMinute', 'maxWritesPerMinute', 'maxNamesPerKey', 'maxSearchResults', 'requestTimeoutMs', 'maxInboundStreams', 'republishIntervalMs'] as const) {
    const v = init[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new RangeError(`auraIdDirectory: ${k} must be a number >= 0, got ${String(v)}`)
    }
  }
  if (init.now !== undefined && typeof init.now !== 'function') {
    throw new TypeError(`auraIdDirectory: now must be a function, got ${typeof init.now}`)
  }
  if (init.network !== undefined && (typeof init.network?.lookup !== 'function' || typeof init.network?.publish !== 'function')) {
    throw new TypeError('auraIdDirectory: network must have lookup() and publish() (dhtNetwork() makes one)')
  }
  return (components) => new Directory(init, components)
}

const E = DirectoryError
const OUTCOMES = new Map<number, string>(Object.entries(DirectoryError).map(([k, v]) => [v as number, k.replace(/^DIRECTORY_ERROR_/, '').toLowerCase()]))
const OPS = new Map<number, DirectoryOperation>([
  [DirectoryOp.DIRECTORY_OP_REGISTER, 'register'],
  [DirectoryOp.DIRECTORY_OP_UPDATE, 'update'],
  [DirectoryOp.DIRECTORY_OP_RESOLVE, 'resolve'],
  [DirectoryOp.DIRECTORY_OP_SEARCH, 'search'],
  [DirectoryOp.DIRECTORY_OP_UNREGISTER, 'unregister']
])
/** The codes of @auralink/identity's typed errors and the response code each becomes. */
const IDENTITY_ERRORS = new Map<AuraLinkErrorCode, DirectoryError>([
  [InvalidAuraIdError.code, E.DIRECTORY_ERROR_INVALID_NAME],
  [InvalidSignatureError.code, E.DIRECTORY_ERROR_INVALID_SIGNATURE],
  [RecordExpiredError.code, E.DIRECTORY_ERROR_EXPIRED],
  [RecordTooLargeError.code, E.DIRECTORY_ERROR_TOO_LARGE],
  [MalformedRecordError.code, E.DIRECTORY_ERROR_BAD_REQUEST],
  [InvalidRecordError.code, E.DIRECTORY_ERROR_BAD_REQUEST]
])
/** The response code of a refusal's `reason` (INTERNAL for the reasons only a client gives). */
function directoryErrorOf (reason: DirectoryRejectionReason): DirectoryError {
  return (E as unknown as Record<string, DirectoryError | undefined>)[`DIRECTORY_ERROR_${reason}`] ?? E.DIRECTORY_ERROR_INTERNAL
}
/** Search prefixes: "@" and then the start of a name, up to its ".aura". */
const SEARCH_PREFIX = /^@[a-z0-9_-]{1,32}(\.(a(u(ra?)?)?)?)?$/

/** What one request is about, filled in as it is handled (for the operation event). */
interface Context { name?: string, limit?: DirectoryLimit }

function ok (records: Uint8Array[] = []): DirectoryResponseFields {
  return { error: E.DIRECTORY_ERROR_NONE, message: '', records }
}

class Directory extends SafeEventEmitter<AuraIdDirectoryEvents> implements AuraIdDirectory {
  private readonly registrar: AuraIdDirectoryComponents['registrar']
  private readonly log: Logger
  private readonly store: DirectoryStore
  private readonly now: () => number
  private readonly grace: number
  private readonly maxNamesPerKey: number
  private readonly maxSearch: number
  private readonly timeoutMs: number
  private readonly maxInboundStreams: number
  private readonly requests: PeerRateLimiter
  private readonly writeLimit: PeerRateLimiter
  private readonly locks = new KeyedMutex()
  /** One per stream being served: aborted (with the reason) on timeout or stop(). */
  private readonly streams = new Set<AbortController>()
  /** With init.network: lookups, publishing and the republish timer. */
  private readonly sync: NetworkSync | undefined
  private started = false

  constructor (init: AuraIdDirectoryInit, components: AuraIdDirectoryComponents) {
    super()
    this.registrar = components.registrar
    this.log = components.logger.forComponent('auralink:directory')
    this.store = new DirectoryStore(init.datastore, this.log)
    this.now = init.now ?? Date.now
    this.grace = init.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS
    this.maxNamesPerKey = init.maxNamesPerKey ?? DEFAULT_MAX_NAMES_PER_KEY
    this.maxSearch = Math.min(Math.floor(init.maxSearchResults ?? DEFAULT_MAX_SEARCH_RESULTS), MAX_SEARCH_RESULTS)
    this.timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.maxInboundStreams = init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS
    this.requests = new PeerRateLimiter(init.maxRequestsPerMinute ?? DEFAULT_MAX_REQUESTS_PER_MINUTE, RATE_LIMIT_IDLE_MS, this.now)
    this.writeLimit = new PeerRateLimiter(init.maxWritesPerMinute ?? DEFAULT_MAX_WRITES_PER_MINUTE, RATE_LIMIT_IDLE_MS, this.now)
    this.sync = init.network === undefined
      ? undefined
      : new NetworkSync({
        network: init.network,
        store: this.store,
        locks: this.locks,
        log: this.log,
        now: this.now,
        republishIntervalMs: init.republishIntervalMs ?? DEFAULT_REPUBLISH_INTERVAL_MS,
        onNetwork: (detail) => { this.emit('network', detail) },
        onConflict: (detail) => { this.emit('conflict', detail) },
        lookAlikeHeld: async (record, options = {}) => this.checkLookAlikes(record, auraIdSkeleton(record.name), this.now(), options).then(() => false, (err: unknown) => {
          if (err instanceof DirectoryRejectedError) return true
          throw err
        })
      })
  }

  private emit<K extends 'network' | 'conflict'> (type: K, detail: AuraIdDirectoryEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail } as CustomEventInit<AuraIdDirectoryEvents[K]['detail']>)
    } catch (err) {
      this.onListenerError(type, err)
    }
  }

  readonly [Symbol.toStringTag] = '@auralink/signalling/directory'

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    try {
      await this.store.open()
      await this.registrar.handle(DIRECTORY_PROTOCOL, (stream, connection) => { this.onStream(stream, connection) }, {
        maxInboundStreams: this.maxInboundStreams,
        runOnLimitedConnection: true
      })
    } catch (err) {
      this.started = false
      throw err
    }
    this.sync?.start()
    this.log('serving %s', DIRECTORY_PROTOCOL)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const controller of this.streams) controller.abort(new InvalidStateError('the directory service stopped'))
    this.streams.clear()
    await this.sync?.stop()
    await this.registrar.unhandle(DIRECTORY_PROTOCOL)
    this.log('stopped serving %s', DIRECTORY_PROTOCOL)
  }

  private onStream (stream: Stream, connection: Connection): void {
    const controller = new AbortController()
    const timer = setTimeout(() => {
      controller.abort(new DirectoryTimeoutError(`no complete directory request within ${this.timeoutMs} ms`))
    }, this.timeoutMs)
    this.streams.add(controller)
    void serveStream(stream, connection, {
      handle: async (from, request, options) => this.handle(from, request, options),
      refuse: (from, code, message) => {
        this.requests.take(String(from)) // undecodable requests count against the sender's budget too
        return this.respond('invalid', from, {}, { error: code, message, records: [] })
      },
      signal: controller.signal,
      log: this.log
    }).finally(() => {
      clearTimeout(timer)
      this.streams.delete(controller)
    })
  }

  async handle (from: PeerId, request: DirectoryRequestMessage, options: AbortOptions = {}): Promise<DirectoryResponseFields> {
    const op: DirectoryOperation = OPS.get(request?.op) ?? 'invalid'
    const ctx: Context = {}
    let response: DirectoryResponseFields
    try {
      options.signal?.throwIfAborted()
      if (!this.requests.take(String(from))) {
        ctx.limit = 'requests'
        throw new DirectoryRejectedError('RATE_LIMITED', 'too many requests from this peer: slow down')
      }
      if ((op === 'register' || op === 'update' || op === 'unregister') && !this.writeLimit.take(String(from))) {
        ctx.limit = 'writes'
        throw new DirectoryRejectedError('RATE_LIMITED', 'too many writes from this peer: slow down')
      }
      switch (op) {
        case 'register': response = await this.register(request.record, 'register', ctx, options); break
        case 'update': response = await this.register(request.record, 'update', ctx, options); break
        case 'resolve': response = await this.resolve(request.name, ctx, options); break
        case 'search': response = await this.search(request.prefix, request.limit, options); break
        case 'unregister': response = await this.unregister(request.unregister, ctx, options); break
        default: throw new DirectoryRejectedError('BAD_REQUEST', `unknown op ${String(request?.op)}`)
      }
    } catch (err) {
      response = this.failure(op, err)
    }
    return this.respond(op, from, ctx, response)
  }

  /** Emits the operation event for `response` and returns it. */
  private respond (op: DirectoryOperation, from: PeerId, ctx: Context, response: DirectoryResponseFields): DirectoryResponseFields {
    const outcome = response.error === E.DIRECTORY_ERROR_NONE ? 'ok' : OUTCOMES.get(response.error ?? E.DIRECTORY_ERROR_INTERNAL) ?? 'internal'
    try {
      this.safeDispatchEvent('operation', {
        detail: { op, outcome, peer: from, ...(ctx.name !== undefined ? { name: ctx.name } : {}), ...(ctx.limit !== undefined ? { limit: ctx.limit } : {}) }
      })
    } catch (err) {
      this.onListenerError('operation', err)
    }
    return response
  }

  /** The response for a failed request: refusals and identity errors keep their code, anything else is INTERNAL (and logged). */
  private failure (op: DirectoryOperation, err: unknown): DirectoryResponseFields {
    if (err instanceof DirectoryRejectedError) return { error: directoryErrorOf(err.reason), message: err.message, records: [] }
    const code = err instanceof AuraLinkError ? IDENTITY_ERRORS.get(err.code) : undefined
    if (code !== undefined) {
      const message = (err as Error).message + (err instanceof InvalidAuraIdError ? ` (rule: ${err.rule})` : '')
      return { error: code, message, records: [] }
    }
    this.log.error('directory %s failed: %s', op, (err as Error)?.stack ?? String(err))
    return { error: E.DIRECTORY_ERROR_INTERNAL, message: 'internal error', records: [] }
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a listener of %s threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /** True while `record` still binds its name: until its validity + the grace period. */
  private binds (record: AuraIdRecord, now: number): boolean {
    return record.validity + this.grace > now
  }

  /**
   * REGISTER and UPDATE. Writes are serialised per look-alike skeleton (which covers the name
   * and every name it could be confused with), then per key (for the names-per-key cap).
   */
  private async register (bytes: Uint8Array, mode: 'register' | 'update', ctx: Context, options: AbortOptions): Promise<DirectoryResponseFields> {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new DirectoryRejectedError('BAD_REQUEST', 'the request has no record')
    }
    const record = await verifyRecord(bytes, { ...options, now: this.now() })
    ctx.name = record.name
    const skeleton = auraIdSkeleton(record.name)
    const key = record.peerId.toString()
    return this.locks.run(`skeleton:${skeleton}`, async () => this.locks.run(`key:${key}`, async () => {
      const now = this.now()
      const held = await this.store.get(record.name, options)
      const heldBinds = held !== undefined && this.binds(held, now)
      if (heldBinds && !held.peerId.equals(record.peerId)) {
        throw new DirectoryRejectedError('NAME_TAKEN',
          `${record.name} is held by another key until ${new Date(held.validity + this.grace).toISOString()}`)
      }
      if (mode === 'update' && !heldBinds) {
        throw new DirectoryRejectedError('NOT_FOUND', `${record.name} is not registered here: register it first`)
      }
      if (heldBinds) {
        if (equalBytes(held.bytes, record.bytes)) return ok([held.bytes])
        if (record.sequence <= held.sequence) {
          throw new DirectoryRejectedError('STALE_SEQUENCE',
            `${record.name} is held at sequence ${held.sequence}: a new record needs a higher one, got ${record.sequence}`)
        }
      } else {
        await this.checkNotWithdrawn(record, options)
        await this.checkLookAlikes(record, skeleton, now, options)
        await this.checkQuota(record, now, ctx, options)
      }
      await this.sync?.checkWrite(record, heldBinds ? held : undefined, options)
      // a name its key holds keeps its age across updates; any other write starts it again
      await this.store.put(record, skeleton, held, { ...options, ...(heldBinds ? {} : { firstRegisteredAt: now }) })
      this.log('%s %s (sequence %d, %s)', heldBinds ? 'updated' : 'registered', record.name, record.sequence, record.visibility)
      this.sync?.publishSoon(record)
      return ok([record.bytes])
    }))
  }

  /**
   * A name its holder unregistered is free for anyone, but not for the records the holder signed
   * before: whoever kept a copy could bind the name to the holder's key again. A record of the
   * same key is taken only when it is newer than the one withdrawn, by sequence or by validity
   * (a record the holder makes after unregistering is valid until later than the old one).
   */
  private async checkNotWithdrawn (record: AuraIdRecord, options: AbortOptions): Promise<void> {
    const withdrawn = await this.store.withdrawn(record.name, options)
    if (!isWithdrawnCopy(record, withdrawn)) return
    throw new DirectoryRejectedError('STALE_SEQUENCE',
      `${record.name} was unregistered by this key at sequence ${withdrawn!.sequence} (valid until ${new Date(withdrawn!.validity).toISOString()}): this record is no newer, a replay; sign a new one`)
  }

  /**
   * Refuses a name whose skeleton (`auraIdSkeleton`) is that of a name another key holds. The
   * refusal names the held name when it is public; an unlisted or private one is not named (a
   * guess at a look-alike must not reveal a name that SEARCH would not list).
   */
  private async checkLookAlikes (record: AuraIdRecord, skeleton: string, now: number, options: AbortOptions): Promise<void> {
    for (const other of await this.store.namesWithSkeleton(skeleton, options)) {
      if (other === record.name) continue
      const rival = await this.store.get(other, options)
      if (rival !== undefined && this.binds(rival, now) && !rival.peerId.equals(record.peerId)) {
        const held = rival.visibility === 'public' ? other : 'an unlisted name'
        throw new DirectoryRejectedError('NAME_TAKEN', `${record.name} looks like ${held}, which another key holds`)
      }
    }
  }

  private async checkQuota (record: AuraIdRecord, now: number, ctx: Context, options: AbortOptions): Promise<void> {
    let live = 0
    for (const name of await this.store.namesOf(record.peerId.toString(), options)) {
      if (name === record.name) continue
      const r = await this.store.get(name, options)
      if (r !== undefined && r.peerId.equals(record.peerId) && this.binds(r, now)) live++
    }
    if (live >= this.maxNamesPerKey) {
      ctx.limit = 'names_per_key'
      throw new DirectoryRejectedError('QUOTA_EXCEEDED',
        `this key already holds ${live} names here, the most this directory allows (${this.maxNamesPerKey})`)
    }
  }

  private async resolve (name: string, ctx: Context, options: AbortOptions): Promise<DirectoryResponseFields> {
    validateAuraId(name)
    ctx.name = name
    const record = await this.get(name, options) ?? (await this.sync?.lookup(name, options))?.record
    if (record === undefined) {
      throw new DirectoryRejectedError('NOT_FOUND', `${name} is not registered here${this.sync !== undefined ? ' nor in the relay network' : ''}`)
    }
    return ok([record.bytes])
  }

  private async search (prefix: string, limit: number, options: AbortOptions): Promise<DirectoryResponseFields> {
    const p = typeof prefix === 'string' && !prefix.startsWith('@') ? `@${prefix}` : prefix
    if (typeof p !== 'string' || !SEARCH_PREFIX.test(p)) {
      throw new DirectoryRejectedError('BAD_REQUEST',
        `a search prefix is the start of a name (a-z, 0-9, "-", "_", then optionally ".aura"), got ${JSON.stringify(prefix)}`)
    }
    const max = typeof limit === 'number' && limit > 0 ? Math.min(limit, this.maxSearch) : this.maxSearch
    const records = await this.store.searchPublic(p, this.now(), max, options)
    return ok(records.map((r) => r.bytes))
  }

  private async unregister (bytes: Uint8Array, ctx: Context, options: AbortOptions): Promise<DirectoryResponseFields> {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new DirectoryRejectedError('BAD_REQUEST', 'the request has no unregister proof')
    }
    let claimed: string
    try {
      claimed = decodeUnregisterPayload(decodeSignedUnregister(bytes).payload).name
    } catch (err) {
      throw new DirectoryRejectedError('BAD_REQUEST', `the unregister proof could not be decoded: ${(err as Error).message}`, { cause: err })
    }
    const name = validateAuraId(claimed)
    ctx.name = name
    const skeleton = auraIdSkeleton(name)
    return this.locks.run(`skeleton:${skeleton}`, async () => {
      const held = await this.store.get(name, options)
      if (held === undefined || !this.binds(held, this.now())) {
        throw new DirectoryRejectedError('NOT_FOUND', `${name} is not registered here`)
      }
      const proof = await verifyUnregister(bytes, held.publicKey, { ...options, now: this.now() })
      const last = await this.store.lastUnregister(name, options)
      if (proof.timestamp <= last) {
        throw new DirectoryRejectedError('EXPIRED',
          `this unregister proof for ${name} is not newer than the last one accepted (${new Date(last).toISOString()}): a replay`)
      }
      await this.store.delete(held, skeleton, proof.timestamp, options)
      this.log('unregistered %s', name)
      return ok()
    })
  }

  async get (name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    validateAuraId(name)
    const record = await this.store.get(name, options)
    return record !== undefined && record.validity > this.now() ? record : undefined
  }

  async republish (options?: AbortOptions): Promise<RepublishResult> {
    if (this.sync === undefined) return { checked: 0, published: 0, released: 0 }
    return this.sync.republish(options)
  }

  async size (options?: AbortOptions): Promise<number> {
    return this.store.count(options)
  }

  async holdsName (peer: PeerId, options?: AbortOptions & { minAgeMs?: number }): Promise<boolean> {
    const minAge = options?.minAgeMs ?? 0
    if (typeof minAge !== 'number' || !(minAge >= 0)) throw new RangeError(`holdsName: options.minAgeMs must be a number >= 0, got ${String(minAge)}`)
    const now = this.now()
    for (const name of await this.store.namesOf(peer.toString(), options)) {
      const record = await this.store.get(name, options)
      if (record === undefined || !record.peerId.equals(peer) || record.validity <= now) continue
      if (minAge === 0 || now - await this.store.heldSince(name, now, options) >= minAge) return true
    }
    return false
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
