import { createRecord, generateIdentityKey } from '@auralink/identity'
import { decodeAuraIdRecord, decodeSignedAuraIdRecord, DirectoryError, DirectoryOp } from '@auralink/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, directory, HOP_STATUS, metric, reserve, startRelay, stockPeer } from './harness.js'
import type { Ed25519PrivateKey } from '@auralink/identity'
import type { DirectoryResponseFields } from '@auralink/protocol'
import type { Libp2p } from '@libp2p/interface'

// Issue 13 item 7: look-alikes of a held name. The relay is a real relay node with default
// settings, in this process; the attacker is a stock js-libp2p node built only from upstream
// @libp2p/* packages, speaking the directory protocol over a raw length-prefixed stream (the
// protobuf bytes come from @auralink/protocol's encoders: that is the wire format). Loopback only;
// every wait is bounded.

const E = DirectoryError

/** REGISTER of `name` under `key` (a fresh one if none): the whole response, its message included. */
const register = async (node: Libp2p, addr: string, name: string, key?: Ed25519PrivateKey): Promise<DirectoryResponseFields> =>
  directory(node, addr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: (await createRecord(key ?? await generateIdentityKey(), { name })).bytes })
const resolveName = async (node: Libp2p, addr: string, name: string): Promise<DirectoryResponseFields> =>
  directory(node, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })
/** The name in a RESOLVE response's first record. */
const resolvedName = (res: DirectoryResponseFields): string | undefined => {
  const bytes = res.records?.[0]
  return bytes === undefined ? undefined : decodeAuraIdRecord(decodeSignedAuraIdRecord(bytes).payload).name
}

describe('look-alikes of a held name (stock js-libp2p attacker against a default relay)', () => {
  afterEach(cleanup)

  it('REGISTER of @alic3, @a-lice, @a_lice, @al1ce, @b8b, @b0b, @rnary beside held names answers NAME_TAKEN naming the held name; the holder still registers, resolves and reserves', async () => {
    const { relay, addr } = await startRelay()

    const legit = await stockPeer()
    const legitKey = await generateIdentityKey()
    for (const name of ['@alice.aura', '@bob.aura', '@mary.aura']) {
      const res = await register(legit, addr, name, legitKey)
      expect(res.error, `${name}: ${res.message ?? ''}`).toBe(E.DIRECTORY_ERROR_NONE)
    }

    // the attack: look-alikes of the held names, each under a fresh key (so the per-key quota is not what stops it)
    const attacker = await stockPeer()
    const attempts: Array<[string, string]> = [
      ['@alic3.aura', '@alice.aura'], ['@a-lice.aura', '@alice.aura'], ['@a_lice.aura', '@alice.aura'], ['@al1ce.aura', '@alice.aura'],
      ['@b8b.aura', '@bob.aura'], ['@b0b.aura', '@bob.aura'], ['@rnary.aura', '@mary.aura']
    ]
    for (const [lookAlike, held] of attempts) {
      const res = await register(attacker, addr, lookAlike)
      expect(res.error, `${lookAlike}: ${res.message ?? ''}`).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
      expect(res.message).toBe(`${lookAlike} looks like ${held}, which another key holds`)
      expect((await resolveName(attacker, addr, lookAlike)).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    }

    // the legitimate peer is served: registers another name, and both its names resolve (from a third peer too)
    expect((await register(legit, addr, '@carol.aura', legitKey)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const other = await stockPeer()
    for (const name of ['@alice.aura', '@carol.aura']) {
      const res = await resolveName(other, addr, name)
      expect(res.error, res.message ?? '').toBe(E.DIRECTORY_ERROR_NONE)
      expect(resolvedName(res)).toBe(name)
    }
    expect(await reserve(legit, addr)).toBe(HOP_STATUS.OK)

    expect(await metric(relay, 'auralink_directory_operations_total', { op: 'register', outcome: 'name_taken' }, { inProcess: true })).toBe(attempts.length)
    expect(await relay.libp2p.services.directory.size()).toBe(4)
  })
})
