import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode, memoryScoreStore, relayScorer } from '../src/index.js'
import { fileScoreStore } from '../src/reputation/store.node.js'
import { startStockRelay } from './fixtures.js'
import type { MeshNode, ReputationSnapshot, ScoreStore } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

/** A relay address nobody serves: a closed port and a peer id of its own. */
async function deadRelay (port = 1): Promise<{ id: string, addr: string }> {
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  return { id, addr: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}` }
}

/** A memory store that counts its saves and can be told to fail. */
function countingStore (): ScoreStore & { saves: ReputationSnapshot[], fail: boolean } {
  const inner = memoryScoreStore()
  const store = {
    saves: [] as ReputationSnapshot[],
    fail: false,
    load: inner.load,
    async save (snapshot: ReputationSnapshot) {
      if (store.fail) throw new Error('disk full')
      store.saves.push(snapshot)
      await inner.save(snapshot)
    }
  }
  return store
}

describe('MeshNode relay reputation', () => {
  const nodes: MeshNode[] = []
  const relays: Libp2p[] = []
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop().catch(() => {})))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
    await Promise.all(dirs.splice(0).map(async (d) => rm(d, { recursive: true, force: true })))
  })

  async function node (init: Parameters<typeof createMeshNode>[0]): Promise<MeshNode> {
    const n = await createMeshNode(init)
    nodes.push(n)
    return n
  }

  it('createMeshNode() makes its own relayScorer() when reputation.scorer is left out, and uses the one given', async () => {
    const a = await node({})
    const b = await node({})
    expect(typeof a.scorer.ranked).toBe('function')
    expect(a.scorer).not.toBe(b.scorer)
    const scorer = relayScorer()
    expect((await node({ reputation: { scorer } })).scorer).toBe(scorer)
  })

  it('createMeshNode({ reputation }) refuses a bad scorer, store or saveIntervalMs, naming it', async () => {
    await expect(createMeshNode({ reputation: { scorer: {} as never } })).rejects.toThrow(/reputation\.scorer must be a RelayScorer/)
    await expect(createMeshNode({ reputation: { store: { load: 1 } as never } })).rejects.toThrow(/reputation\.store must be a ScoreStore/)
    await expect(createMeshNode({ reputation: { saveIntervalMs: 0 } })).rejects.toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/reputation\.saveIntervalMs .* got 0/) }))
    await expect(createMeshNode({ reputation: { saveIntervalMs: Number.NaN } })).rejects.toThrow(RangeError)
    await expect(createMeshNode({ reputation: 'yes' as never })).rejects.toThrow(TypeError)
  })

  it('relays() includes each relay\'s score { total, parts } from the scorer and lists the relays best first', async () => {
    const [slow, fast] = [await deadRelay(1), await deadRelay(2)]
    const scorer = relayScorer()
    for (let i = 0; i < 5; i++) {
      scorer.recordRtt(slow.id, 900)
      scorer.recordRtt(fast.id, 20)
    }
    const n = await node({ relays: [slow.addr, fast.addr], reputation: { scorer } })
    const listed = n.relays()
    expect(listed.map((r) => r.peerId.toString())).toEqual([fast.id, slow.id])
    expect(listed[0]?.score).toEqual(scorer.score(fast.id))
    expect(listed[1]?.score.total).toBeLessThan(listed[0]!.score.total)
    expect(Object.keys(listed[0]!.score.parts).sort()).toEqual(['aicSupport', 'bandwidth', 'hops', 'latency', 'reputation', 'uptime'])
    expect(listed[0]?.state).toBe('down')
  })

  it('start() with a reputation.store holding a corrupt snapshot rejects with ReputationLoadError (the TypeError as cause) and leaves the node stopped', async () => {
    const store = memoryScoreStore()
    await store.save({ version: 1, savedAt: Date.now(), relays: { x: { circuits: { ok: -1 } } }, peers: {}, reports: [] } as never)
    const n = await node({ reputation: { store } })
    const err = await n.start().then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('ReputationLoadError')
    expect((err?.cause as Error)?.name).toBe('TypeError')
    expect(err?.message).toMatch(/reputation\.store/)
    expect(n.libp2p.status).toBe('stopped')
    await expect(n.resolve('@bob.aura')).rejects.toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
  })

  it('start() with a fileScoreStore over a file that is not JSON rejects with ReputationLoadError, the store\'s TypeError naming the path as cause', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-rep-'))
    dirs.push(dir)
    const path = join(dir, 'scores.json')
    await writeFile(path, '{ half a snap')
    const n = await node({ reputation: { store: fileScoreStore(path) } })
    const err = await n.start().then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('ReputationLoadError')
    expect(err?.cause).toBeInstanceOf(TypeError)
    expect((err?.cause as Error).message).toContain(path)
  })

  it('start() loads the stored snapshot into the scorer; stop() saves it back, and so does every saveIntervalMs while running', async () => {
    const relay = await deadRelay()
    const before = relayScorer()
    for (let i = 0; i < 5; i++) before.recordRtt(relay.id, 42)
    const store = countingStore()
    await store.save(before.toJSON())
    store.saves.length = 0
    const n = await node({ relays: [relay.addr], relayCheckIntervalMs: 50, reputation: { store, saveIntervalMs: 40 } })
    expect(n.scorer.has(relay.id)).toBe(false)
    await n.start()
    expect(n.scorer.toJSON().relays[relay.id]?.rtt?.mean).toBe(42)
    await expect.poll(() => store.saves.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    await n.stop()
    const saved = store.saves.length
    const last = store.saves.at(-1)!
    // the last save holds what the keeper measured meanwhile: the dead relay seen down
    expect(last.relays[relay.id]?.uptime.down).toBeGreaterThan(0)
    expect(last.relays[relay.id]?.rtt?.mean).toBe(42)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(store.saves.length).toBe(saved)
    await n.stop() // idempotent: no second save
    expect(store.saves.length).toBe(saved)
  })

  it('a failed periodic save emits reputation:save-failed and the node keeps running; a failed save at stop() rejects with ReputationSaveError once all is stopped', async () => {
    const store = countingStore()
    store.fail = true
    const n = await node({ reputation: { store, saveIntervalMs: 30 } })
    const failures: Error[] = []
    n.addEventListener('reputation:save-failed', (evt) => { failures.push(evt.detail.error) })
    await n.start()
    await expect.poll(() => failures.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1)
    expect(failures[0]?.name).toBe('ReputationSaveError')
    expect((failures[0]?.cause as Error).message).toBe('disk full')
    const err = await n.stop().then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('ReputationSaveError')
    expect(n.libp2p.status).toBe('stopped')
  })

  it('with a stock relay (no ping protocol) the node counts it up at each check, and a dial to a peer with no reservation there counts no circuit failure', async () => {
    const { relay, addr } = await startStockRelay()
    relays.push(relay)
    const n = await node({ relays: [addr], relayCheckIntervalMs: 50 })
    await n.start()
    await n.waitForReservation({ signal: AbortSignal.timeout(10_000) })
    const id = relay.peerId.toString()
    await expect.poll(() => n.scorer.toJSON().relays[id]?.uptime.up ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await expect(n.dial(stranger)).rejects.toThrow(expect.objectContaining({ name: 'PeerOfflineError' }))
    const snap = n.scorer.toJSON().relays[id]!
    expect(snap.circuits).toEqual({ ok: 0, failed: 0 })
    expect(snap.reservations.ok).toBeCloseTo(1, 2) // counters decay (half-life 1 hour)
    expect(snap.uptime.down).toBe(0)
    expect(n.relays()[0]?.score.parts.uptime).toBeGreaterThan(0.5)
  })

  it('dial() tries the circuit through the best-ranked relay first, and the next one first once the best drops in rank', async () => {
    const a = await startStockRelay()
    const b = await startStockRelay()
    relays.push(a.relay, b.relay)
    const [ida, idb] = [a.relay.peerId.toString(), b.relay.peerId.toString()]
    const scorer = relayScorer()
    for (let i = 0; i < 5; i++) {
      scorer.recordRtt(ida, 60)
      scorer.recordRtt(idb, 40)
    }
    const n = await node({ relays: [a.addr, b.addr], relayCheckIntervalMs: 100, reputation: { scorer } })
    await n.start()
    // both reserved (two relays, two reservation slots): a reservation still on its way would count
    // for one relay and not yet for the other, and could rank them otherwise than their RTTs do
    await expect.poll(() => n.relays().filter((r) => r.state === 'reserved').length, { timeout: 10_000 }).toBe(2)
    const tried: string[] = []
    const dial = n.libp2p.dial.bind(n.libp2p)
    n.libp2p.dial = (async (target: Parameters<typeof dial>[0], options?: Parameters<typeof dial>[1]) => {
      const addr = String(target)
      if (addr.includes('/p2p-circuit/webrtc/')) tried.push(addr.split('/p2p/')[1]!.split('/')[0]!)
      return dial(target, options)
    }) as typeof dial
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await expect(n.dial(stranger)).rejects.toThrow(expect.objectContaining({ name: 'PeerOfflineError' }))
    expect(tried).toEqual([idb, ida])
    expect(n.relays().map((r) => r.peerId.toString())).toEqual([idb, ida])
    // b's circuits start failing: it drops below a, and the next dial tries a first
    for (let i = 0; i < 5; i++) scorer.recordCircuit(idb, false)
    tried.length = 0
    await expect(n.dial(stranger)).rejects.toThrow(expect.objectContaining({ name: 'PeerOfflineError' }))
    expect(tried).toEqual([ida, idb])
    expect(n.relays()[0]?.peerId.toString()).toBe(ida)
  })
})
