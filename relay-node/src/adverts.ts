import { readFileSync } from 'node:fs'
import { createRelayAdvert, DEFAULT_RELAY_ADVERT_TTL_MS, MAX_RELAY_ADVERT_TTL_MS, verifyRelayAdvert } from '@auralink/identity'
import { SafeEventEmitter } from '@auralink/core'
import { MAX_RELAY_ADVERT_ADDRS, MAX_RELAY_ADVERT_BYTES, MAX_RELAY_REGION_LENGTH, RELAY_ADVERT_TOPIC } from '@auralink/protocol'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { serviceDependencies } from '@libp2p/interface'
import { DEFAULTS } from './constants.js'
import { ExpiredRelayAdvertError, InvalidRelayAdvertError, InvalidStateError, MessageTooLargeError } from './errors.js'
import type { RelayAdvert } from '@auralink/identity'
import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import type {
  AbortOptions, ComponentLogger, Libp2pEvents, Logger, PeerId, PrivateKey, Startable, TypedEventTarget
} from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How often a relay republishes its advert (fresh load, fresh expiry). */
export const DEFAULT_ADVERT_INTERVAL_MS = 60_000
/** Most relays kept in the table of known relays. */
export const DEFAULT_MAX_RELAYS = 1_024
/**
 * An advert that expired less than this long ago is ignored, not rejected: an honest relay may
 * have forwarded it (or served it from its gossip cache) while it was still valid.
 */
export const DEFAULT_ADVERT_EXPIRY_GRACE_MS = 30_000
/** Least time between two publishes that a peer joining the topic (or an address change) can cause. */
export const DEFAULT_ADVERT_MIN_GAP_MS = 1_000

/** Why an incoming advert was rejected (gossipsub's Reject: P4 counts it against the peer that sent it). */
export type AdvertRejectReason =
  /** over MAX_RELAY_ADVERT_BYTES (4 KiB) */
  | 'oversized'
  /** does not decode, or a bad key or address */
  | 'malformed'
  /** a field out of bounds (addresses not ending in the signer's PeerId, load over capacity, ...) */
  | 'fields'
  /** the signature does not verify */
  | 'signature'
  /** expired longer ago than the grace, or issued too far in the future */
  | 'expired'
  /** signed by a relay other than the gossip message's author, or a message without an author */
  | 'signer'
/** Why an incoming advert was ignored (gossipsub's Ignore: neither forwarded nor counted against anyone). */
export type AdvertIgnoreReason =
  /** expired within the grace (DEFAULT_ADVERT_EXPIRY_GRACE_MS) */
  | 'stale'
  /** not newer than the advert the table holds for that relay (a duplicate or a replay) */
  | 'older'
  /** our own advert, come back */
  | 'self'
  /** the validator failed (our fault, logged) */
  | 'internal'

/** The verdict on one incoming advert. */
export type AdvertVerdict =
  | { result: 'accept', from: PeerId, advert: RelayAdvert, stored: boolean }
  | { result: 'reject', from: PeerId, reason: AdvertRejectReason, error?: Error }
  | { result: 'ignore', from: PeerId, reason: AdvertIgnoreReason, error?: Error }

/** A change to the table of known relays. */
export interface RelayTableChange {
  change: 'learned' | 'updated' | 'expired'
  advert: RelayAdvert
}

/** One publish of our own advert. */
export interface AdvertPublish {
  /** What was published; absent when it was skipped or failed. */
  advert?: RelayAdvert
  /** Peers it was sent to. */
  recipients: number
  /** Set when nothing was published: the node has no address yet, or stopped meanwhile. */
  skipped?: 'no-addresses' | 'stopped'
  error?: Error
}

export interface RelayAdvertsEvents {
  /** Every incoming advert, with the verdict: what the host counts in /metrics. */
  advert: CustomEvent<AdvertVerdict>
  /** A relay learned, updated (a newer advert) or expired from the table. */
  relay: CustomEvent<RelayTableChange>
  /** Every publish of our own advert, or its failure. */
  publish: CustomEvent<AdvertPublish>
}

/** Totals since start, for /healthz and tests; `advert` events carry the same one by one. */
export interface AdvertCounters {
  accepted: number
  /** Accepted (and forwarded) but not stored: the table was full of unexpired relays. */
  tableFull: number
  rejected: Record<AdvertRejectReason, number>
  ignored: Record<AdvertIgnoreReason, number>
  published: number
  publishErrors: number
}

