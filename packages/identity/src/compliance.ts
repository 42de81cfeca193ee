import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import { generateIdentityKey, peerIdOf } from './keys.js'
import type { KeyStore } from './keystore.js'

/** How `keyStoreTests` makes and disposes of a store for each test. */
export interface KeyStoreSuite {
  /** Returns a new, empty store. */
  setup(): Promise<KeyStore>
  /** Closes the store and removes what it wrote. */
  teardown(store: KeyStore): Promise<void>
}

/**
 * The compliance suite every KeyStore implementation runs (file store in Node, IndexedDB in
 * browsers). Call it inside a vitest file: `keyStoreTests('fileKeyStore', { setup, teardown })`.
 */
export function keyStoreTests (name: string, suite: KeyStoreSuite): void {
  describe(`KeyStore compliance: ${name}`, () => {
    let store: KeyStore

    beforeEach(async () => { store = await suite.setup() })
    afterEach(async () => { await suite.teardown(store) })

    it('get() of a label never put resolves undefined', async () => {
      expect(await store.get('nobody')).toBeUndefined()
    })

    it('put() then get() gives back a key with the same PeerId that signs the same', async () => {
      const key = await generateIdentityKey()
      await store.put('@alice.aura', key)
      const back = await store.get('@alice.aura')
      expect(back).toBeDefined()
      expect(peerIdOf(back!).equals(peerIdOf(key))).toBe(true)
      const msg = new TextEncoder().encode('hello')
      expect(await key.publicKey.verify(msg, await back!.sign(msg))).toBe(true)
    })

    it('put() on an existing label replaces the key', async () => {
      const a = await generateIdentityKey()
      const b = await generateIdentityKey()
      await store.put('default', a)
      await store.put('default', b)
      expect(peerIdOf((await store.get('default'))!).equals(peerIdOf(b))).toBe(true)
    })

    it('list() returns every label sorted; delete() removes one and says whether it was there', async () => {
      await store.put('b-key', await generateIdentityKey())
      await store.put('a-key', await generateIdentityKey())
      expect(await store.list()).toEqual(['a-key', 'b-key'])
      expect(await store.delete('a-key')).toBe(true)
      expect(await store.delete('a-key')).toBe(false)
      expect(await store.list()).toEqual(['b-key'])
      expect(await store.get('a-key')).toBeUndefined()
    })

    it('put() and get() refuse a label with a path separator or nothing in it, naming it', async () => {
      const key = await generateIdentityKey()
      for (const label of ['../evil', 'a/b', '', '..', 'x'.repeat(65)]) {
        await expect(store.put(label, key)).rejects.toThrow(TypeError)
        await expect(store.get(label)).rejects.toThrow(/key label/)
      }
    })

    it('put() refuses something that is not an Ed25519 private key', async () => {
      await expect(store.put('bad', { type: 'RSA' } as never)).rejects.toThrow(/Ed25519/)
      // an Ed25519 public key has the same `type`: it must not be stored as if it were private
      const key = await generateIdentityKey()
      await expect(store.put('bad', key.publicKey as never)).rejects.toThrow(/public key/)
      expect(await store.get('bad')).toBeUndefined()
    })

    it('lock(label) while it is held rejects with KeyInUseError naming the label; after release() it can be taken again', async () => {
      if (store.lock === undefined) return
      const held = await store.lock('@alice.aura')
      await expect(store.lock('@alice.aura')).rejects.toThrow(expect.objectContaining({ name: 'KeyInUseError', code: 'ERR_KEY_IN_USE', label: '@alice.aura', message: expect.stringContaining('keyLabel') }))
      // another label is another lock, and a lock leaves the key list alone
      const other = await store.lock('@bob.aura')
      expect(await store.list()).toEqual([])
      await held.release()
      await held.release()
      const again = await store.lock('@alice.aura')
      await again.release()
      await other.release()
    })

    it('lock() refuses a bad label with a TypeError naming it', async () => {
      if (store.lock === undefined) return
      await expect(store.lock('../evil')).rejects.toThrow(/key label/)
    })

    it('calls after close() reject with InvalidStateError', async () => {
      await store.close()
      await store.close()
      await expect(store.get('x')).rejects.toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
    })
  })
}
