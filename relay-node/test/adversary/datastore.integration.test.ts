import { open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { generateIdentityKey } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { LevelDatastore } from 'datastore-level'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, register, resolve, startCli, startRelay, stockPeer, tempDir } from './harness.js'
import type { CliRun } from './harness.js'

// Damage done to the relay's LevelDB folder the way an attacker with a foothold on the disk (or a
// bad disk, or a careless operator) does it: a deleted CURRENT, a truncated table, garbage inside
// a table. The relay under test is the real CLI as a child process; the peers are stock js-libp2p
// nodes built only from upstream @libp2p/* packages; loopback only; every wait is bounded.

const E = DirectoryError
/** Seeding only: a relay that takes 120 names from one key at once (the limits are not under test here). */
const SEED = { port: 0, httpPort: 0, directoryRateLimit: 100_000, directoryWriteLimit: 100_000, directoryMaxNamesPerKey: 1000 }
const EARLY = Array.from({ length: 100 }, (_, i) => `@seed-a-${100 + i}.aura`)
const LATE = Array.from({ length: 20 }, (_, i) => `@seed-b-${100 + i}.aura`)

const relayArgs = (dir: string, ...more: string[]): string[] => ['--port', '0', '--http-port', '0', '--data-dir', dir, ...more]
const errorLines = (r: CliRun): Array<{ msg: string, reason?: string }> => r.out().split('\n').filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l) as { level: number, msg: string, reason?: string }).filter((l) => l.level >= 50)

/** How many of `names` the relay answers (RESOLVE with no error). */
const resolvable = async (relayAddr: string, names: string[]): Promise<number> => {
  const node = await stockPeer()
  let n = 0
  for (const name of names) if (await resolve(node, relayAddr, name) === E.DIRECTORY_ERROR_NONE) n++
  return n
}
/** A legitimate peer, with a key of its own, registers a new name and resolves it while the relay runs. */
const legitimatePeerIsServed = async (relayAddr: string, name: string): Promise<void> => {
  const node = await stockPeer()
  expect(await register(node, relayAddr, await generateIdentityKey(), name)).toBe(E.DIRECTORY_ERROR_NONE)
  expect(await resolve(node, relayAddr, name)).toBe(E.DIRECTORY_ERROR_NONE)
}

const tables = async (store: string): Promise<string[]> => (await readdir(store)).filter((f) => f.endsWith('.ldb')).sort()
/** The table file that holds the early names (LevelDB wrote it when it next opened after they were registered). */
const namesTable = async (store: string): Promise<string> => {
  for (const f of await tables(store)) if ((await readFile(join(store, f))).includes('name/@seed-a-')) return join(store, f)
  throw new Error(`no .ldb table in ${store} holds the seeded names (files: ${String(await readdir(store))}): the damage tests would test nothing`)
}

/**
 * A data dir with 120 names: EARLY in a LevelDB table (.ldb), then a ~2 MiB table of filler, and
 * LATE only in LevelDB's log (registered after the last open). Fails loudly if LevelDB wrote no table.
 */
const seed = async (): Promise<{ dir: string, store: string, peerId: string }> => {
  const dir = await tempDir('auralink-adv-datastore-')
  const store = join(dir, 'datastore')
  const key = await generateIdentityKey()
  let peerId = ''
  const registerAll = async (names: string[]): Promise<void> => {
    const { relay, addr, id } = await startRelay({ ...SEED, dataDir: dir })
    peerId = id
    try {
      const node = await stockPeer()
      for (const name of names) expect(await register(node, addr, key, name), name).toBe(E.DIRECTORY_ERROR_NONE)
      expect(await relay.libp2p.services.directory.size()).toBeGreaterThanOrEqual(names.length)
    } finally {
      await relay.stop()
    }
  }
  await registerAll(EARLY)
  // ~2 MiB that sorts after the directory's keys, then close and open again: LevelDB turns its
  // log into a table file on open
  const filler = new LevelDatastore(store)
  await filler.open()
  await filler.db.batch(Array.from({ length: 2048 }, (_, i) => ({ type: 'put' as const, key: `/test-filler/${String(i).padStart(5, '0')}`, value: new Uint8Array(1024).fill(i % 251) })))
  await filler.close()
  await filler.open()
  await filler.close()
  const written = await Promise.all((await tables(store)).map(async (f) => (await stat(join(store, f))).size))
  if (written.length < 2) throw new Error(`LevelDB wrote ${written.length} .ldb tables in ${store} (files: ${String(await readdir(store))}): the damage tests would test nothing`)
  expect(Math.max(...written)).toBeGreaterThan(1_000_000)
  await namesTable(store)
  await registerAll(LATE)
  return { dir, store, peerId }
}

