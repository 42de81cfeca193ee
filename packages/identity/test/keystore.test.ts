import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { keyStoreTests } from '../src/compliance.js'
import { generateIdentityKey } from '../src/index.js'
import { defaultKeyDir, fileKeyStore } from '../src/keystore.node.js'

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

describe('fileKeyStore lock()', () => {
  it('lock("@alice.aura") writes @alice.aura.lock holding this pid; release() removes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    try {
      const store = fileKeyStore({ dir })
      const lock = await store.lock!('@alice.aura')
      expect(await readFile(join(dir, '@alice.aura.lock'), 'utf8')).toBe(`${process.pid}\n`)
      expect(await readdir(dir)).toEqual(['@alice.aura.lock'])
      await lock.release()
      expect(await readdir(dir)).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('lock() held by another live process rejects with KeyInUseError naming its pid and the lock file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    try {
      await writeFile(join(dir, 'k.lock'), `${other.pid}\n`)
      const err = await fileKeyStore({ dir }).lock!('k').catch((e: Error) => e)
      expect(err).toMatchObject({ name: 'KeyInUseError', code: 'ERR_KEY_IN_USE', label: 'k' })
      expect((err as Error).message).toContain(`process ${other.pid}`)
      expect((err as Error).message).toContain(join(dir, 'k.lock'))
    } finally {
      other.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('lock() over a stale lock (its process has exited) takes it over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    try {
      const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
      await new Promise((resolve) => gone.once('exit', resolve))
      await writeFile(join(dir, 'k.lock'), `${gone.pid}\n`)
      const lock = await fileKeyStore({ dir }).lock!('k')
      expect(await readFile(join(dir, 'k.lock'), 'utf8')).toBe(`${process.pid}\n`)
      await lock.release()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('release() leaves a lock file that holds another pid alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    try {
      const lock = await fileKeyStore({ dir }).lock!('k')
      await writeFile(join(dir, 'k.lock'), '1\n')
      await lock.release()
      expect(await readdir(dir)).toEqual(['k.lock'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('defaultKeyDir()', () => {
  it('is $AURALINK_HOME/keys, or ~/.auralink/keys when AURALINK_HOME is unset or empty', () => {
    expect(defaultKeyDir({ AURALINK_HOME: '/srv/aura' })).toBe(join('/srv/aura', 'keys'))
    expect(defaultKeyDir({})).toBe(join(homedir(), '.auralink', 'keys'))
    expect(defaultKeyDir({ AURALINK_HOME: '' })).toBe(join(homedir(), '.auralink', 'keys'))
  })
})
