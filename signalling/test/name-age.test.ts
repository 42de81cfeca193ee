import { createUnregister, generateIdentityKey, peerIdOf } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { DAY, makeDirectory, ops, record, somePeer } from './helpers.js'

const E = DirectoryError
const HOUR = 3_600_000

describe('auraIdDirectory: how long a key has held its name (the relay\'s anonymous-circuit rule)', () => {
  it('holdsName(peer, { minAgeMs }) is false for a name registered less than minAgeMs ago and true from then on; updates keep the age', async () => {
    const h = makeDirectory()
    const alice = await generateIdentityKey()
    const peer = peerIdOf(alice)
    const c = ops(h.dir, await somePeer())
    expect((await c.register(await record(alice, '@alice.aura', h.clock.now, { validity: h.clock.now + DAY }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await h.dir.holdsName(peer)).toBe(true)
    expect(await h.dir.holdsName(peer, { minAgeMs: HOUR })).toBe(false)
    h.clock.now += HOUR - 1
    // an update (a higher sequence) while held does not start the age again
    expect((await c.update(await record(alice, '@alice.aura', h.clock.now, { sequence: 2, validity: h.clock.now + DAY }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await h.dir.holdsName(peer, { minAgeMs: HOUR })).toBe(false)
    h.clock.now += 1
    expect(await h.dir.holdsName(peer, { minAgeMs: HOUR })).toBe(true)
    expect(await h.dir.holdsName(await somePeer(), { minAgeMs: 0 })).toBe(false)
  })

  it('holdsName(peer, { minAgeMs }) starts the age again after an unregister, and for a key that takes a lapsed name', async () => {
    const h = makeDirectory({ gracePeriodMs: 1000 })
    const [alice, bob] = [await generateIdentityKey(), await generateIdentityKey()]
    const c = ops(h.dir, await somePeer())
    expect((await c.register(await record(alice, '@alice.aura', h.clock.now, { validity: h.clock.now + 3 * HOUR }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    h.clock.now += 2 * HOUR
    expect(await h.dir.holdsName(peerIdOf(alice), { minAgeMs: HOUR })).toBe(true)
    expect((await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    h.clock.now += 1
    expect((await c.register(await record(alice, '@alice.aura', h.clock.now, { sequence: 2, validity: h.clock.now + HOUR }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await h.dir.holdsName(peerIdOf(alice), { minAgeMs: HOUR })).toBe(false)
    // alice's record lapses (validity and grace over); bob registers the name: his age starts now
    h.clock.now += HOUR + 2000
    expect((await c.register(await record(bob, '@alice.aura', h.clock.now, { validity: h.clock.now + DAY }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await h.dir.holdsName(peerIdOf(bob), { minAgeMs: HOUR })).toBe(false)
    h.clock.now += HOUR
    expect(await h.dir.holdsName(peerIdOf(bob), { minAgeMs: HOUR })).toBe(true)
  })

  it('holdsName(peer, { minAgeMs }) counts a name stored without its registration time (an older store) from the first call that asks, never earlier', async () => {
    const h = makeDirectory()
    const alice = await generateIdentityKey()
    const c = ops(h.dir, await somePeer())
    expect((await c.register(await record(alice, '@alice.aura', h.clock.now, { validity: h.clock.now + DAY }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // what a store written before /auraid/since existed looks like
    await h.datastore.delete(new Key('/auraid/since/@alice.aura'))
    h.clock.now += 2 * HOUR
    expect(await h.dir.holdsName(peerIdOf(alice), { minAgeMs: HOUR })).toBe(false)
    h.clock.now += HOUR - 1
    expect(await h.dir.holdsName(peerIdOf(alice), { minAgeMs: HOUR })).toBe(false)
    h.clock.now += 1
    expect(await h.dir.holdsName(peerIdOf(alice), { minAgeMs: HOUR })).toBe(true)
  })

  it('holdsName(peer, { minAgeMs }) rejects with RangeError naming minAgeMs for a negative or non-number age', async () => {
    const h = makeDirectory()
    const peer = await somePeer()
    await expect(h.dir.holdsName(peer, { minAgeMs: -1 })).rejects.toThrow(RangeError)
    await expect(h.dir.holdsName(peer, { minAgeMs: Number.NaN })).rejects.toThrow(/minAgeMs .* got NaN/)
    await expect(h.dir.holdsName(peer, { minAgeMs: '5' as unknown as number })).rejects.toThrow(/minAgeMs/)
  })
})
