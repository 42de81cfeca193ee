import { generateIdentityKey, peerIdOf } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { describe, expect, it } from 'vitest'
import { PeerRateLimiter } from '../src/index.js'
import { DAY, makeDirectory, ops, record, somePeer } from './helpers.js'
import type { DirectoryOperationEvent } from '../src/index.js'

const E = DirectoryError

describe('auraIdDirectory: abuse limits as the relay sees them', () => {
  it('holdsName(peer) is true while the peer holds a valid name, false before, for other peers and once the record expires', async () => {
    const h = makeDirectory()
    const alice = await generateIdentityKey()
    const alicePeer = peerIdOf(alice)
    expect(await h.dir.holdsName(alicePeer)).toBe(false)
    const res = await ops(h.dir, await somePeer()).register(await record(alice, '@alice.aura', h.clock.now, { validity: h.clock.now + DAY }))
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await h.dir.holdsName(alicePeer)).toBe(true)
    expect(await h.dir.holdsName(await somePeer())).toBe(false)
    h.clock.now += DAY + 1
    expect(await h.dir.holdsName(alicePeer)).toBe(false)
  })

  it('handle() names the limit in the operation event: "requests", "writes" and "names_per_key"; other outcomes carry none', async () => {
    const h = makeDirectory({ maxRequestsPerMinute: 4, maxWritesPerMinute: 2, maxNamesPerKey: 1 })
    const events: DirectoryOperationEvent[] = []
    h.dir.addEventListener('operation', (e) => { events.push(e.detail) })
    const alice = await generateIdentityKey()
    const writer = ops(h.dir, await somePeer())
    expect((await writer.register(await record(alice, '@alice.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await writer.register(await record(alice, '@alice-two.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_QUOTA_EXCEEDED)
    expect((await writer.register(await record(alice, '@alice-three.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_RATE_LIMITED)
    const reader = ops(h.dir, await somePeer())
    for (let i = 0; i < 4; i++) await reader.resolve('@nobody-here.aura')
    expect((await reader.resolve('@nobody-here.aura')).error).toBe(E.DIRECTORY_ERROR_RATE_LIMITED)
    expect(events.map((e) => [e.outcome, e.limit])).toEqual([
      ['ok', undefined],
      ['quota_exceeded', 'names_per_key'],
      ['rate_limited', 'writes'],
      ['not_found', undefined], ['not_found', undefined], ['not_found', undefined], ['not_found', undefined],
      ['rate_limited', 'requests']
    ])
  })

  it('PeerRateLimiter(n).take(peer) allows n at once, then refuses that peer only, and refills at n per minute', () => {
    const clock = { now: 0 }
    const limiter = new PeerRateLimiter(3, 600_000, () => clock.now)
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false])
    expect(limiter.take('b')).toBe(true)
    clock.now += 20_000 // one token back
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false])
    expect(new PeerRateLimiter(0, 600_000, () => 0).take('a')).toBe(false)
  })
})
