import { createRelayAdvert } from '@auralink/identity'
import { encodeRelayAdvert, encodeSignedRelayAdvert, MAX_RELAY_ADVERT_BYTES, RELAY_ADVERT_TOPIC } from '@auralink/protocol'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createPeerScoreParams, createPeerScoreThresholds, validatePeerScoreParams, validatePeerScoreThresholds } from '@libp2p/gossipsub/score'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { relayAdverts } from '../src/adverts.js'
import { relayGossipsubOptions } from '../src/relay-gossipsub.js'
import type { AdvertVerdict, RelayAdverts, RelayAdvertsComponents, RelayAdvertsInit, RelayTableChange } from '../src/adverts.js'
import type { RelayAdvert, RelayAdvertInit } from '@auralink/identity'
import type { GossipSubEvents, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import type { Libp2pEvents, PeerId, PrivateKey } from '@libp2p/interface'

/** A hand-made gossipsub: the validator map, subscriptions, and what was published. */
class FakePubSub extends TypedEventEmitter<GossipSubEvents> {
  readonly topicValidators = new Map<string, TopicValidatorFn>()
  readonly topics = new Set<string>()
  readonly published: Uint8Array[] = []
  subscribe (topic: string): void { this.topics.add(topic) }
  unsubscribe (topic: string): void { this.topics.delete(topic) }
  async publish (_topic: string, data?: Uint8Array): Promise<{ recipients: PeerId[] }> {
    if (data !== undefined) this.published.push(data)
    return { recipients: [] }
  }
}

interface Relay { key: PrivateKey, peerId: PeerId, addr: string }

async function relayKey (): Promise<Relay> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  return { key, peerId, addr: `/ip4/127.0.0.1/tcp/4001/ws/p2p/${peerId.toString()}` }
}

const advertOf = async (r: Relay, init: Partial<RelayAdvertInit> = {}): Promise<RelayAdvert> =>
  createRelayAdvert(r.key, { addrs: [r.addr], capacity: 10, load: 1, version: '0.1.0', ...init })

/** A gossip message as gossipsub hands it to a validator after its StrictSign checks. */
function signedMessage (author: PeerId, data: Uint8Array): Message {
  if (author.publicKey === undefined) throw new Error('an Ed25519 PeerId carries its key')
  return { type: 'signed', from: author, topic: RELAY_ADVERT_TOPIC, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: author.publicKey }
}

const ALL_REJECTS = { oversized: 0, malformed: 0, fields: 0, signature: 0, expired: 0, signer: 0 }