export interface RelayAdvertsInit {
  /** @default RELAY_ADVERT_TOPIC ('/auralink/relay-adverts/1.0.0') */
  topic?: string
  /** How often to publish; below `ttlMs`. @default DEFAULT_ADVERT_INTERVAL_MS (60 s) */
  intervalMs?: number
  /** How long each advert is valid. @default DEFAULT_RELAY_ADVERT_TTL_MS (10 minutes; at most 1 hour) */
  ttlMs?: number
  /** Reservations the relay holds at most. @default DEFAULTS.maxReservations (128) */
  capacity?: number
  /** Reservations held now, read at each publish (clamped to 0..capacity). @default () => 0 */
  load?: () => number
  /** @default this package's version */
  version?: string
  /** @default false */
  aicSupport?: boolean
  /** Operator's region tag, at most 32 characters. @default '' */
  region?: string
  /**
   * The addresses to advertise, read at each publish; those that do not end in our PeerId and
   * relayed (/p2p-circuit) ones are left out, and at most 16 go.
   * @default the address manager's addresses (announce or listen addresses, with /p2p/<id>)
   */
  addresses?: () => Multiaddr[]
  /** Most relays in the table. @default DEFAULT_MAX_RELAYS (1024) */
  maxRelays?: number
  /** @default DEFAULT_ADVERT_EXPIRY_GRACE_MS (30 s) */
  expiryGraceMs?: number
  /** @default DEFAULT_ADVERT_MIN_GAP_MS (1 s) */
  minPublishGapMs?: number
}

/**
 * What the service takes from libp2p: the gossipsub service, which the host must name `pubsub`
 * in its `services` (`relayGossipsub()` makes one), and the node's own components.
 */
export interface RelayAdvertsComponents {
  pubsub: Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'topicValidators' | 'addEventListener' | 'removeEventListener'>
  privateKey: PrivateKey
  peerId: PeerId
  addressManager: { getAddresses(): Multiaddr[] }
  events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
  logger: ComponentLogger
}

export interface RelayAdverts extends TypedEventTarget<RelayAdvertsEvents>, Startable {
  /** The topic it publishes on and validates. */
  readonly topic: string
  /** Known relays (not us) with an unexpired, verified advert. */
  relays(): RelayAdvert[]
  /** The verified advert of one relay, if known and unexpired. */
  relay(peerId: PeerId | string): RelayAdvert | undefined
  /** Our last published advert. */
  readonly advert: RelayAdvert | undefined
  /** Totals since the service was made. */
  counters(): AdvertCounters
  /** Between afterStart() and stop(). */
  isStarted(): boolean
  /**
   * Makes, signs and publishes our advert now (the timer does it every `intervalMs`).
   * Resolves with what was published, or with `skipped` when we have no address yet; rejects
   * with InvalidStateError when not started, or with gossipsub's or the signer's error.
   */
  publish(options?: AbortOptions): Promise<AdvertPublish>
}

