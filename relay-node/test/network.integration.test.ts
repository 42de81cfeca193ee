import { createMeshNode } from '@auralink/mesh'
import { compareAuraIdRecords } from '@auralink/signalling'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { relayMetric as metric, removeDir, startRelayProcess } from '../../test-utils/relay-process.js'
import type { RelayProcess } from '../../test-utils/relay-process.js'
import type { MeshNode } from '@auralink/mesh'

// Three real relay-node processes that form one network through the Kad-DHT (B and C bootstrap
// from A only; C finds B through the DHT), and six real mesh peers, two attached to each relay
// and to that relay only. Loopback only; every wait is bounded.
const REPUBLISH_MS = 2000

/** Polls `fn` until it resolves without throwing, at most `ms`; the last error otherwise. */
async function eventually<T> (fn: () => Promise<T>, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms
  let last: unknown
  while (Date.now() < until) {
    try {
      return await fn()
    } catch (err) {
      last = err
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  throw new Error(`${what}: not within ${ms} ms: ${(last as Error)?.message ?? String(last)}`, { cause: last })
}

describe('AuraIDs across three relay nodes through the Kad-DHT', () => {
  const relays: RelayProcess[] = []
  const peers: MeshNode[] = []
  /** peers[i] is attached to relays[home[i]] only. */
  const home = [0, 0, 1, 1, 2, 2]

  beforeAll(async () => {
    const args = ['--dht-republish-interval-ms', String(REPUBLISH_MS)]
    relays.push(await startRelayProcess({ args }))
    relays.push(...await Promise.all([1, 2].map(async () => startRelayProcess({ args: [...args, '--bootstrap', relays[0]!.addr] }))))
    // every relay has the two others in its routing table (C learnt B from A)
    for (const relay of relays) {
      await eventually(async () => {
        const n = await metric(relay, /^auralink_dht_peers (\d+)$/m)
        if (n !== 2) throw new Error(`auralink_dht_peers ${n}`)
      }, 20_000, 'every relay sees the other two in its DHT routing table')
    }
    // and each knows the other two from their signed adverts on gossipsub
    for (const relay of relays) {
      await eventually(async () => {
        const n = await metric(relay, /^auralink_known_relays (\d+)$/m)
        if (n !== 2) throw new Error(`auralink_known_relays ${n}`)
        const accepted = await metric(relay, /^auralink_relay_adverts_total\{result="accept",reason="stored"\} (\d+)$/m)
        if (accepted < 2) throw new Error(`${accepted} adverts stored`)
      }, 20_000, 'every relay knows the other two from their adverts')
    }
    peers.push(...await Promise.all(home.map(async (r) => {
      const node = await createMeshNode({ relays: [relays[r]!.addr], relayCheckIntervalMs: 1000 })
      await node.start()
      await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
      return node
    })))
  })

  afterAll(async () => {
    await Promise.all(peers.splice(0).map(async (p) => p.stop()))
    const codes = await Promise.all(relays.map(async (r) => r.stop()))
    for (const r of relays.splice(0)) await removeDir(r.dataDir)
    // stop() of a relay with the DHT, the republish timer and bootstrap dials is clean
    expect(codes).toEqual(codes.map(() => 0))
  })

  it('each peer hears of the two relays it is not attached to from its relay\'s relay list, adverts verified', async () => {
    const ids = relays.map((r) => r.addr.split('/p2p/').pop()!)
    for (const [i, p] of peers.entries()) {
      const others = ids.filter((_, r) => r !== home[i]).sort()
      await expect.poll(() => p.knownRelays().map((a) => a.peerId.toString()).sort(), { timeout: 15_000, interval: 250 }).toEqual(others)
      expect(p.knownRelays().every((a) => a.addrs.length > 0 && a.expiresAt > Date.now())).toBe(true)
    }
  })

  it('names registered at any relay resolve from peers on any other; a private one only at its own relay', async () => {
    const names = ['@net-alpha.aura', '@net-amber.aura', '@net-birch.aura', '@net-brook.aura', '@net-cedar.aura', '@net-coral.aura']
    const visibility = ['public', 'unlisted', 'public', 'unlisted', 'public', 'private'] as const
    const records = await Promise.all(peers.map(async (p, i) => p.register(names[i]!, { visibility: visibility[i]! })))
    expect(records.map((r) => r.name)).toEqual(names)

    for (const [i, p] of peers.entries()) {
      for (const [j, name] of names.entries()) {
        if (visibility[j] === 'private' && home[i] !== home[j]) continue
        const found = await eventually(async () => p.resolve(name, { cache: false }), 10_000, `peer ${i} (relay ${home[i]}) resolves ${name}`)
        expect(found.peerId.equals(peers[j]!.peerId), `peer ${i} resolves ${name}`).toBe(true)
        expect(found.visibility).toBe(visibility[j])
      }
    }
    // the private name never left relay C: peers on A and B get not found
    for (const i of [0, 1, 2, 3]) {
      await expect(peers[i]!.resolve('@net-coral.aura', { cache: false })).rejects.toThrow(expect.objectContaining({ name: 'AuraIdNotFoundError' }))
    }
    // the DHT did the work: lookups and publishes with remote stores counted
    for (const relay of relays) {
      expect(await metric(relay, /^auralink_dht_operations_total\{op="publish",outcome="ok"\} (\d+)$/m)).toBeGreaterThan(0)
    }
    expect(await metric(relays[1]!, /^auralink_dht_operations_total\{op="lookup",outcome="ok"\} (\d+)$/m)).toBeGreaterThan(0)
  })

  it('register() of a name held at relay A by another key is refused with NAME_TAKEN at relays B and C, and the name still resolves to its holder everywhere', async () => {
    const holder = peers[0]!
    await holder.register('@net-taken.aura')
    // the record has reached the DHT once a peer on C resolves it
    await eventually(async () => peers[5]!.resolve('@net-taken.aura', { cache: false }), 10_000, 'C resolves @net-taken.aura')
    for (const i of [2, 4]) {
      await expect(peers[i]!.register('@net-taken.aura')).rejects.toThrow(expect.objectContaining({ name: 'DirectoryRejectedError', code: 'ERR_DIRECTORY_REJECTED', reason: 'NAME_TAKEN' }))
    }
    for (const p of peers) expect((await p.resolve('@net-taken.aura', { cache: false })).peerId.equals(holder.peerId)).toBe(true)
    expect(await metric(relays[1]!, /^auralink_directory_operations_total\{op="register",outcome="name_taken"\} (\d+)$/m)).toBeGreaterThanOrEqual(1)
    expect(await metric(relays[2]!, /^auralink_directory_operations_total\{op="register",outcome="name_taken"\} (\d+)$/m)).toBeGreaterThanOrEqual(1)
  })

  it('a relay that took names while cut off joins the network: each conflict goes to the key most answering relays hold (three against one, even where the cut-off relay\'s record has the later validity), the cut-off relay releases both names, and its holder cannot renew them', async () => {
    const day = 86_400_000
    // relay D, alone: no bootstrap, so its registrations reach no other relay
    let d = await startRelayProcess({ args: ['--dht-republish-interval-ms', String(REPUBLISH_MS)] })
    relays.push(d)
    const x = await createMeshNode({ relays: [d.addr], relayCheckIntervalMs: 1000 })
    peers.push(x)
    await x.start()
    await x.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    const [y1, y2] = [peers[0]!, peers[2]!]
    // @net-split-one: A's holder has the later validity; @net-split-two: D's holder has (the
    // selector would pick it), but A, B and C hold B's record: the majority keeps it
    const one = { net: await y1.register('@net-split-one.aura'), d: await x.register('@net-split-one.aura', { validity: Date.now() + 20 * day }) }
    const two = { net: await y2.register('@net-split-two.aura', { validity: Date.now() + 20 * day }), d: await x.register('@net-split-two.aura') }
    expect(compareAuraIdRecords(one.net, one.d)).toBeLessThan(0)
    expect(compareAuraIdRecords(two.d, two.net)).toBeLessThan(0)
    // D restarts (same key, port and data) into the network through A
    const port = Number(/tcp\/(\d+)/.exec(d.addr)?.[1])
    expect(await d.stop()).toBe(0)
    d = await startRelayProcess({ dataDir: d.dataDir, port, args: ['--dht-republish-interval-ms', String(REPUBLISH_MS), '--bootstrap', relays[0]!.addr] })
    relays[3] = d
    await eventually(async () => {
      const n = await metric(d, /^auralink_dht_peers (\d+)$/m)
      if (n !== 3) throw new Error(`auralink_dht_peers ${n}`)
    }, 20_000, 'D sees the three other relays')
    await x.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    await eventually(async () => {
      for (const p of peers) {
        const [r1, r2] = await Promise.all([p.resolve('@net-split-one.aura', { cache: false }), p.resolve('@net-split-two.aura', { cache: false })])
        if (!r1.peerId.equals(y1.peerId)) throw new Error(`a peer resolves @net-split-one.aura to ${r1.peerId.toString()}`)
        if (!r2.peerId.equals(y2.peerId)) throw new Error(`a peer resolves @net-split-two.aura to ${r2.peerId.toString()}`)
      }
    }, 6 * REPUBLISH_MS + 5000, 'all seven peers agree on both names')
    // the cut-off relay released both names and counted them; the others lost none
    expect(await metric(d, /^auralink_directory_conflicts_total (\d+)$/m)).toBe(2)
    expect(await metric(relays[1]!, /^auralink_directory_conflicts_total (\d+)$/m)).toBe(0)
    expect(await metric(relays[0]!, /^auralink_directory_conflicts_total (\d+)$/m)).toBe(0)
    await expect(x.register('@net-split-one.aura')).rejects.toThrow(expect.objectContaining({ reason: 'NAME_TAKEN' }))
    await expect(x.register('@net-split-two.aura')).rejects.toThrow(expect.objectContaining({ reason: 'NAME_TAKEN' }))
    // the holders renew as usual
    expect((await y1.register('@net-split-one.aura')).sequence).toBe(2)
    expect((await y2.register('@net-split-two.aura')).sequence).toBe(2)
  })
})