describe('relayAdverts() with a hand-made gossipsub', () => {
  let me: Relay
  let bob: Relay
  let carol: Relay
  const services: RelayAdverts[] = []
  beforeAll(async () => {
    [me, bob, carol] = await Promise.all([relayKey(), relayKey(), relayKey()])
  })
  afterEach(() => { for (const s of services.splice(0)) s.stop() })

  function make (init: RelayAdvertsInit = {}): { service: RelayAdverts, pubsub: FakePubSub, events: TypedEventEmitter<Libp2pEvents>, verdicts: AdvertVerdict[], changes: RelayTableChange[], validate: (from: PeerId, m: Message) => Promise<TopicValidatorResult> } {
    const pubsub = new FakePubSub()
    const events = new TypedEventEmitter<Libp2pEvents>()
    const components: RelayAdvertsComponents = {
      pubsub, events, privateKey: me.key, peerId: me.peerId, logger: defaultLogger(), addressManager: { getAddresses: () => [multiaddr(me.addr)] }
    }
    const service = relayAdverts({ intervalMs: 60_000, ...init })(components)
    services.push(service)
    const verdicts: AdvertVerdict[] = []
    const changes: RelayTableChange[] = []
    service.addEventListener('advert', ({ detail }) => verdicts.push(detail))
    service.addEventListener('relay', ({ detail }) => changes.push(detail))
    void service.start()
    void service.afterStart?.()
    const validate = async (from: PeerId, m: Message): Promise<TopicValidatorResult> => {
      const fn = pubsub.topicValidators.get(RELAY_ADVERT_TOPIC)
      if (fn === undefined) throw new Error('no validator set')
      return fn(from, m)
    }
    return { service, pubsub, events, verdicts, changes, validate }
  }

  it('afterStart() subscribes to the advert topic and sets its validator; stop() undoes both', () => {
    const { service, pubsub } = make()
    expect(pubsub.topics.has(RELAY_ADVERT_TOPIC)).toBe(true)
    expect(pubsub.topicValidators.has(RELAY_ADVERT_TOPIC)).toBe(true)
    service.stop()
    expect(pubsub.topics.size).toBe(0)
    expect(pubsub.topicValidators.size).toBe(0)
    service.stop() // idempotent
  })

  it('the validator accepts a valid advert signed by the message author and puts it in relays() with a "learned" event', async () => {
    const { service, validate, changes, verdicts } = make()
    const advert = await advertOf(bob, { region: 'eu-west', aicSupport: true })
    await expect(validate(carol.peerId, signedMessage(bob.peerId, advert.bytes))).resolves.toBe(TopicValidatorResult.Accept)
    expect(service.relays().map((a) => a.peerId.toString())).toEqual([bob.peerId.toString()])
    expect(service.relay(bob.peerId)).toMatchObject({ region: 'eu-west', aicSupport: true, capacity: 10, load: 1 })
    expect(changes.map((c) => c.change)).toEqual(['learned'])
    expect(verdicts[0]).toMatchObject({ result: 'accept', stored: true })
    expect(verdicts[0]?.from.equals(carol.peerId)).toBe(true)
    expect(service.counters().accepted).toBe(1)
  })

  it('the validator ignores a replay or an older advert of a known relay, and accepts a newer one as "updated"', async () => {
    const { service, validate, changes } = make()
    const now = Date.now()
    const first = await advertOf(bob, { now: now - 2000 })
    const second = await advertOf(bob, { now: now - 1000, load: 5 })
    expect(await validate(bob.peerId, signedMessage(bob.peerId, second.bytes))).toBe(TopicValidatorResult.Accept)
    expect(await validate(bob.peerId, signedMessage(bob.peerId, second.bytes))).toBe(TopicValidatorResult.Ignore)
    expect(await validate(bob.peerId, signedMessage(bob.peerId, first.bytes))).toBe(TopicValidatorResult.Ignore)
    expect(service.relay(bob.peerId)?.load).toBe(5)
    const third = await advertOf(bob, { load: 7 })
    expect(await validate(bob.peerId, signedMessage(bob.peerId, third.bytes))).toBe(TopicValidatorResult.Accept)
    expect(service.relay(bob.peerId)?.load).toBe(7)
    expect(changes.map((c) => c.change)).toEqual(['learned', 'updated'])
    expect(service.counters().ignored).toMatchObject({ older: 2 })
  })

  it('the validator ignores our own advert come back, and keeps us out of relays()', async () => {
    const { service, validate } = make()
    const mine = await advertOf(me)
    expect(await validate(bob.peerId, signedMessage(me.peerId, mine.bytes))).toBe(TopicValidatorResult.Ignore)
    expect(service.relays()).toEqual([])
    expect(service.counters().ignored.self).toBe(1)
  })

  // every bad input: the verdict, the reason counted, and nothing in the table
  const bad: Array<[string, 'oversized' | 'malformed' | 'fields' | 'signature' | 'expired' | 'signer', () => Promise<Message>]> = [
    ['oversized (over 4 KiB)', 'oversized', async () => signedMessage(bob.peerId, new Uint8Array(MAX_RELAY_ADVERT_BYTES + 1))],
    ['undecodable bytes', 'malformed', async () => signedMessage(bob.peerId, new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))],
    ['truncated', 'malformed', async () => { const b = (await advertOf(bob)).bytes; return signedMessage(bob.peerId, b.subarray(0, b.length - 10)) }],
    ['load over capacity', 'fields', async () => {
      const now = Date.now()
      const payload = encodeRelayAdvert({ publicKey: publicKeyToProtobuf(bob.key.publicKey), addrs: [multiaddr(bob.addr).bytes], capacity: 1, load: 5, version: '0.1.0', issuedAt: now, expiresAt: now + 60_000 })
      return signedMessage(bob.peerId, encodeSignedRelayAdvert({ payload, signature: new Uint8Array(64) }))
    }],
    ['a signature that does not verify', 'signature', async () => {
      const b = Uint8Array.from((await advertOf(bob)).bytes)
      b[b.length - 1] = (b.at(-1) ?? 0) ^ 1
      return signedMessage(bob.peerId, b)
    }],
    ['expired an hour ago', 'expired', async () => signedMessage(bob.peerId, (await advertOf(bob, { now: Date.now() - 70 * 60_000, ttlMs: 10 * 60_000 })).bytes)],
    ['issued ten minutes in the future', 'expired', async () => signedMessage(bob.peerId, (await advertOf(bob, { now: Date.now() + 10 * 60_000 })).bytes)],
    ["another relay's advert sent as its own (signer != author)", 'signer', async () => signedMessage(carol.peerId, (await advertOf(bob)).bytes)],
    ['a message without an author', 'signer', async () => ({ type: 'unsigned', topic: RELAY_ADVERT_TOPIC, data: (await advertOf(bob)).bytes })]
  ]
  for (const [what, reason, message] of bad) {
    it(`the validator rejects an advert: ${what} (reason '${reason}'), counted, not stored`, async () => {
      const { service, validate, verdicts } = make()
      expect(await validate(carol.peerId, await message())).toBe(TopicValidatorResult.Reject)
      expect(verdicts).toHaveLength(1)
      expect(verdicts[0]).toMatchObject({ result: 'reject', reason })
      expect(verdicts[0]?.from.equals(carol.peerId)).toBe(true)
      expect(service.counters().rejected).toEqual({ ...ALL_REJECTS, [reason]: 1 })
      expect(service.relays()).toEqual([])
    })
  }

  it('the validator ignores (does not reject) an advert that expired within the grace, and rejects it past the grace', async () => {
    const { service, validate } = make({ expiryGraceMs: 30_000 })
    const recent = await advertOf(bob, { now: Date.now() - 10_000, ttlMs: 5_000 })
    expect(await validate(carol.peerId, signedMessage(bob.peerId, recent.bytes))).toBe(TopicValidatorResult.Ignore)
    expect(service.counters().ignored.stale).toBe(1)
    // a replay of it under another author is still forgery
    expect(await validate(carol.peerId, signedMessage(carol.peerId, recent.bytes))).toBe(TopicValidatorResult.Reject)
    const old = await advertOf(bob, { now: Date.now() - 40_000, ttlMs: 5_000 })
    expect(await validate(carol.peerId, signedMessage(bob.peerId, old.bytes))).toBe(TopicValidatorResult.Reject)
    expect(service.counters().rejected).toMatchObject({ signer: 1, expired: 1 })
  })

  it('relays() drops an advert when it expires, with an "expired" event', async () => {
    const { service, validate, changes } = make()
    const short = await advertOf(bob, { ttlMs: 300 })
    expect(await validate(bob.peerId, signedMessage(bob.peerId, short.bytes))).toBe(TopicValidatorResult.Accept)
    expect(service.relays()).toHaveLength(1)
    await expect.poll(() => changes.map((c) => c.change), { timeout: 3000, interval: 50 }).toEqual(['learned', 'expired'])
    expect(service.relays()).toEqual([])
  })

  it('the table holds at most maxRelays: a new relay past it is accepted (forwarded) but not stored, until one expires', async () => {
    const { service, validate } = make({ maxRelays: 1 })
    const dave = await relayKey()
    expect(await validate(bob.peerId, signedMessage(bob.peerId, (await advertOf(bob, { ttlMs: 400 })).bytes))).toBe(TopicValidatorResult.Accept)
    expect(await validate(carol.peerId, signedMessage(carol.peerId, (await advertOf(carol)).bytes))).toBe(TopicValidatorResult.Accept)
    expect(service.relays().map((a) => a.peerId.toString())).toEqual([bob.peerId.toString()])
    expect(service.counters()).toMatchObject({ accepted: 2, tableFull: 1 })
    await expect.poll(() => service.relays().length, { timeout: 3000, interval: 50 }).toBe(0)
    expect(await validate(dave.peerId, signedMessage(dave.peerId, (await advertOf(dave)).bytes))).toBe(TopicValidatorResult.Accept)
    expect(service.relays().map((a) => a.peerId.toString())).toEqual([dave.peerId.toString()])
  })

  it('afterStart() publishes our signed advert at once and every intervalMs, with load clamped to capacity', async () => {
    let load = 3
    const { service, pubsub } = make({ intervalMs: 200, capacity: 4, load: () => load++, region: 'eu-west', version: '9.9.9', aicSupport: true })
    await expect.poll(() => pubsub.published.length, { timeout: 3000, interval: 20 }).toBeGreaterThanOrEqual(3)
    const { verifyRelayAdvert } = await import('@auralink/identity')
    const adverts = await Promise.all(pubsub.published.slice(0, 3).map(async (b) => verifyRelayAdvert(b)))
    expect(adverts.map((a) => a.load)).toEqual([3, 4, 4])
    expect(adverts[0]).toMatchObject({ capacity: 4, region: 'eu-west', version: '9.9.9', aicSupport: true })
    expect(adverts[0]?.peerId.equals(me.peerId)).toBe(true)
    expect(adverts[0]?.addrs.map(String)).toEqual([me.addr])
    expect(service.advert).toBeDefined()
    expect(service.counters().published).toBeGreaterThanOrEqual(3)
  })

  it('publish() leaves out addresses of other peers and relayed ones, and skips publishing with none left', async () => {
    const addrs = [multiaddr(`${me.addr}/p2p-circuit`), multiaddr(bob.addr)]
    const { service, pubsub } = make({ addresses: () => addrs })
    await expect(service.publish()).resolves.toMatchObject({ skipped: 'no-addresses', recipients: 0 })
    expect(pubsub.published).toHaveLength(0)
    addrs.push(multiaddr(me.addr))
    await expect(service.publish()).resolves.toMatchObject({ recipients: 0, advert: { addrs: [multiaddr(me.addr)] } })
  })

  it('a peer joining the topic makes us publish soon, at most once per minPublishGapMs', async () => {
    const { pubsub } = make({ intervalMs: 60_000, minPublishGapMs: 300 })
    await expect.poll(() => pubsub.published.length, { timeout: 2000, interval: 20 }).toBe(1)
    for (let i = 0; i < 5; i++) pubsub.safeDispatchEvent('subscription-change', { detail: { peerId: bob.peerId, subscriptions: [{ topic: RELAY_ADVERT_TOPIC, subscribe: true }] } })
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(pubsub.published).toHaveLength(1)
    await expect.poll(() => pubsub.published.length, { timeout: 2000, interval: 20 }).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(pubsub.published).toHaveLength(2)
  })

  it('stop() clears every timer it set: the publish timer and the expiry timer', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const { service, pubsub, validate } = make({ intervalMs: 60_000 })
    await expect.poll(() => pubsub.published.length, { timeout: 2000, interval: 20 }).toBe(1)
    await validate(bob.peerId, signedMessage(bob.peerId, (await advertOf(bob, { ttlMs: 60_000 })).bytes)) // sets the expiry timer
    const before = timers()
    service.stop()
    expect(timers()).toBe(before - 2)
    service.stop()
    expect(timers()).toBe(before - 2)
    await expect(service.publish()).rejects.toMatchObject({ name: 'InvalidStateError' })
    expect(service.relays()).toEqual([])
  })

  it('stop() stops the publishing: nothing is published after it', async () => {
    const { service, pubsub } = make({ intervalMs: 50 })
    await expect.poll(() => pubsub.published.length, { timeout: 2000, interval: 10 }).toBeGreaterThanOrEqual(3)
    service.stop()
    await new Promise((resolve) => setTimeout(resolve, 50)) // one publish may have been under way
    const count = pubsub.published.length
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(pubsub.published.length).toBe(count)
  })

  it('a listener that throws does not break the validator', async () => {
    const { service, validate } = make()
    service.addEventListener('advert', () => { throw new Error('bad metrics hook') })
    service.addEventListener('relay', () => { throw new Error('bad table hook') })
    expect(await validate(bob.peerId, signedMessage(bob.peerId, (await advertOf(bob)).bytes))).toBe(TopicValidatorResult.Accept)
    expect(service.relays()).toHaveLength(1)
  })

  it('relayAdverts() refuses bad options with TypeError or RangeError naming the option', () => {
    const components = { logger: defaultLogger() } as unknown as RelayAdvertsComponents
    expect(() => relayAdverts({ intervalMs: 1000, ttlMs: 1000 })(components)).toThrow(/intervalMs/)
    expect(() => relayAdverts({ intervalMs: 1.5 })(components)).toThrow(TypeError)
    expect(() => relayAdverts({ ttlMs: 2 * 60 * 60 * 1000 })(components)).toThrow(RangeError)
    expect(() => relayAdverts({ region: 'x'.repeat(33) })(components)).toThrow(/region/)
    expect(() => relayAdverts({ maxRelays: 0 })(components)).toThrow(/maxRelays/)
    expect(() => relayAdverts({ capacity: -1 })(components)).toThrow(/capacity/)
    expect(() => relayAdverts({ load: 3 as unknown as () => number })(components)).toThrow(/load/)
    expect(() => relayAdverts({ version: '' })(components)).toThrow(/version/)
  })

  it('relayGossipsubOptions() gives StrictSign, the one topic, and score params gossipsub accepts, where one invalid advert outweighs all credit', () => {
    const opts = relayGossipsubOptions()
    expect(opts).toMatchObject({ globalSignaturePolicy: 'StrictSign', allowedTopics: [RELAY_ADVERT_TOPIC], allowPublishToZeroTopicPeers: true, fallbackToFloodsub: false })
    const params = createPeerScoreParams(opts.scoreParams)
    expect(() => { validatePeerScoreParams(params) }).not.toThrow()
    expect(() => { validatePeerScoreThresholds(createPeerScoreThresholds(opts.scoreThresholds)) }).not.toThrow()
    const t = params.topics[RELAY_ADVERT_TOPIC]
    expect(t).toBeDefined()
    if (t === undefined) return
    expect(t.invalidMessageDeliveriesWeight * t.topicWeight + Math.min(params.topicScoreCap, t.firstMessageDeliveriesCap * t.firstMessageDeliveriesWeight * t.topicWeight)).toBeLessThan(0)
    expect(t.meshMessageDeliveriesWeight).toBe(0)
    expect(() => relayGossipsubOptions({ invalidAdvertWeight: 1 })).toThrow(RangeError)
  })
})
