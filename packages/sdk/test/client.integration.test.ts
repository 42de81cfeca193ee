import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuraLink, fileKeyStore } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { Call } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// AuraLink.create() against a real relay-node process: the default key store (kept keys, one
// client per key), how fast and how clearly it fails, relay addresses without a peer id, stop()
// called twice, and the busy rule with three clients.
describe('AuraLink.create() and its client in Node, with a real relay node', () => {
  let relay: RelayProcess
  const clients: AuraLink[] = []
  const dirs: string[] = []
  const home = process.env.AURALINK_HOME
  let n = 0

  // every client reserves from 127.0.0.1 and a stopped client's reservation stays for the relay's
  // grace; clients made at once, each with a connection that learns the relay's id, pass 10 new
  // connections a second from one address (the relay's abuse limits are tested in relay-node/test)
  beforeAll(async () => { relay = await startRelayProcess({ args: ['--max-reservations-per-address', '64', '--inbound-connection-rate', '1000'] }) })
  afterAll(async () => {
    await relay.stop()
    await removeDir(relay.dataDir)
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async (c) => c.stop()))
    await Promise.all(dirs.splice(0).map(removeDir))
    if (home === undefined) delete process.env.AURALINK_HOME
    else process.env.AURALINK_HOME = home
  })

  async function tempHome (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-home-'))
    dirs.push(dir)
    process.env.AURALINK_HOME = dir
    return dir
  }

  async function create (init: Partial<Parameters<typeof AuraLink.create>[0]> = {}): Promise<AuraLink> {
    const c = await AuraLink.create({ relays: [relay.addr], iceServers: [], ...init })
    clients.push(c)
    return c
  }

  it('AuraLink.create() with the default key store keeps the peer id across stop() and create() (in $AURALINK_HOME/keys), and the name with it', async () => {
    const dir = await tempHome()
    const first = await create()
    const name = `@kept-${++n}.aura`
    await first.register(name)
    const peer = first.peerId.toString()
    expect(await readdir(join(dir, 'keys'))).toEqual(['auralink-identity.key', 'auralink-identity.lock'])
    await first.stop()
    expect(await readdir(join(dir, 'keys'))).toEqual(['auralink-identity.key'])

    const again = await create()
    expect(again.peerId.toString()).toBe(peer)
    // the same key: the directory takes the registration again (another key would get NAME_TAKEN)
    await expect(again.register(name)).resolves.toMatchObject({ name })
  })

  it('a second AuraLink.create() on a key in use rejects with KeyInUseError that says to use another keyLabel; another label works, and the key is free after stop()', async () => {
    await tempHome()
    const first = await create()
    const err = await create().catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'KeyInUseError', code: 'ERR_KEY_IN_USE', label: 'auralink-identity' })
    expect((err as Error).message).toMatch(/in use by another client in this process .*another keyLabel/)
    const other = await create({ keyLabel: '@other.aura' })
    expect(other.peerId.equals(first.peerId)).toBe(false)
    await first.stop()
    const third = await create()
    expect(third.peerId.equals(first.peerId)).toBe(true)
  })

  it('AuraLink.create({ keyStore: null }) makes a new key each time and writes nothing', async () => {
    const dir = await tempHome()
    const a = await create({ keyStore: null })
    const b = await create({ keyStore: null })
    expect(a.peerId.equals(b.peerId)).toBe(false)
    expect(await readdir(dir)).toEqual([])
  })

  it('AuraLink.create({ keyStore: fileKeyStore({ dir }), keyLabel }) keeps that label\'s key in that folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auralink-ks-'))
    dirs.push(dir)
    const a = await create({ keyStore: fileKeyStore({ dir }), keyLabel: '@alice.aura' })
    const peer = a.peerId
    await a.stop()
    const b = await create({ keyStore: fileKeyStore({ dir }), keyLabel: '@alice.aura' })
    expect(b.peerId.equals(peer)).toBe(true)
    expect(await readdir(dir)).toContain('@alice.aura.key')
  })

  // each failure is bounded by the test's 20 s while connectTimeoutMs is 100 s: the test passes only when it fails at once
  it('AuraLink.create() on a relay that is not running rejects at once with RelayUnreachableError naming the address and the reason', async () => {
    const dead = relay.addr.replace(/\/tcp\/\d+\//, '/tcp/9/') // the discard port: nothing listens
    const err = await create({ relays: [dead], keyStore: null, connectTimeoutMs: 100_000 }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'RelayUnreachableError' })
    expect((err as Error).message).toContain(dead)
    expect((err as Error).message).toContain('WebSocket connection failed (connection refused')
    expect((err as Error).message).not.toContain('[object')
  }, 20_000)

  it('AuraLink.create() with a wrong relay peer id rejects at once naming the address, the expected and the actual peer id', async () => {
    const expected = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const actual = /\/p2p\/(\w+)$/.exec(relay.addr)![1]!
    const wrong = relay.addr.replace(actual, expected)
    const err = await create({ relays: [wrong], keyStore: null, connectTimeoutMs: 100_000 }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'RelayUnreachableError' })
    const bare = relay.addr.replace(`/p2p/${actual}`, '')
    expect((err as Error).message).toContain(`relay ${bare} has peer id ${actual}, not the expected ${expected}`)
  }, 20_000)

  it('AuraLink.create({ relays: ["ws://127.0.0.1:<port>"] }) learns the relay\'s peer id, and calls work through it', async () => {
    const port = /\/tcp\/(\d+)\//.exec(relay.addr)![1]!
    const url = `ws://127.0.0.1:${port}`
    const alice = await create({ relays: [url], keyStore: null })
    const bob = await create({ relays: [`/ip4/127.0.0.1/tcp/${port}/ws`], keyStore: null })
    expect(alice.relays()[0]?.addr.toString()).toBe(relay.addr)
    const bobName = `@url-bob-${++n}.aura`
    await bob.register(bobName)
    const ringing = nextIncoming(bob)
    const call = await alice.call(bobName)
    await (await ringing).accept()
    await call.whenConnected({ signal: AbortSignal.timeout(10_000) })
    await call.hangup()
  })

  it('stop() twice at once: the second resolves only once the mesh node has stopped', async () => {
    const c = await create({ keyStore: null })
    const first = c.stop()
    const second = c.stop()
    await second
    expect(c.mesh.libp2p.status).toBe('stopped')
    await first
    await c.stop()
  })

  it('busy: a second incoming call while one is in progress ends the caller\'s call with "busy" and never rings; with maxCalls: 2 it rings', async () => {
    const [alice, bob, carol] = await Promise.all([create({ keyStore: null }), create({ keyStore: null }), create({ keyStore: null, maxCalls: 2 })])
    const names = { bob: `@busy-bob-${++n}.aura`, carol: `@busy-carol-${n}.aura` }
    await bob.register(names.bob)
    await carol.register(names.carol)

    // bob (maxCalls 1, the default) is in a call with alice
    const ringing = nextIncoming(bob)
    const first = await alice.call(names.bob)
    await (await ringing).accept()
    await first.whenConnected({ signal: AbortSignal.timeout(10_000) })

    let rang = 0
    bob.addEventListener('incoming', () => { rang++ })
    const second = await carol.call(names.bob)
    const end = await second.whenEnded()
    expect(end.reason).toBe('busy')
    expect(rang).toBe(0)
    expect(bob.calls()).toHaveLength(1)
    expect(first.state).toBe('connected')

    await first.hangup()

    // carol (maxCalls: 2) in a call with alice still hears a second one, from bob
    const carolRinging = nextIncoming(carol)
    const toCarol = await alice.call(names.carol)
    await (await carolRinging).accept()
    await toCarol.whenConnected({ signal: AbortSignal.timeout(10_000) })
    const offeredNext = nextIncoming(carol)
    const fromBob = await bob.call(names.carol)
    const offered = await offeredNext
    expect(offered.state).toBe('ringing')
    expect(carol.calls()).toHaveLength(2)
    await offered.reject()
    expect((await fromBob.whenEnded()).reason).toBe('rejected')
    expect(toCarol.state).toBe('connected')
    await toCarol.hangup()
  })

  async function nextIncoming (c: AuraLink, timeoutMs = 10_000): Promise<Call> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no incoming call within ${timeoutMs} ms`)) }, timeoutMs)
      c.addEventListener('incoming', (e) => { clearTimeout(t); resolve(e.detail.call) }, { once: true })
    })
  }
})
