// Runs in headless Chromium (vitest browser mode), not in Node: see ../vitest.browser.config.ts.
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { deleteDB, openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { keyStoreTests } from '../src/compliance.js'
import { exportPrivateKey, generateIdentityKey, peerIdOf } from '../src/index.js'
import { idbKeyStore } from '../src/keystore.browser.js'
import type { KeyStore } from '../src/keystore.browser.js'

const names = new Map<object, string>()

const freshName = (): string => `auralink-test-${crypto.randomUUID()}`

keyStoreTests('idbKeyStore', {
  async setup () {
    const dbName = freshName()
    const store = idbKeyStore({ dbName })
    names.set(store, dbName)
    return store
  },
  async teardown (store) {
    await store.close()
    await deleteDB(names.get(store)!)
  }
})

/** Runs `fn` with a store on a database of its own, then closes the store and deletes the database. */
async function withStore (fn: (store: KeyStore, dbName: string) => Promise<void>): Promise<void> {
  const dbName = freshName()
  const store = idbKeyStore({ dbName })
  try {
    await fn(store, dbName)
  } finally {
    await store.close()
    await deleteDB(dbName)
  }
}

/** Writes `value` under `label` straight into the store's object store, as other code in the origin could. */
async function writeRaw (dbName: string, label: IDBValidKey, value: unknown): Promise<void> {
  const db = await openDB(dbName)
  try {
    await db.put('keys', value, label)
  } finally {
    db.close()
  }
}

async function readRaw (dbName: string, label: string): Promise<unknown> {
  const db = await openDB(dbName)
  try {
    return await db.get('keys', label)
  } finally {
    db.close()
  }
}

const corrupt = (label: string): unknown => expect.objectContaining({
  name: 'CorruptKeyError',
  message: expect.stringContaining(`key "${label}"`)
})

describe('idbKeyStore', () => {
  it('put() stores the protobuf bytes exportPrivateKey() gives (the file store\'s format) under the label', async () => {
    await withStore(async (store, dbName) => {
      const key = await generateIdentityKey()
      await store.put('@alice.aura', key)
      const raw = await readRaw(dbName, '@alice.aura')
      expect(raw).toBeInstanceOf(Uint8Array)
      expect(raw).toEqual(exportPrivateKey(key))
    })
  })

  it('get() of an entry that is not bytes (string, number, null, object, ArrayBuffer) rejects with CorruptKeyError naming the label', async () => {
    await withStore(async (store, dbName) => {
      const key = await generateIdentityKey()
      const entries: Array<[string, unknown]> = [
        ['a-string', 'not a key'],
        ['a-number', 42],
        ['a-null', null],
        ['an-object', { type: 'Ed25519', raw: exportPrivateKey(key) }],
        ['an-arraybuffer', exportPrivateKey(key).slice().buffer]
      ]
      for (const [label, value] of entries) {
        await store.list() // opens the database, so that writeRaw finds the object store
        await writeRaw(dbName, label, value)
        await expect(store.get(label)).rejects.toThrow(corrupt(label))
      }
    })
  })

  it('get() of bytes that are not an Ed25519 key (garbage, empty, truncated, oversized, secp256k1) rejects with CorruptKeyError naming the label', async () => {
    await withStore(async (store, dbName) => {
      const good = exportPrivateKey(await generateIdentityKey())
      const big = new Uint8Array(1024 * 1024)
      crypto.getRandomValues(big.subarray(0, 65536))
      const entries: Array<[string, Uint8Array]> = [
        ['garbage', new TextEncoder().encode('not a key')],
        ['empty', new Uint8Array(0)],
        ['truncated', good.slice(0, good.length - 10)],
        ['oversized', big],
        ['secp256k1', privateKeyToProtobuf(await generateKeyPair('secp256k1'))]
      ]
      await store.list()
      for (const [label, value] of entries) {
        await writeRaw(dbName, label, value)
        await expect(store.get(label)).rejects.toThrow(corrupt(label))
      }
    })
  })

  it('a corrupt entry does not stop list(), delete() or put() on its label', async () => {
    await withStore(async (store, dbName) => {
      await store.list()
      await writeRaw(dbName, 'broken', 'not a key')
      expect(await store.list()).toEqual(['broken'])
      const key = await generateIdentityKey()
      await store.put('broken', key)
      expect(peerIdOf((await store.get('broken'))!).equals(peerIdOf(key))).toBe(true)
      expect(await store.delete('broken')).toBe(true)
      expect(await store.list()).toEqual([])
    })
  })

  it('list() leaves out entries whose key is not a string (no label can name them)', async () => {
    await withStore(async (store, dbName) => {
      await store.put('real', await generateIdentityKey())
      await writeRaw(dbName, 7, 'written by someone else')
      expect(await store.list()).toEqual(['real'])
    })
  })

  it('delete() and put() refuse a bad label, naming it', async () => {
    await withStore(async (store) => {
      const key = await generateIdentityKey()
      for (const label of ['../evil', 'a/b', '', 'x'.repeat(65), 42 as unknown as string]) {
        await expect(store.delete(label)).rejects.toThrow(TypeError)
        await expect(store.put(label, key)).rejects.toThrow(/key label/)
      }
    })
  })

  it('put() refuses undefined and a public key in place of a private key', async () => {
    await withStore(async (store) => {
      const key = await generateIdentityKey()
      await expect(store.put('x', undefined as never)).rejects.toThrow(/Ed25519 private key, got undefined/)
      await expect(store.put('x', key.publicKey as never)).rejects.toThrow(/Ed25519 private key, got an Ed25519 public key/)
      expect(await store.list()).toEqual([])
    })
  })

  it('keys put() by one store are read by another store on the same dbName, and not by one on another dbName', async () => {
    await withStore(async (store, dbName) => {
      const key = await generateIdentityKey()
      await store.put('@alice.aura', key)
      await store.close()
      const again = idbKeyStore({ dbName })
      try {
        expect(peerIdOf((await again.get('@alice.aura'))!).equals(peerIdOf(key))).toBe(true)
      } finally {
        await again.close()
      }
      await withStore(async (other) => {
        expect(await other.list()).toEqual([])
      })
    })
  })

  it('put(), delete() and list() after close() reject with InvalidStateError', async () => {
    await withStore(async (store) => {
      const key = await generateIdentityKey()
      await store.put('a', key)
      await store.close()
      const closed = expect.objectContaining({ name: 'InvalidStateError' })
      await expect(store.put('a', key)).rejects.toThrow(closed)
      await expect(store.delete('a')).rejects.toThrow(closed)
      await expect(store.list()).rejects.toThrow(closed)
    })
  })

  it('close() before any call is idempotent and later calls reject with InvalidStateError', async () => {
    const store = idbKeyStore({ dbName: freshName() })
    await store.close()
    await store.close()
    await expect(store.list()).rejects.toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
  })

  it('get(), put(), delete() and list() with an aborted signal reject with its reason and change nothing', async () => {
    await withStore(async (store) => {
      const key = await generateIdentityKey()
      await store.put('kept', key)
      const reason = new Error('stop')
      const signal = AbortSignal.abort(reason)
      await expect(store.get('kept', { signal })).rejects.toBe(reason)
      await expect(store.put('new', key, { signal })).rejects.toBe(reason)
      await expect(store.delete('kept', { signal })).rejects.toBe(reason)
      await expect(store.list({ signal })).rejects.toBe(reason)
      expect(await store.list()).toEqual(['kept'])
    })
  })

  it('put() aborted at any point either stores the whole key and resolves, or stores nothing and rejects with the reason', async () => {
    await withStore(async (store) => {
      const key = await generateIdentityKey()
      await store.list()
      const outcomes = new Set<string>()
      for (let ticks = 0; ticks < 40; ticks++) {
        const label = `k${ticks}`
        const controller = new AbortController()
        const reason = new Error(`stop after ${ticks}`)
        const put = store.put(label, key, { signal: controller.signal }).then(() => 'stored', (err: unknown) => err)
        if (ticks < 30) {
          for (let i = 0; i < ticks; i++) await Promise.resolve()
        } else {
          await new Promise((resolve) => setTimeout(resolve, ticks - 30))
        }
        controller.abort(reason)
        const outcome = await put
        const back = await store.get(label)
        if (outcome === 'stored') {
          expect(peerIdOf(back!).equals(peerIdOf(key))).toBe(true)
        } else {
          expect(outcome).toBe(reason)
          expect(back).toBeUndefined()
        }
        outcomes.add(outcome === 'stored' ? 'stored' : 'aborted')
      }
      expect(outcomes.has('aborted')).toBe(true)
    })
  })

  it('another connection deleting the database is not blocked by an open store, which reopens it empty', async () => {
    await withStore(async (store, dbName) => {
      await store.put('a', await generateIdentityKey())
      let blocked = false
      await deleteDB(dbName, { blocked () { blocked = true } })
      expect(blocked).toBe(false)
      expect(await store.list()).toEqual([])
    })
  })

  it('idbKeyStore() with an empty or non-string dbName throws TypeError naming dbName', () => {
    expect(() => idbKeyStore({ dbName: '' })).toThrow(/dbName must be a non-empty string, got ""/)
    expect(() => idbKeyStore({ dbName: 5 as unknown as string })).toThrow(/dbName must be a non-empty string, got 5/)
  })

  it('idbKeyStore() without init uses the database "auralink-keys"', async () => {
    const store = idbKeyStore()
    try {
      await store.list()
      expect((await indexedDB.databases()).map((d) => d.name)).toContain('auralink-keys')
    } finally {
      await store.close()
      await deleteDB('auralink-keys')
    }
  })
})
