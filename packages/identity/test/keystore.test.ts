import { mkdtemp, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { keyStoreTests } from '../src/compliance.js'
import { generateIdentityKey } from '../src/index.js'
import { fileKeyStore } from '../src/keystore.node.js'

const dirs = new Map<object, string>()

keyStoreTests('fileKeyStore', {
  async setup () {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    const store = fileKeyStore({ dir: join(dir, 'keys') })
    dirs.set(store, dir)
    return store
  },
  async teardown (store) {
    await store.close()
    await rm(dirs.get(store)!, { recursive: true, force: true })
  }
})

describe('fileKeyStore', () => {
  it('put() writes the key file with mode 0600 in a 0700 folder, and no temporary file stays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    try {
      const store = fileKeyStore({ dir: join(dir, 'keys') })
      await store.put('@alice.aura', await generateIdentityKey())
      expect((await stat(join(dir, 'keys', '@alice.aura.key'))).mode & 0o777).toBe(0o600)
      expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700)
      expect(await readdir(join(dir, 'keys'))).toEqual(['@alice.aura.key'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('get() of a corrupt key file rejects with CorruptKeyError naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    try {
      const store = fileKeyStore({ dir })
      await writeFile(join(dir, 'broken.key'), 'not a key')
      await expect(store.get('broken')).rejects.toThrow(expect.objectContaining({ name: 'CorruptKeyError', message: expect.stringContaining('broken.key') }))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('fileKeyStore() without a dir throws TypeError naming dir', () => {
    expect(() => fileKeyStore({ dir: '' })).toThrow(/dir must be a folder path/)
  })
})
