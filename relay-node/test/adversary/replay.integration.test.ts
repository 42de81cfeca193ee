import { createRecord, createUnregister, generateIdentityKey } from '@auralink/identity'
import { DirectoryError, DirectoryOp } from '@auralink/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, directory, errorOf, reserve, resolve, HOP_STATUS, startRelay, stockPeer } from './harness.js'

// Issue 13 item 2: replay after unregister. The relay is a real relay node with default settings,
// in this process; the attacker is a stock js-libp2p node (upstream @libp2p/* only) that resends
// the holder's last signed record, bytes it saw on the wire, once the holder has unregistered.
// Loopback only; every wait is bounded.

const E = DirectoryError

describe('replay of a withdrawn record (stock js-libp2p attacker against a default relay)', () => {
  afterEach(cleanup)

  it('REGISTER of the holder\'s last record after UNREGISTER is refused as a replay and the name does not resolve; the holder registers anew, resolves and reserves', async () => {
    const { addr } = await startRelay()
    const holder = await stockPeer()
    const key = await generateIdentityKey()
    const record = await createRecord(key, { name: '@carol.aura' })
    expect(errorOf(await directory(holder, addr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes }))).toBe(E.DIRECTORY_ERROR_NONE)
    const unregister = await createUnregister(key, '@carol.aura')
    expect(errorOf(await directory(holder, addr, { op: DirectoryOp.DIRECTORY_OP_UNREGISTER, unregister }))).toBe(E.DIRECTORY_ERROR_NONE)

    // the attack: the withdrawn record, replayed by someone else, three times
    const attacker = await stockPeer()
    for (let i = 0; i < 3; i++) {
      const res = await directory(attacker, addr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes })
      expect(errorOf(res), res.message ?? '').toBe(E.DIRECTORY_ERROR_STALE_SEQUENCE)
      expect(res.message).toMatch(/unregistered by this key .* a replay/)
      expect(await resolve(attacker, addr, '@carol.aura')).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    }

    // the holder is served: a record it signs anew (a higher sequence) takes the name back
    const fresh = await createRecord(key, { name: '@carol.aura', sequence: record.sequence + 1 })
    expect(errorOf(await directory(holder, addr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: fresh.bytes }))).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await resolve(await stockPeer(), addr, '@carol.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await reserve(holder, addr)).toBe(HOP_STATUS.OK)
  })
})