function packageVersion (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function rejects (): Record<AdvertRejectReason, number> {
  return { oversized: 0, malformed: 0, fields: 0, signature: 0, expired: 0, signer: 0 }
}

function ignores (): Record<AdvertIgnoreReason, number> {
  return { stale: 0, older: 0, self: 0, internal: 0 }
}

function wholeNumber (name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be a whole number, got ${String(value)}`)
  if (value < min || value > max) throw new RangeError(`${name} must be from ${min} to ${max}, got ${value}`)
  return value
}

/** A timer delay within what setTimeout takes. */
const clampDelay = (ms: number): number => Math.min(Math.max(0, ms), 2 ** 31 - 1)

class RelayAdvertsService extends SafeEventEmitter<RelayAdvertsEvents> implements RelayAdverts {
  readonly topic: string
  readonly [Symbol.toStringTag] = '@auralink/relay-adverts'
  readonly [serviceDependencies] = ['@libp2p/pubsub']

  readonly #components: RelayAdvertsComponents
  readonly #log: Logger
  readonly #intervalMs: number
  readonly #ttlMs: number
  readonly #capacity: number
  readonly #load: () => number
  readonly #version: string
  readonly #aicSupport: boolean
  readonly #region: string
  readonly #addresses: () => Multiaddr[]
  readonly #maxRelays: number
  readonly #graceMs: number
  readonly #minGapMs: number

  readonly #table = new Map<string, RelayAdvert>()
  readonly #counters: AdvertCounters = { accepted: 0, tableFull: 0, rejected: rejects(), ignored: ignores(), published: 0, publishErrors: 0 }
  #advert: RelayAdvert | undefined
  #started = false
  #publishTimer: ReturnType<typeof setTimeout> | undefined
  #publishAt = Infinity
  #lastPublishAt = -Infinity
  #sweepTimer: ReturnType<typeof setTimeout> | undefined
  #sweepAt = Infinity

  constructor (components: RelayAdvertsComponents, init: RelayAdvertsInit = {}) {
    super()
    this.#components = components
    this.#log = components.logger.forComponent('auralink:relay:adverts')
    this.topic = init.topic ?? RELAY_ADVERT_TOPIC
    if (typeof this.topic !== 'string' || this.topic === '') throw new TypeError(`topic must be a non-empty string, got ${JSON.stringify(init.topic)}`)
    this.#ttlMs = wholeNumber('ttlMs', init.ttlMs ?? DEFAULT_RELAY_ADVERT_TTL_MS, 1, MAX_RELAY_ADVERT_TTL_MS)
    this.#intervalMs = wholeNumber('intervalMs', init.intervalMs ?? Math.min(DEFAULT_ADVERT_INTERVAL_MS, Math.floor(this.#ttlMs / 2)), 1, this.#ttlMs - 1)
    this.#capacity = wholeNumber('capacity', init.capacity ?? DEFAULTS.maxReservations, 0, 2 ** 32 - 1)
    if (init.load !== undefined && typeof init.load !== 'function') throw new TypeError(`load must be a function, got ${typeof init.load}`)
    this.#load = init.load ?? (() => 0)
    this.#version = init.version ?? packageVersion()
    if (typeof this.#version !== 'string' || this.#version === '' || this.#version.length > 64) throw new RangeError(`version must be 1 to 64 characters, got ${JSON.stringify(init.version)}`)
    this.#aicSupport = init.aicSupport ?? false
    this.#region = init.region ?? ''
    if (typeof this.#region !== 'string' || this.#region.length > MAX_RELAY_REGION_LENGTH) throw new RangeError(`region must be a string of at most ${MAX_RELAY_REGION_LENGTH} characters, got ${JSON.stringify(init.region)}`)
    if (init.addresses !== undefined && typeof init.addresses !== 'function') throw new TypeError(`addresses must be a function, got ${typeof init.addresses}`)
    this.#addresses = init.addresses ?? (() => components.addressManager.getAddresses())
    this.#maxRelays = wholeNumber('maxRelays', init.maxRelays ?? DEFAULT_MAX_RELAYS, 1)
    this.#graceMs = wholeNumber('expiryGraceMs', init.expiryGraceMs ?? DEFAULT_ADVERT_EXPIRY_GRACE_MS, 0, MAX_RELAY_ADVERT_TTL_MS)
    this.#minGapMs = wholeNumber('minPublishGapMs', init.minPublishGapMs ?? Math.min(DEFAULT_ADVERT_MIN_GAP_MS, this.#intervalMs), 0, this.#intervalMs)
  }

  get advert (): RelayAdvert | undefined { return this.#advert }

  /** A listener that throws is logged; the validator and the timers go on. */
  protected override onListenerError (type: string, err: unknown): void {
    this.#log.error('a %s listener threw: %e', type, err)
  }

  isStarted (): boolean { return this.#started }

  /** Nothing: gossipsub starts beside us and cannot subscribe before it has started. */
  start (): void {}

  /** After every service has started: validator, subscription, first publish. */
  afterStart (): void {
    if (this.#started) return
    const { pubsub, events } = this.#components
    pubsub.topicValidators.set(this.topic, this.#validate)
    pubsub.subscribe(this.topic)
    pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
    events.addEventListener('self:peer:update', this.#onSelfUpdate)
    this.#started = true
    this.#schedule(Date.now())
    this.#log('started on %s, publishing every %d ms', this.topic, this.#intervalMs)
  }

  /** While gossipsub still runs: unsubscribe, drop the validator (stop() does it if not done). */
  beforeStop (): void {
    this.stop()
  }

  /**
   * Idempotent: clears both timers, unsubscribes, drops the validator and empties the table
   * (without 'relay' events: the relays did not go, we did).
   */
  stop (): void {
    if (!this.#started) return
    this.#started = false
    clearTimeout(this.#publishTimer)
    clearTimeout(this.#sweepTimer)
    this.#publishTimer = this.#sweepTimer = undefined
    this.#publishAt = this.#sweepAt = Infinity
    const { pubsub, events } = this.#components
    events.removeEventListener('self:peer:update', this.#onSelfUpdate)
    pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange)
    if (pubsub.topicValidators.get(this.topic) === this.#validate) pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch (err) {
      // gossipsub already stopped: the subscription went with it
      this.#log('unsubscribe: %s', (err as Error).message)
    }
    this.#table.clear()
  }

  relays (): RelayAdvert[] {
    const now = Date.now()
    return [...this.#table.values()].filter((a) => a.expiresAt > now)
  }

  relay (peerId: PeerId | string): RelayAdvert | undefined {
    const a = this.#table.get(peerId.toString())
    return a !== undefined && a.expiresAt > Date.now() ? a : undefined
  }

  counters (): AdvertCounters {
    return { ...this.#counters, rejected: { ...this.#counters.rejected }, ignored: { ...this.#counters.ignored } }
  }

  async publish (options: AbortOptions = {}): Promise<AdvertPublish> {
    if (!this.#started) throw new InvalidStateError('publish() on relay adverts that are not started')
    this.#lastPublishAt = Date.now()
    const self = this.#components.peerId.toString()
    try {
      const addrs = this.#addresses()
        .filter((a) => {
          const parts = a.getComponents()
          return parts.findLast((c) => c.name === 'p2p')?.value === self && !parts.some((c) => c.name === 'p2p-circuit')
        })
        .slice(0, MAX_RELAY_ADVERT_ADDRS)
      if (addrs.length === 0) {
        this.#log('no address to advertise yet')
        return this.#published({ recipients: 0, skipped: 'no-addresses' })
      }
      const load = Math.min(this.#capacity, Math.max(0, Math.floor(Number(this.#load()) || 0)))
      const advert = await createRelayAdvert(this.#components.privateKey, {
        addrs, capacity: this.#capacity, load, version: this.#version, aicSupport: this.#aicSupport, region: this.#region, ttlMs: this.#ttlMs, signal: options.signal
      })
      options.signal?.throwIfAborted()
      // stopped while signing: gossipsub may be gone, and that is no fault
      if (!this.#started) return this.#published({ recipients: 0, skipped: 'stopped' })
      const { recipients } = await this.#components.pubsub.publish(this.topic, advert.bytes)
      this.#advert = advert
      this.#counters.published++
      return this.#published({ advert, recipients: recipients.length })
    } catch (err) {
      this.#counters.publishErrors++
      this.#log.error('publish failed: %e', err)
      this.#published({ recipients: 0, error: err as Error })
      throw err
    }
  }

  #published (p: AdvertPublish): AdvertPublish {
    this.safeDispatchEvent('publish', { detail: p })
    return p
  }

  /** One timer for publishing: sets it for `at` unless it is set for sooner already. */
  #schedule (at: number): void {
    if (!this.#started || (this.#publishTimer !== undefined && at >= this.#publishAt)) return
    clearTimeout(this.#publishTimer)
    this.#publishAt = at
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined
      this.#publishAt = Infinity
      this.publish()
        .catch(() => {}) // counted, logged and dispatched by publish()
        .finally(() => { this.#schedule(Date.now() + this.#intervalMs) })
    }, clampDelay(at - Date.now()))
  }

  /** Soon, but not sooner than minPublishGapMs after the last publish. */
  #publishSoon (): void {
    this.#schedule(Math.max(Date.now(), this.#lastPublishAt + this.#minGapMs))
  }

  readonly #onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some((s) => s.subscribe && s.topic === this.topic)) this.#publishSoon()
  }

  readonly #onSelfUpdate = (): void => { this.#publishSoon() }

  #verdict (v: AdvertVerdict): TopicValidatorResult {
    if (v.result === 'accept') {
      this.#counters.accepted++
      if (!v.stored) this.#counters.tableFull++
    } else if (v.result === 'reject') {
      this.#counters.rejected[v.reason]++
      this.#log('rejected an advert from %p: %s', v.from, v.reason)
    } else {
      this.#counters.ignored[v.reason]++
    }
    this.safeDispatchEvent('advert', { detail: v })
    return v.result === 'accept' ? TopicValidatorResult.Accept : v.result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  /**
   * gossipsub's topic validator. `from` is the propagation source (the peer P4 charges); the
   * advert must be signed by the message's author, which StrictSign has checked gossipsub's
   * signature of, so a relay cannot pass off another's advert (or a replay of it) as its own.
   */
  readonly #validate = async (from: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    try {
      return this.#verdict(await this.#check(from, msg))
    } catch (err) {
      this.#log.error('advert validator failed: %e', err)
      return this.#verdict({ result: 'ignore', from, reason: 'internal', error: err as Error })
    }
  }

  async #check (from: PeerId, msg: Message): Promise<AdvertVerdict> {
    if (msg.data.length > MAX_RELAY_ADVERT_BYTES) return { result: 'reject', from, reason: 'oversized' }
    if (msg.type !== 'signed') return { result: 'reject', from, reason: 'signer' }
    const now = Date.now()
    let advert: RelayAdvert
    try {
      advert = await verifyRelayAdvert(msg.data, { now })
    } catch (err) {
      if (err instanceof MessageTooLargeError) return { result: 'reject', from, reason: 'oversized', error: err }
      if (err instanceof InvalidRelayAdvertError) return { result: 'reject', from, reason: err.reason, error: err }
      if (!(err instanceof ExpiredRelayAdvertError)) throw err
      const e = err
      // expired (or from the future): was it valid within the grace? Its signature has verified.
      const earlier = await verifyRelayAdvert(msg.data, { now: now - this.#graceMs }).catch(() => undefined)
      if (earlier === undefined) return { result: 'reject', from, reason: 'expired', error: e }
      if (!earlier.peerId.equals(msg.from)) return { result: 'reject', from, reason: 'signer' }
      return { result: 'ignore', from, reason: 'stale', error: e }
    }
    if (!advert.peerId.equals(msg.from)) return { result: 'reject', from, reason: 'signer' }
    if (advert.peerId.equals(this.#components.peerId)) return { result: 'ignore', from, reason: 'self' }
    return this.#store(from, advert)
  }

  /** Synchronous after the awaits above, so two adverts of one relay cannot race. */
  #store (from: PeerId, advert: RelayAdvert): AdvertVerdict {
    // a message validated while we stopped: the table is gone with us
    if (!this.#started) return { result: 'ignore', from, reason: 'internal' }
    const id = advert.peerId.toString()
    const known = this.#table.get(id)
    if (known !== undefined && advert.issuedAt <= known.issuedAt) return { result: 'ignore', from, reason: 'older' }
    if (known === undefined && this.#table.size >= this.#maxRelays) {
      this.#sweep()
      if (this.#table.size >= this.#maxRelays) return { result: 'accept', from, advert, stored: false }
    }
    this.#table.set(id, advert)
    if (advert.expiresAt < this.#sweepAt) this.#scheduleSweep(advert.expiresAt)
    this.safeDispatchEvent('relay', { detail: { change: known === undefined ? 'learned' : 'updated', advert } })
    return { result: 'accept', from, advert, stored: true }
  }

  /** Drops expired relays (with a 'relay' event each) and sets the timer for the next expiry. */
  #sweep (): void {
    const now = Date.now()
    let next = Infinity
    for (const [id, advert] of this.#table) {
      if (advert.expiresAt <= now) {
        this.#table.delete(id)
        this.safeDispatchEvent('relay', { detail: { change: 'expired', advert } })
      } else {
        next = Math.min(next, advert.expiresAt)
      }
    }
    this.#scheduleSweep(next)
  }

  #scheduleSweep (at: number): void {
    clearTimeout(this.#sweepTimer)
    this.#sweepTimer = undefined
    this.#sweepAt = at
    if (!this.#started || at === Infinity) return
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined
      this.#sweepAt = Infinity
      this.#sweep()
    }, clampDelay(at - Date.now()))
  }
}

/**
 * The relay advert service: publishes this relay's signed advert on the advert topic at start
 * and every `intervalMs` (and soon after a peer joins the topic or our addresses change, at
 * most once per `minPublishGapMs`), validates every incoming advert for gossipsub (oversized,
 * malformed, forged, expired or signed by anyone but the message's author: Reject, which
 * gossipsub's P4 counts against the peer that sent it; a replay or an older advert: Ignore),
 * and keeps a bounded table of the relays it has heard from, dropping each when its advert
 * expires. Needs a gossipsub service named `pubsub` (see `relayGossipsub()`).
 *
 * @example
 * ```ts
 * const node = await createLibp2p({
 *   // ...
 *   services: {
 *     identify: identify(),
 *     pubsub: relayGossipsub(),
 *     adverts: relayAdverts({ capacity: 128, load: () => reservations(), region: 'eu-west' })
 *   }
 * })
 * node.services.adverts.addEventListener('relay', ({ detail }) => { console.log(detail.change, detail.advert.peerId) })
 * ```
 */
export function relayAdverts (init: RelayAdvertsInit = {}): (components: RelayAdvertsComponents) => RelayAdverts {
  return (components) => new RelayAdvertsService(components, init)
}
