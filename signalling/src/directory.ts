import {
  auraIdSkeleton, selectRecord, validateAuraId, verifyRecord, verifyUnregister
} from '@auralink/identity'
import {
  decodeDirectoryRequest, decodeSignedUnregister, decodeUnregisterPayload, DIRECTORY_PROTOCOL, DirectoryError,
  DirectoryOp, encodeDirectoryResponse, MAX_DIRECTORY_REQUEST_BYTES, MAX_SEARCH_RESULTS, SafeEventEmitter
} from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import {
  DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_NAMES_PER_KEY, DEFAULT_MAX_REQUESTS_PER_MINUTE,
  DEFAULT_MAX_SEARCH_RESULTS, DEFAULT_MAX_WRITES_PER_MINUTE, DEFAULT_REQUEST_TIMEOUT_MS, RATE_LIMIT_IDLE_MS
} from './constants.js'
import { PeerRateLimiter } from './rate-limiter.js'
import { DirectoryStore } from './store.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type {
  AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions
} from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface AuraIdDirectoryInit {
  /** Where names live. The host provides it: the relay node passes a LevelDB store. */
  datastore: Datastore
  /** A name stays bound to its key until validity + this. @default 7 days */
  gracePeriodMs?: number
  /** Requests per remote peer per minute. @default 120 */
  maxRequestsPerMinute?: number
  /** Register, update and unregister requests per remote peer per minute. @default 20 */
  maxWritesPerMinute?: number
  /** Names one key may hold here. @default 5 */
  maxNamesPerKey?: number
  /** Most search results, never above MAX_SEARCH_RESULTS (50). @default 20 */
  maxSearchResults?: number
  /** A stream that sends no complete request within this is aborted. @default 10000 */
  requestTimeoutMs?: number
  /** Concurrent directory streams per connection. @default 64 */
  maxInboundStreams?: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

export interface AuraIdDirectoryComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

export type DirectoryOperation = 'register' | 'update' | 'resolve' | 'search' | 'unregister' | 'invalid'

export interface DirectoryOperationEvent {
  op: DirectoryOperation
  /** 'ok' or the error code in lower case without its prefix: 'name_taken', 'rate_limited', ... */
  outcome: string
  peer?: PeerId
  name?: string
}

export interface AuraIdDirectoryEvents {
  operation: CustomEvent<DirectoryOperationEvent>
}

export interface AuraIdDirectory extends Startable, SafeEventEmitter<AuraIdDirectoryEvents> {
  /** Handles one decoded request from `from`. Never throws: a failure is a response with an error code. */
  handle(from: PeerId, request: DirectoryRequestMessage, options?: AbortOptions): Promise<DirectoryResponseFields>
  /** The current valid record for `name` (any visibility), or undefined. */
  get(name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined>
  /** Number of names held. */
  size(options?: AbortOptions): Promise<number>
}

/**
 * The AuraID directory as a libp2p service on `/auralink/directory/1.0.0`:
 * `services: { directory: auraIdDirectory({ datastore }) }`.
 */
export function auraIdDirectory (init: AuraIdDirectoryInit): (components: AuraIdDirectoryComponents) => AuraIdDirectory {
  if (init?.datastore == null) throw new TypeError('auraIdDirectory: init.datastore is required')
  for (const k of ['gracePeriodMs', 'maxRequestsPerMinute', 'maxWritesPerMinute', 'maxNamesPerKey', 'maxSearchResults', 'requestTimeoutMs', 'maxInboundStreams'] as const) {
    const v = init[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new RangeError(`auraIdDirectory: ${k} must be a number >= 0, got ${String(v)}`)
    }
  }
  return (components) => new Directory(init, components)
}

type Code = DirectoryError

class Refusal extends Error {
  readonly code: Code
  constructor (code: Code, message: string) {
    super(message)
    this.code = code
  }
}

const CODE_NAMES = new Map<number, string>(Object.entries(DirectoryError).map(([k, v]) => [v as number, k.replace(/^DIRECTORY_ERROR_/, '').toLowerCase()]))
const OPS: Record<number, DirectoryOperation> = {
  [DirectoryOp.DIRECTORY_OP_REGISTER]: 'register',
  [DirectoryOp.DIRECTORY_OP_UPDATE]: 'update',
  [DirectoryOp.DIRECTORY_OP_RESOLVE]: 'resolve',
  [DirectoryOp.DIRECTORY_OP_SEARCH]: 'search',
  [DirectoryOp.DIRECTORY_OP_UNREGISTER]: 'unregister'
}
const IDENTITY_ERRORS: Record<string, Code> = {
  InvalidAuraIdError: DirectoryError.DIRECTORY_ERROR_INVALID_NAME,
  InvalidSignatureError: DirectoryError.DIRECTORY_ERROR_INVALID_SIGNATURE,
  RecordExpiredError: DirectoryError.DIRECTORY_ERROR_EXPIRED,
  RecordTooLargeError: DirectoryError.DIRECTORY_ERROR_TOO_LARGE,
  MalformedRecordError: DirectoryError.DIRECTORY_ERROR_BAD_REQUEST,
  InvalidRecordError: DirectoryError.DIRECTORY_ERROR_BAD_REQUEST
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
  private readonly writes: PeerRateLimiter
  private readonly locks = new Map<string, Promise<unknown>>()
  private started = false

  constructor (init: AuraIdDirectoryInit, components: AuraIdDirectoryComponents) {
    super()
    this.registrar = components.registrar
    this.log = components.logger.forComponent('auralink:directory')
    this.store = new DirectoryStore(init.datastore, this.log)
    this.now = init.now ?? Date.now
    this.grace = init.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS
    this.maxNamesPerKey = init.maxNamesPerKey ?? DEFAULT_MAX_NAMES_PER_KEY
    this.maxSearch = Math.min(init.maxSearchResults ?? DEFAULT_MAX_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    this.timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.maxInboundStreams = init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS
    this.requests = new PeerRateLimiter(init.maxRequestsPerMinute ?? DEFAULT_MAX_REQUESTS_PER_MINUTE, RATE_LIMIT_IDLE_MS, this.now)
    this.writes = new PeerRateLimiter(init.maxWritesPerMinute ?? DEFAULT_MAX_WRITES_PER_MINUTE, RATE_LIMIT_IDLE_MS, this.now)
  }

  readonly [Symbol.toStringTag] = '@auralink/signalling/directory'

  async start (): Promise<void> {
    if (this.started) return
    await this.registrar.handle(DIRECTORY_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection) }, {
      maxInboundStreams: this.maxInboundStreams,
      runOnLimitedConnection: true
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.registrar.unhandle(DIRECTORY_PROTOCOL)
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_REQUEST_BYTES })
    let response: DirectoryResponseFields
    try {
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal })).subarray()
      } catch (err) {
        const name = (err as Error).name
        if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
          response = this.refused(connection.remotePeer, 'invalid', undefined,
            new Refusal(DirectoryError.DIRECTORY_ERROR_TOO_LARGE, `request is over ${MAX_DIRECTORY_REQUEST_BYTES} bytes`))
          await lp.write(encodeDirectoryResponse(response), { signal })
          await stream.close({ signal })
          return
        }
        throw err
      }
      let request: DirectoryRequestMessage
      try {
        request = decodeDirectoryRequest(bytes)
      } catch (err) {
        response = this.refused(connection.remotePeer, 'invalid', undefined, new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, (err as Error).message))
        await lp.write(encodeDirectoryResponse(response), { signal })
        await stream.close({ signal })
        return
      }
      response = await this.handle(connection.remotePeer, request, { signal })
      await lp.write(encodeDirectoryResponse(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log('directory stream from %p failed: %s', connection.remotePeer, (err as Error).message)
      stream.abort(err as Error)
    }
  }

  async handle (from: PeerId, request: DirectoryRequestMessage, options: AbortOptions = {}): Promise<DirectoryResponseFields> {
    const op: DirectoryOperation = OPS[request?.op] ?? 'invalid'
    const name = typeof request?.name === 'string' && request.name !== '' ? request.name : undefined
    try {
      if (!this.requests.take(from.toString())) {
        throw new Refusal(DirectoryError.DIRECTORY_ERROR_RATE_LIMITED, 'too many requests: slow down')
      }
      const write = op === 'register' || op === 'update' || op === 'unregister'
      if (write && !this.writes.take(from.toString())) {
        throw new Refusal(DirectoryError.DIRECTORY_ERROR_RATE_LIMITED, 'too many registrations: slow down')
      }
      let response: DirectoryResponseFields
      switch (op) {
        case 'register': response = await this.register(request.record, false, options); break
        case 'update': response = await this.register(request.record, true, options); break
        case 'resolve': response = await this.resolve(request.name, options); break
        case 'search': response = await this.search(request.prefix, request.limit, options); break
        case 'unregister': response = await this.unregister(request.unregister, options); break
        default: throw new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, `unknown op ${String(request?.op)}`)
      }
      this.emit({ op, outcome: 'ok', peer: from, ...(name !== undefined ? { name } : {}) })
      return response
    } catch (err) {
      return this.refused(from, op, name, err)
    }
  }

  private refused (from: PeerId, op: DirectoryOperation, name: string | undefined, err: unknown): DirectoryResponseFields {
    let code: Code = DirectoryError.DIRECTORY_ERROR_INTERNAL
    let message = 'internal error'
    if (err instanceof Refusal) {
      code = err.code
      message = err.message
    } else if (err instanceof Error && IDENTITY_ERRORS[err.name] !== undefined) {
      code = IDENTITY_ERRORS[err.name]!
      message = err.message
    } else {
      this.log.error('directory %s failed: %s', op, (err as Error)?.stack ?? String(err))
    }
    this.emit({ op, outcome: CODE_NAMES.get(code) ?? 'internal', peer: from, ...(name !== undefined ? { name } : {}) })
    return { error: code, message, records: [] }
  }

  private emit (detail: DirectoryOperationEvent): void {
    this.safeDispatchEvent('operation', { detail })
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a listener of %s threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /** Runs `fn` after every earlier write to `name` has finished. */
  private async serialised<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => {})
    this.locks.set(name, tail)
    try {
      return await next
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name)
    }
  }

  /** True while `record` still binds its name: until validity + grace. */
  private binds (record: AuraIdRecord): boolean {
    return record.validity + this.grace > this.now()
  }

  private async register (bytes: Uint8Array, updateOnly: boolean, options: AbortOptions): Promise<DirectoryResponseFields> {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, 'request has no record')
    }
    const record = await verifyRecord(bytes, { ...options, now: this.now() })
    const skeleton = auraIdSkeleton(record.name)
    return this.serialised(record.name, async () => {
      const held = await this.store.get(record.name, options)
      const heldBinds = held !== undefined && this.binds(held)
      if (heldBinds && !held.peerId.equals(record.peerId)) {
        throw new Refusal(DirectoryError.DIRECTORY_ERROR_NAME_TAKEN,
          `${record.name} is held by another key until ${new Date(held.validity + this.grace).toISOString()}`)
      }
      if (updateOnly && !heldBinds) {
        throw new Refusal(DirectoryError.DIRECTORY_ERROR_NOT_FOUND, `${record.name} is not registered here: register it first`)
      }
      if (heldBinds) {
        if (equalBytes(held.bytes, record.bytes)) return { error: DirectoryError.DIRECTORY_ERROR_NONE, message: '', records: [held.bytes] }
        if (record.sequence <= held.sequence || selectRecord(held, record) !== 1) {
          throw new Refusal(DirectoryError.DIRECTORY_ERROR_STALE_SEQUENCE,
            `${record.name} is held at sequence ${held.sequence}; a new record needs a higher one, got ${record.sequence}`)
        }
      } else {
        for (const other of await this.store.namesWithSkeleton(skeleton, options)) {
          if (other === record.name) continue
          const rival = await this.store.get(other, options)
          if (rival !== undefined && this.binds(rival) && !rival.peerId.equals(record.peerId)) {
            throw new Refusal(DirectoryError.DIRECTORY_ERROR_NAME_TAKEN, `${record.name} looks like ${other}, which another key holds`)
          }
        }
        const owned = await this.store.namesOf(record.peerId.toString(), options)
        let live = 0
        for (const n of owned) {
          if (n === record.name) continue
          const r = await this.store.get(n, options)
          if (r !== undefined && this.binds(r)) live++
        }
        if (live >= this.maxNamesPerKey) {
          throw new Refusal(DirectoryError.DIRECTORY_ERROR_QUOTA_EXCEEDED, `this key already holds ${live} names, the most this directory allows`)
        }
      }
      await this.store.put(record, skeleton, held, held !== undefined ? auraIdSkeleton(held.name) : undefined)
      this.log('%s %s (sequence %d, %s)', heldBinds ? 'updated' : 'registered', record.name, record.sequence, record.visibility)
      return { error: DirectoryError.DIRECTORY_ERROR_NONE, message: '', records: [record.bytes] }
    })
  }

  private async resolve (name: string, options: AbortOptions): Promise<DirectoryResponseFields> {
    validateAuraId(name)
    const record = await this.get(name, options)
    if (record === undefined) throw new Refusal(DirectoryError.DIRECTORY_ERROR_NOT_FOUND, `${name} is not registered`)
    return { error: DirectoryError.DIRECTORY_ERROR_NONE, message: '', records: [record.bytes] }
  }

  private async search (prefix: string, limit: number, options: AbortOptions): Promise<DirectoryResponseFields> {
    const p = typeof prefix === 'string' ? (prefix.startsWith('@') ? prefix : `@${prefix}`) : ''
    if (p.length < 2 || !/^@[a-z0-9_-]+$/.test(p)) {
      throw new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, `search prefix must be 1 or more of a-z 0-9 - _, got ${JSON.stringify(prefix)}`)
    }
    const max = limit > 0 ? Math.min(limit, this.maxSearch) : this.maxSearch
    const records: Uint8Array[] = []
    // scan a bounded number of entries: public ones are at most all of them
    for await (const record of this.store.byPrefix(p, max * 20, options)) {
      if (record.visibility !== 'public' || record.validity <= this.now()) continue
      records.push(record.bytes)
      if (records.length >= max) break
    }
    return { error: DirectoryError.DIRECTORY_ERROR_NONE, message: '', records }
  }

  private async unregister (bytes: Uint8Array, options: AbortOptions): Promise<DirectoryResponseFields> {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, 'request has no unregister proof')
    }
    let name: string
    try {
      name = validateAuraId(decodeUnregisterPayload(decodeSignedUnregister(bytes).payload).name)
    } catch (err) {
      if ((err as Error).name === 'InvalidAuraIdError') throw err
      throw new Refusal(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, `unregister proof could not be decoded: ${(err as Error).message}`)
    }
    return this.serialised(name, async () => {
      const held = await this.store.get(name, options)
      if (held === undefined || !this.binds(held)) throw new Refusal(DirectoryError.DIRECTORY_ERROR_NOT_FOUND, `${name} is not registered`)
      const proof = await verifyUnregister(bytes, held.publicKey, { ...options, now: this.now() })
      if (proof.timestamp <= await this.store.lastUnregister(name, options)) {
        throw new Refusal(DirectoryError.DIRECTORY_ERROR_EXPIRED, `unregister proof for ${name} was already used`)
      }
      await this.store.delete(held, auraIdSkeleton(name), proof.timestamp)
      this.log('unregistered %s', name)
      return { error: DirectoryError.DIRECTORY_ERROR_NONE, message: '', records: [] }
    })
  }

  async get (name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    const record = await this.store.get(name, options)
    return record !== undefined && record.validity > this.now() ? record : undefined
  }

  async size (options?: AbortOptions): Promise<number> {
    return this.store.count(options)
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
