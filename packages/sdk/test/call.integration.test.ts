import { createHash, randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memoryScoreStore } from '@auralink/mesh'
import { AuraLink } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { Call, CallStateChange, FileTransfer } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// Data calls between two Node clients (the SDK's Node path: no audio or video), through a real
// relay-node process, in the test network namespace: invite, accept, messages both ways, a
// 5 MB file with progress and a checked SHA-256, hangup, reject, an unknown AuraID, glare, and
// a peer that vanishes mid-call.
describe('AuraLink data calls in Node through a real relay node', () => {
  let relay: RelayProcess
  const clients: AuraLink[] = []
  let n = 0

  // every client of this file reserves from 127.0.0.1, and a stopped client's reservation stays
  // for the relay's 45 s grace: more than the default 8 per address within a minute
  beforeAll(async () => { relay = await startRelayProcess({ args: ['--max-reservations-per-address', '64'] }) })
  afterAll(async () => {
    await relay.stop()
    await removeDir(relay.dataDir)
  })
  afterEach(async () => { await Promise.all(clients.splice(0).map(async (c) => c.stop())) })

  async function client (label: string): Promise<{ client: AuraLink, name: string }> {
    const c = await AuraLink.create({ relays: [relay.addr], iceServers: [], keyStore: null })
    clients.push(c)
    const name = `@${label}-${++n}.aura`
    await c.register(name)
    return { client: c, name }
  }

  async function nextIncoming (c: AuraLink, timeoutMs = 10_000): Promise<Call> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no incoming call within ${timeoutMs} ms`)) }, timeoutMs)
      c.addEventListener('incoming', (e) => { clearTimeout(t); resolve(e.detail.call) }, { once: true })
    })
  }

  async function ended (call: Call, timeoutMs: number): Promise<CallStateChange & { ms: number }> {
    const t0 = Date.now()
    const info = await Promise.race([
      call.whenEnded(),
      new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`call did not end within ${timeoutMs} ms`)) }, timeoutMs))
    ])
    return { ...info, ms: Date.now() - t0 }
  }

  it('call("@bob.aura") rings bob, accept() connects both, messages go both ways, a 5 MB file arrives with progress and a matching checksum, hangup() ends both', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    const ringing = nextIncoming(bob.client)
    const call = await alice.client.call(bob.name, { data: true })
    expect(call.state).toBe('connecting')
    expect(call.remoteAuraId).toBe(bob.name)

    const incoming = await ringing
    expect(incoming.state).toBe('ringing')
    expect(incoming.remoteAuraId).toBe(alice.name) // its claimed name resolved to the connection's key
    expect(incoming.requested).toEqual({ audio: false, video: false, data: true })
    await incoming.accept()
    await call.whenConnected({ signal: AbortSignal.timeout(10_000) })
    expect(call.state).toBe('connected')
    expect(incoming.state).toBe('connected')
    expect(call.path).toBe('direct')

    const gotByBob = new Promise<string>((resolve) => incoming.addEventListener('message', (e) => { resolve(e.detail.text ?? '') }, { once: true }))
    const gotByAlice = new Promise<Uint8Array>((resolve) => call.addEventListener('message', (e) => { resolve(e.detail.data ?? new Uint8Array()) }, { once: true }))
    await call.send('hello bob')
    await incoming.send(new Uint8Array([1, 2, 3]))
    expect(await gotByBob).toBe('hello bob')
    expect([...await gotByAlice]).toEqual([1, 2, 3])

    const bytes = randomBytes(5 * 1024 * 1024)
    const sha = createHash('sha256').update(bytes).digest('hex')
    const arriving = new Promise<FileTransfer>((resolve) => incoming.addEventListener('file', (e) => { resolve(e.detail.transfer) }, { once: true }))
    const sending = call.sendFile({ name: 'five.bin', data: bytes, type: 'application/octet-stream' })
    const sentProgress: number[] = []
    sending.addEventListener('progress', (e) => sentProgress.push(e.detail.bytes))
    const transfer = await arriving
    expect(transfer.name).toBe('five.bin')
    expect(transfer.size).toBe(bytes.byteLength)
    const gotProgress: number[] = []
    transfer.addEventListener('progress', (e) => gotProgress.push(e.detail.bytes))
    const [file] = await Promise.all([transfer.done, sending.done])
    expect(file?.sha256).toBe(sha)
    expect(file?.size).toBe(bytes.byteLength)
    expect(createHash('sha256').update(new Uint8Array(await file!.blob!.arrayBuffer())).digest('hex')).toBe(sha)
    expect(sentProgress.length).toBeGreaterThan(10)
    expect(sentProgress.at(-1)).toBe(bytes.byteLength)
    expect(gotProgress.at(-1)).toBe(bytes.byteLength)
    expect(gotProgress).toEqual([...gotProgress].sort((a, b) => a - b))

    const stats = await call.stats()
    expect(stats.path).toBe('direct')
    expect(stats.bytesSent).toBeGreaterThan(0)

    const bobEnded = ended(incoming, 5000)
    await call.hangup()
    expect(call.ended?.reason).toBe('hangup')
    expect((await bobEnded).reason).toBe('remote-hangup')
    expect(alice.client.calls()).toHaveLength(0)
    expect(bob.client.calls()).toHaveLength(0)
    await expect(call.send('late')).rejects.toThrow(/ended/)
  })

  it('relays() lists the relay with its score and parts; scores given a store are saved at stop()', async () => {
    const store = memoryScoreStore()
    const c = await AuraLink.create({ relays: [relay.addr], iceServers: [], keyStore: null, reputation: { store } })
    clients.push(c)
    const id = relay.addr.split('/p2p/').pop()
    await expect.poll(() => c.relays()[0]?.state, { timeout: 10_000, interval: 100 }).toBe('reserved')
    const [info] = c.relays()
    expect(info?.peerId.toString()).toBe(id)
    expect(Object.keys(info!.score.parts).sort()).toEqual(['aicSupport', 'bandwidth', 'hops', 'latency', 'reputation', 'uptime'])
    expect(Number.isFinite(info!.score.total)).toBe(true)
    await c.stop()
    expect(Object.keys((await store.load())!.relays)).toContain(id)
  })

  it('call("@nobody.aura") rejects with AuraIdNotFoundError, fast', async () => {
    const alice = await client('alice')
    const t0 = Date.now()
    const err = await alice.client.call('@nobody-here.aura').catch((e: Error) => e)
    expect((err as Error).name).toBe('AuraIdNotFoundError')
    expect(Date.now() - t0).toBeLessThan(5000)
    await expect(alice.client.call('not a name')).rejects.toMatchObject({ name: 'InvalidAuraIdError' })
  })

  it('call() to a registered AuraID whose device is offline rejects with PeerOfflineError, without waiting for a dial timeout', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    await bob.client.stop() // its record stays in the directory; its reservation is gone
    const t0 = Date.now()
    const err = await alice.client.call(bob.name).catch((e: Error) => e)
    expect((err as Error).name).toBe('PeerOfflineError')
    expect((err as Error).message).toContain(bob.name)
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('AuraLink.create() with no reachable relay rejects with RelayUnreachableError naming the relay', async () => {
    const dead = relay.addr.replace(/\/tcp\/\d+\//, '/tcp/9/') // the discard port: nothing listens
    const err = await AuraLink.create({ relays: [dead], keyStore: null, connectTimeoutMs: 2000 }).catch((e: Error) => e)
    expect((err as Error).name).toBe('RelayUnreachableError')
    expect((err as Error).message).toContain('/tcp/9/')
    await expect(AuraLink.create({ relays: [] })).rejects.toThrow(/init.relays must be a non-empty array/)
  })

  it('reject("busy now"): the caller\'s call ends with reason "rejected" and the text', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    const ringing = nextIncoming(bob.client)
    const call = await alice.client.call(bob.name)
    const incoming = await ringing
    await incoming.reject('busy now')
    const info = await ended(call, 5000)
    expect(info.reason).toBe('rejected')
    expect(info.message).toBe('busy now')
    await expect(call.whenConnected()).rejects.toMatchObject({ name: 'CallEndedError', reason: 'rejected' })
  })

  it('a callee that vanishes mid-call (its node stops without hanging up) ends the caller\'s call within 10 s', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    const ringing = nextIncoming(bob.client)
    const call = await alice.client.call(bob.name)
    await (await ringing).accept()
    await call.whenConnected({ signal: AbortSignal.timeout(10_000) })
    const t0 = Date.now()
    // no hangup: the mesh node goes away under the call
    await bob.client.mesh.stop()
    const info = await ended(call, 10_000)
    expect(['connection-lost', 'peer-vanished', 'remote-hangup']).toContain(info.reason)
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('glare: alice and bob call each other at once and end up in one connected call', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    let rang = 0
    alice.client.addEventListener('incoming', () => { rang++ })
    bob.client.addEventListener('incoming', () => { rang++ })
    const [a, b] = await Promise.all([alice.client.call(bob.name), bob.client.call(alice.name)])
    await Promise.all([a.whenConnected({ signal: AbortSignal.timeout(15_000) }), b.whenConnected({ signal: AbortSignal.timeout(15_000) })])
    expect(a.id).toBe(b.id)
    expect(rang).toBe(0)
    expect(alice.client.calls()).toHaveLength(1)
    expect(bob.client.calls()).toHaveLength(1)
    const got = new Promise<string>((resolve) => b.addEventListener('message', (e) => { resolve(e.detail.text ?? '') }, { once: true }))
    await a.send('one call')
    expect(await got).toBe('one call')
  })
})
