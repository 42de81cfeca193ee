import { spawn } from 'node:child_process'
import { mkdtemp, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRecord, generateIdentityKey } from '@auralink/identity'
import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

// Damage done to the relay's LevelDB folder the way an attacker with a foothold on the disk (or a
// bad disk, or a careless operator) does it: a deleted CURRENT, a truncated table, garbage inside
// a table. The relay under test is the real CLI as a child process; the peers are stock js-libp2p
// nodes built only from upstream @libp2p/* packages; loopback only; every wait is bounded.

const CLI = resolve(import.meta.dirname, '../../dist/cli.js')
const E = DirectoryError
/** Seeding only: a relay that takes 120 names from one key at once (the limits are not under test here). */
const SEED = { port: 0, httpPort: 0, directoryRateLimit: 100_000, directoryWriteLimit: 100_000, directoryMaxNamesPerKey: 1000 }
const EARLY = Array.from({ length: 100 }, (_, i) => `@seed-a-${100 + i}.aura`)
const LATE = Array.from({ length: 20 }, (_, i) => `@seed-b-${100 + i}.aura`)

interface Run { child: ChildProcess, out: () => string, exit: Promise<number | null> }

describe('a damaged datastore is detected, reported and repairable (auralink-relay child process)', () => {
  const runs: Run[] = []
  const nodes: Libp2p[] = []
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) { r.child.kill('SIGKILL'); await r.exit }
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  const cli = (args: string[]): Run => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d) => { out += String(d) })
    child.stderr!.on('data', (d) => { out += String(d) })
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
    const r = { child, out: () => out, exit }
    runs.push(r)
    return r
  }
  const relayArgs = (dir: string, ...more: string[]): string[] => ['--port', '0', '--http-port', '0', '--data-dir', dir, ...more]
  const waitFor = async (r: Run, re: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    const until = Date.now() + ms
    while (Date.now() < until) {
      const m = re.exec(r.out())
      if (m != null) return m
      if (r.child.exitCode !== null) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`no ${re} in output:\n${r.out()}`)
  }
  const exitWithin = async (r: Run, ms: number): Promise<number | null> =>
    Promise.race([r.exit, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`did not exit within ${ms} ms:\n${r.out()}`)) }, ms))])
  const stopRun = async (r: Run): Promise<void> => {
    r.child.kill('SIGTERM')
    expect(await exitWithin(r, 15_000)).toBe(0)
  }
  const errorLines = (r: Run): Array<{ msg: string, reason?: string }> => r.out().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number, msg: string, reason?: string }).filter((l) => l.level >= 50)

  const peer = async (): Promise<Libp2p> => {
    const node = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  /** One directory request on a new stream: the response's error code (NONE when it answered the request). */
  const ask = async (node: Libp2p, relayAddr: string, request: Parameters<typeof encodeDirectoryRequest>[0]): Promise<number> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), DIRECTORY_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest(request), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return response.error ?? E.DIRECTORY_ERROR_NONE
  }
  const register = async (node: Libp2p, relayAddr: string, key: Awaited<ReturnType<typeof generateIdentityKey>>, name: string): Promise<number> =>
    ask(node, relayAddr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: (await createRecord(key, { name })).bytes })
  const resolveName = async (node: Libp2p, relayAddr: string, name: string): Promise<number> =>
    ask(node, relayAddr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })
  /** How many of `names` the relay answers (RESOLVE with no error). */
  const resolvable = async (relayAddr: string, names: string[]): Promise<number> => {
    const node = await peer()
    let n = 0
    for (const name of names) if (await resolveName(node, relayAddr, name) === E.DIRECTORY_ERROR_NONE) n++
    return n
  }
  /** A legitimate peer, with a key of its own, registers a new name and resolves it while the relay runs. */
  const legitimatePeerIsServed = async (relayAddr: string, name: string): Promise<void> => {
    const node = await peer()
    expect(await register(node, relayAddr, await generateIdentityKey(), name)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await resolveName(node, relayAddr, name)).toBe(E.DIRECTORY_ERROR_NONE)
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
    const dir = await mkdtemp(join(tmpdir(), 'auralink-adv-datastore-'))
    dirs.push(dir)
    const store = join(dir, 'datastore')
    const key = await generateIdentityKey()
    let peerId = ''
    const registerAll = async (names: string[]): Promise<void> => {
      const relay = await createRelayNode({ ...SEED, dataDir: dir, logger: pino({ level: 'silent' }) })
      peerId = relay.libp2p.peerId.toString()
      try {
        await relay.start()
        const node = await peer()
        for (const name of names) expect(await register(node, relay.multiaddrs[0]!, key, name), name).toBe(E.DIRECTORY_ERROR_NONE)
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

  it('auralink-relay with CURRENT deleted exits 2 naming CURRENT and --repair, deletes no table; --repair starts with every name back and says how many', async () => {
    const { dir, store, peerId } = await seed()
    const before = await tables(store)
    await rm(join(store, 'CURRENT'))

    const damaged = cli(relayArgs(dir))
    expect(await exitWithin(damaged, 20_000)).toBe(2)
    expect(damaged.out()).toMatch(/CURRENT/)
    expect(damaged.out()).toMatch(/--repair/)
    expect(damaged.out()).toMatch(/backup/)
    expect(damaged.out()).not.toMatch(/listening/)
    expect(damaged.out()).not.toMatch(/\n\s+at /) // no stack trace
    // nothing was started empty over the old data: the tables are all still there
    expect(await tables(store)).toEqual(before)
    // a second start does the same (a supervisor's restart does no harm)
    const again = cli(relayArgs(dir))
    expect(await exitWithin(again, 20_000)).toBe(2)
    expect(await tables(store)).toEqual(before)

    const repaired = cli(relayArgs(dir, '--repair'))
    const [, addr] = await waitFor(repaired, /auralink-relay listening (\S+)/)
    const [, kept] = await waitFor(repaired, /repaired the datastore [^\n]*?: kept (\d+) names/)
    expect(Number(kept)).toBe(EARLY.length + LATE.length)
    expect(repaired.out()).toMatch(/"msg":"datastore repaired"/)
    expect(await resolvable(addr!, [...EARLY, ...LATE])).toBe(EARLY.length + LATE.length)
    await legitimatePeerIsServed(addr!, '@legit-a.aura')
    // the relay key was not touched: the same peer id as before the damage
    expect(addr).toMatch(new RegExp(`/p2p/${peerId}$`))
    await stopRun(repaired)
  })

  it('auralink-relay with a truncated table exits 2 with a corruption message and no lock hint; --repair salvages what is readable and starts', async () => {
    const { dir, store } = await seed()
    const table = await namesTable(store)
    await truncate(table, Math.floor((await stat(table)).size / 2))

    const damaged = cli(relayArgs(dir))
    expect(await exitWithin(damaged, 20_000)).toBe(2)
    const file = table.split('/').at(-1)!
    expect(damaged.out()).toContain(file)
    expect(damaged.out()).toMatch(/truncated|corrupt/i)
    expect(damaged.out()).toMatch(/--repair/)
    expect(damaged.out()).not.toMatch(/another auralink-relay/)
    expect(damaged.out()).not.toMatch(/\n\s+at /)

    const repaired = cli(relayArgs(dir, '--repair'))
    const [, addr] = await waitFor(repaired, /auralink-relay listening (\S+)/)
    const [, kept] = await waitFor(repaired, /repaired the datastore [^\n]*?: kept (\d+) names/)
    // the names only in LevelDB's log survive; what the truncated table held is lost (its footer and index are gone)
    expect(await resolvable(addr!, LATE)).toBe(LATE.length)
    expect(await resolvable(addr!, [...EARLY, ...LATE])).toBe(Number(kept))
    expect(Number(kept)).toBeGreaterThanOrEqual(LATE.length)
    await legitimatePeerIsServed(addr!, '@legit-b.aura')
    const url = (await waitFor(repaired, /auralink-relay http (\S+)/))[1]!
    expect(await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()).toMatchObject({ status: 'ok' })
    await stopRun(repaired)
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

    const r = cli(relayArgs(dir))
    const [, addr] = await waitFor(r, /auralink-relay listening (\S+)/)
    const [, url] = await waitFor(r, /auralink-relay http (\S+)/)
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
    await stopRun(r)

    const repaired = cli(relayArgs(dir, '--repair'))
    const [, addr2] = await waitFor(repaired, /auralink-relay listening (\S+)/)
    const [, kept] = await waitFor(repaired, /repaired the datastore [^\n]*?: kept (\d+) names/)
    const [, url2] = await waitFor(repaired, /auralink-relay http (\S+)/)
    expect(await (await fetch(`${url2}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()).toMatchObject({ status: 'ok', names: Number(kept) })
    expect(await resolvable(addr2!, ['@legit-c.aura', '@legit-d.aura', ...LATE])).toBe(LATE.length + 2)
    await stopRun(repaired)
  })
})
