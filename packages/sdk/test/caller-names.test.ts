import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AuraIdNotFoundError } from '@auralink/mesh'
import { CallerNames, inviteLimits } from '../src/caller-names.js'
import type { PeerId } from '@libp2p/interface'

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never

async function peer (): Promise<PeerId> { return peerIdFromPrivateKey(await generateKeyPair('Ed25519')) }

/** A fake directory: counts lookups per name; `hold` keeps lookups pending until released. */
function directory (records: Map<string, PeerId>): {
  resolve: (name: string) => Promise<{ name: string, peerId: PeerId }>
  lookups: Map<string, number>
  hold: boolean
  release: () => void
} {
  const waiting: Array<() => void> = []
  const d = {
    lookups: new Map<string, number>(),
    hold: false,
    release: () => { for (const w of waiting.splice(0)) w() },
    resolve: async (name: string) => {
      d.lookups.set(name, (d.lookups.get(name) ?? 0) + 1)
      if (d.hold) await new Promise<void>((resolve) => waiting.push(resolve))
      const peerId = records.get(name)
      if (peerId === undefined) throw new AuraIdNotFoundError(name)
      return { name, peerId }
    }
  }
  return d
}

describe('CallerNames (the AuraIDs callers claim in invites)', () => {
  afterEach(() => { vi.useRealTimers() })

  it('verify() of 100 invites naming the same unregistered AuraID costs one directory lookup, while a registered caller is still verified', async () => {
    const alice = await peer()
    const mallory = await peer()
    const dir = directory(new Map([['@alice.aura', alice]]))
    const names = new CallerNames(inviteLimits({}), { log, resolve: dir.resolve })
    dir.hold = true
    const flood = Array.from({ length: 100 }, async () => names.verify('@ghost.aura', mallory))
    const legit = names.verify('@alice.aura', alice)
    dir.release()
    expect(await Promise.all(flood)).toEqual(Array(100).fill(undefined))
    expect(await legit).toBe('@alice.aura')
    // and later invites within the minute cost nothing
    dir.hold = false
    for (let i = 0; i < 100; i++) expect(await names.verify('@ghost.aura', mallory)).toBeUndefined()
    expect(dir.lookups.get('@ghost.aura')).toBe(1)
    expect(dir.lookups.get('@alice.aura')).toBe(1)
  })

  it('verify() looks an unregistered AuraID up again once unresolvedTtlMs (60 s) has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const mallory = await peer()
    const dir = directory(new Map())
    const names = new CallerNames(inviteLimits({}), { log, resolve: dir.resolve })
    await names.verify('@ghost.aura', mallory)
    vi.setSystemTime(Date.now() + 59_000)
    await names.verify('@ghost.aura', mallory)
    expect(dir.lookups.get('@ghost.aura')).toBe(1)
    vi.setSystemTime(Date.now() + 2_000)
    await names.verify('@ghost.aura', mallory)
    expect(dir.lookups.get('@ghost.aura')).toBe(2)
  })

  it('verify() remembers at most unresolvedCacheSize names, the least recently seen going first', async () => {
    const mallory = await peer()
    const dir = directory(new Map())
    const names = new CallerNames(inviteLimits({ unresolvedCacheSize: 2 }), { log, resolve: dir.resolve })
    await names.verify('@ghost-a.aura', mallory)
    await names.verify('@ghost-b.aura', mallory)
    await names.verify('@ghost-a.aura', mallory) // seen again: b is now the oldest
    await names.verify('@ghost-c.aura', mallory)
    expect(names.remembered).toBe(2)
    await names.verify('@ghost-a.aura', mallory)
    expect(dir.lookups.get('@ghost-a.aura')).toBe(1)
    await names.verify('@ghost-b.aura', mallory)
    expect(dir.lookups.get('@ghost-b.aura')).toBe(2)
  })

  it('verify() refuses (InvalidStateError) an invite naming a new AuraID while maxLookups (4) names are being looked up; the same names wait for their lookup', async () => {
    const mallory = await peer()
    const dir = directory(new Map())
    const names = new CallerNames(inviteLimits({}), { log, resolve: dir.resolve })
    dir.hold = true
    const pending = [1, 2, 3, 4].map(async (i) => names.verify(`@ghost-${i}.aura`, mallory))
    await expect(names.verify('@ghost-5.aura', mallory)).rejects.toMatchObject({ name: 'InvalidStateError', message: expect.stringContaining('the limit is 4') })
    const again = names.verify('@ghost-1.aura', mallory) // joins the lookup in flight
    dir.hold = false
    dir.release()
    expect(await Promise.all([...pending, again])).toEqual(Array(5).fill(undefined))
    expect([...dir.lookups.values()]).toEqual([1, 1, 1, 1])
    expect(await names.verify('@ghost-5.aura', mallory)).toBeUndefined() // room again
  })

  it('verify() shows a caller that claims another peer\'s AuraID, or a malformed one, as unnamed without caching it as unregistered', async () => {
    const alice = await peer()
    const mallory = await peer()
    const dir = directory(new Map([['@alice.aura', alice]]))
    const names = new CallerNames(inviteLimits({}), { log, resolve: dir.resolve })
    expect(await names.verify('@alice.aura', mallory)).toBeUndefined()
    expect(await names.verify('', mallory)).toBeUndefined()
    expect(await names.verify('not a name', mallory)).toBeUndefined()
    expect(await names.verify(`@${'x'.repeat(10_000)}.aura`, mallory)).toBeUndefined()
    expect(names.remembered).toBe(0)
    expect(dir.lookups.size).toBe(1) // malformed names never reach the directory
    expect(await names.verify('@alice.aura', alice)).toBe('@alice.aura')
  })

  it('verify() retries a lookup that failed for another reason than NOT_FOUND after 5 s, not 60 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const mallory = await peer()
    let calls = 0
    const names = new CallerNames(inviteLimits({}), { log, resolve: async () => { calls++; throw new Error('relay unreachable') } })
    await names.verify('@bob.aura', mallory)
    await names.verify('@bob.aura', mallory)
    expect(calls).toBe(1)
    vi.setSystemTime(Date.now() + 5_001)
    await names.verify('@bob.aura', mallory)
    expect(calls).toBe(2)
  })

  it('inviteLimits() names the bad option', () => {
    expect(() => inviteLimits({ maxLookups: 0 })).toThrow(/init.invites.maxLookups must be a whole number from 1, got 0/)
    expect(() => inviteLimits({ unresolvedTtlMs: -1 })).toThrow(RangeError)
    expect(() => inviteLimits('x' as never)).toThrow(/init.invites must be an object, got string/)
  })
})
