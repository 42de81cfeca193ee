import { mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { afterEach, describe, expect, it } from 'vitest'
import { DatastoreHealth, isDatastoreFault, openRelayDatastore } from '../src/datastore-health.js'
import { DataDirError, DatastoreDamagedError } from '../src/errors.js'
import type { RelayDatastore } from '../src/datastore-health.js'

const ENTRIES = 2000

describe('openRelayDatastore() and DatastoreHealth', () => {
  const dirs: string[] = []
  const open$: RelayDatastore[] = []
  afterEach(async () => {
    for (const ds of open$.splice(0)) await ds.close().catch(() => {})
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'auralink-dshealth-')); dirs.push(d); return join(d, 'datastore') }
  const opened = async (...args: Parameters<typeof openRelayDatastore>): ReturnType<typeof openRelayDatastore> => {
    const result = await openRelayDatastore(...args)
    open$.push(result.datastore)
    return result
  }
  const tables = async (location: string): Promise<string[]> => (await readdir(location)).filter((f) => f.endsWith('.ldb')).sort()
  /** ENTRIES entries of 1 KiB in a LevelDB table (written when LevelDB opens again). */
  const seeded = async (): Promise<string> => {
    const location = await tmp()
    const ds = new LevelDatastore(location)
    await ds.open()
    await ds.db.batch(Array.from({ length: ENTRIES }, (_, i) => ({ type: 'put' as const, key: `/k/${String(i).padStart(5, '0')}`, value: new Uint8Array(1024).fill(i % 251) })))
    await ds.close()
    await ds.open()
    await ds.close()
    if ((await tables(location)).length === 0) throw new Error(`LevelDB wrote no table in ${location}`)
    return location
  }
  const count = async (ds: RelayDatastore): Promise<number> => {
    let n = 0
    for await (const _ of ds.queryKeys({})) n++
    return n
  }
  const rejection = async (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('resolved') }, (err: unknown) => err as Error)

  it('openRelayDatastore(an absent folder) creates an empty store', async () => {
    const { datastore, repair } = await opened(await tmp())
    expect(repair).toBeUndefined()
    expect(await count(datastore)).toBe(0)
  })

  it('openRelayDatastore(a folder whose CURRENT is deleted) rejects with DatastoreDamagedError naming CURRENT and --repair, and deletes nothing', async () => {
    const location = await seeded()
    const before = await tables(location)
    await rm(join(location, 'CURRENT'))
    const err = await rejection(openRelayDatastore(location))
    expect(err).toBeInstanceOf(DatastoreDamagedError)
    expect(err.name).toBe('DatastoreDamagedError')
    expect(err.message).toContain(`the datastore ${location} is damaged: LevelDB's CURRENT file is missing`)
    expect(err.message).toMatch(/--repair/)
    expect(await tables(location)).toEqual(before)
    expect((await readdir(location)).includes('CURRENT')).toBe(false)
  })

  it('openRelayDatastore(a folder with a truncated table) rejects with DatastoreDamagedError naming the table; a table cut to 10 bytes too', async () => {
    for (const size of [10, 600_000]) {
      const location = await seeded()
      const [table] = await tables(location)
      await truncate(join(location, table!), size)
      const err = await rejection(openRelayDatastore(location))
      expect(err.name).toBe('DatastoreDamagedError')
      expect(err.message).toContain(`table ${table!} is truncated`)
      expect(err.message).not.toMatch(/another auralink-relay/)
    }
  })

  it('openRelayDatastore() of a folder another open holds rejects with DataDirError and the lock hint', async () => {
    const location = await seeded()
    await opened(location)
    const err = await rejection(openRelayDatastore(location))
    expect(err).toBeInstanceOf(DataDirError)
    expect(err.message).toContain(`cannot open the datastore ${location}`)
    expect(err.message).toContain('is another auralink-relay using this data dir?')
    // and --repair refuses too, leaving the open store alone
    const repairErr = await rejection(openRelayDatastore(location, { repair: true }))
    expect(repairErr.name).toBe('DataDirError')
  })

  it('openRelayDatastore(a folder whose CURRENT is deleted, { repair: true }) keeps every entry', async () => {
    const location = await seeded()
    await rm(join(location, 'CURRENT'))
    const { datastore, repair } = await opened(location, { repair: true })
    expect(repair?.entries).toBe(ENTRIES)
    expect(await count(datastore)).toBe(ENTRIES)
  })

  it('openRelayDatastore(a truncated table, { repair: true }) opens, keeps what LevelDB can read, and lists the table in lost', async () => {
    const location = await seeded()
    const [table] = await tables(location)
    await truncate(join(location, table!), 600_000)
    const { datastore, repair } = await opened(location, { repair: true })
    expect(repair?.lost).toContain(table)
    expect(await count(datastore)).toBe(repair?.entries)
  })

  it('garbage inside a table: openRelayDatastore() opens; the first read that hits it makes DatastoreHealth degraded with LevelDB\'s words, once; repair keeps the rest', async () => {
    const location = await seeded()
    const [table] = await tables(location)
    const file = join(location, table!)
    const fd = await open(file, 'r+')
    try { await fd.write(Buffer.alloc(8192, 0xab), 0, 8192, Math.floor((await stat(file)).size / 2)) } finally { await fd.close() }

    const health = new DatastoreHealth()
    const faults: Array<{ words: string, first: boolean }> = []
    health.onFault = (f) => { faults.push(f) }
    const { datastore } = await opened(location, { health })
    expect(health.degraded).toBe(false)
    for (let i = 0; i < 2; i++) {
      const err = await rejection(count(datastore))
      expect(isDatastoreFault(err)).toBe(true)
    }
    expect(health.degraded).toBe(true)
    expect(health.reason).toMatch(/^datastore error: Corruption: /)
    expect(health.reason).toMatch(/--repair/)
    expect(faults.map((f) => f.first)).toEqual([true, false])
    expect(health.faults).toBe(2)
    await datastore.close()

    const { datastore: repaired, repair } = await opened(location, { repair: true })
    expect(repair!.entries).toBeGreaterThan(ENTRIES / 2)
    expect(repair!.entries).toBeLessThan(ENTRIES)
    expect(await count(repaired)).toBe(repair!.entries)
  })

  it('isDatastoreFault() is false for a missing key and for an abort, true for LevelDB\'s corruption and I/O codes', async () => {
    const { datastore } = await opened(await tmp())
    const { Key } = await import('interface-datastore')
    const missing = await rejection(datastore.get(new Key('/nope')))
    expect(isDatastoreFault(missing)).toBe(false)
    expect(isDatastoreFault(new DOMException('aborted', 'AbortError'))).toBe(false)
    expect(isDatastoreFault(Object.assign(new Error('x'), { code: 'LEVEL_CORRUPTION' }))).toBe(true)
    expect(isDatastoreFault(new Error('Database failed', { cause: Object.assign(new Error('IO error: disk'), { code: 'LEVEL_IO_ERROR' }) }))).toBe(true)
    expect(datastore.health.degraded).toBe(false)
  })
})