describe('a damaged datastore is detected, reported and repairable (auralink-relay child process)', () => {
  afterEach(cleanup)

  it('auralink-relay with CURRENT deleted exits 2 naming CURRENT and --repair, deletes no table; --repair starts with every name back and says how many', async () => {
    const { dir, store, peerId } = await seed()
    const before = await tables(store)
    await rm(join(store, 'CURRENT'))

    const damaged = startCli(relayArgs(dir))
    expect(await damaged.exitWithin(20_000)).toBe(2)
    expect(damaged.out()).toMatch(/CURRENT/)
    expect(damaged.out()).toMatch(/--repair/)
    expect(damaged.out()).toMatch(/backup/)
    expect(damaged.out()).not.toMatch(/listening/)
    expect(damaged.out()).not.toMatch(/\n\s+at /) // no stack trace
    // nothing was started empty over the old data: the tables are all still there
    expect(await tables(store)).toEqual(before)
    // a second start does the same (a supervisor's restart does no harm)
    const again = startCli(relayArgs(dir))
    expect(await again.exitWithin(20_000)).toBe(2)
    expect(await tables(store)).toEqual(before)

    const repaired = startCli(relayArgs(dir, '--repair'))
    const [, addr] = await repaired.waitFor(/auralink-relay listening (\S+)/)
    const [, kept] = await repaired.waitFor(/repaired the datastore [^\n]*?: kept (\d+) names/)
    expect(Number(kept)).toBe(EARLY.length + LATE.length)
    expect(repaired.out()).toMatch(/"msg":"datastore repaired"/)
    expect(await resolvable(addr!, [...EARLY, ...LATE])).toBe(EARLY.length + LATE.length)
    await legitimatePeerIsServed(addr!, '@legit-a.aura')
    // the relay key was not touched: the same peer id as before the damage
    expect(addr).toMatch(new RegExp(`/p2p/${peerId}$`))
    expect(await repaired.stop()).toBe(0)
  })

  it('auralink-relay with a truncated table exits 2 with a corruption message and no lock hint; --repair salvages what is readable and starts', async () => {
    const { dir, store } = await seed()
    const table = await namesTable(store)
    await truncate(table, Math.floor((await stat(table)).size / 2))

    const damaged = startCli(relayArgs(dir))
    expect(await damaged.exitWithin(20_000)).toBe(2)
    const file = table.split('/').at(-1)!
    expect(damaged.out()).toContain(file)
    expect(damaged.out()).toMatch(/truncated|corrupt/i)
    expect(damaged.out()).toMatch(/--repair/)
    expect(damaged.out()).not.toMatch(/another auralink-relay/)
    expect(damaged.out()).not.toMatch(/\n\s+at /)

    const repaired = startCli(relayArgs(dir, '--repair'))
    const [, addr] = await repaired.waitFor(/auralink-relay listening (\S+)/)
    const [, kept] = await repaired.waitFor(/repaired the datastore [^\n]*?: kept (\d+) names/)
    // the names only in LevelDB's log survive; what the truncated table held is lost (its footer and index are gone)
    expect(await resolvable(addr!, LATE)).toBe(LATE.length)
    expect(await resolvable(addr!, [...EARLY, ...LATE])).toBe(Number(kept))
    expect(Number(kept)).toBeGreaterThanOrEqual(LATE.length)
    await legitimatePeerIsServed(addr!, '@legit-b.aura')
    const url = (await repaired.waitFor(/auralink-relay http (\S+)/))[1]!
    expect(await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()).toMatchObject({ status: 'ok' })
    expect(await repaired.stop()).toBe(0)
  })

  it('auralink-relay with garbage inside a table starts; once a read hits it /healthz says degraded with the reason, /metrics answers 200 with auralink_relay_degraded 1, one error line; --repair clears it', async () => {
    const { dir, store } = await seed()
    const table = await namesTable(store)
    // garbage over the names region, past the block that holds the layout key (which every start reads)
    const bytes = await readFile(table)
    const at = (s: string): number => bytes.indexOf(Buffer.from(s))
    const start = Math.max(at('meta/layout'), at('name/@')) + 4400
    const end = start + 4400
    if (at('name/@') < 0 || at('public/@') < end) throw new Error(`names region of ${table} too small for the test: ${at('name/@')}..${at('public/@')}`)
    const fd = await open(table, 'r+')
    try { await fd.write(Buffer.alloc(end - start, 0xab), 0, end - start, start) } finally { await fd.close() }

    const r = startCli(relayArgs(dir))
    const [, addr] = await r.waitFor(/auralink-relay listening (\S+)/)
    const [, url] = await r.waitFor(/auralink-relay http (\S+)/)
    // legitimate peers are served while it runs
    await legitimatePeerIsServed(addr!, '@legit-c.aura')
    // /healthz counts the names: that read hits the garbage
    let body: { status?: string, reason?: string } = {}
    const until = Date.now() + 20_000
    while (body.status !== 'degraded' && Date.now() < until) {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })
      expect(res.status).toBe(200)
      body = await res.json() as typeof body
      if (body.status !== 'degraded') await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(body.status).toBe('degraded')
    expect(body.reason).toMatch(/Corruption/)
    expect(body.reason).toMatch(/--repair/)
    for (let i = 0; i < 3; i++) {
      const metrics = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
      expect(metrics.status).toBe(200)
      const text = await metrics.text()
      expect(text).toMatch(/^auralink_relay_degraded 1$/m)
      expect(Number(/^auralink_errors_total\{kind="datastore"\} (\d+)$/m.exec(text)?.[1] ?? 0)).toBeGreaterThanOrEqual(1)
      expect(text).toMatch(/^auralink_relay_connections \d+$/m) // the other sources still answer
      expect((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200)
    }
    await legitimatePeerIsServed(addr!, '@legit-d.aura')
    // one error line when it turned degraded, not one per request
    expect(errorLines(r).map((l) => l.msg)).toEqual(['datastore damaged: degraded'])
    expect(await r.stop()).toBe(0)

    const repaired = startCli(relayArgs(dir, '--repair'))
    const [, addr2] = await repaired.waitFor(/auralink-relay listening (\S+)/)
    const [, kept] = await repaired.waitFor(/repaired the datastore [^\n]*?: kept (\d+) names/)
    const [, url2] = await repaired.waitFor(/auralink-relay http (\S+)/)
    expect(await (await fetch(`${url2}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()).toMatchObject({ status: 'ok', names: Number(kept) })
    expect(await resolvable(addr2!, ['@legit-c.aura', '@legit-d.aura', ...LATE])).toBe(LATE.length + 2)
    expect(await repaired.stop()).toBe(0)
  })
})
