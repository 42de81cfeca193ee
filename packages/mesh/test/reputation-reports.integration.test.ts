import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode, relayScorer } from '../src/index.js'
import { startRelayProcess, stopAll } from '../../../test-utils/relay-process.js'
import type { MeshNode, MeshNodeInit, ReportsReceived } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'
import type { PeerId } from '@libp2p/interface'

// In the test network namespace: a good relay and a bad one (real relay-node processes; the bad
// one cuts every circuit: --relay-data-limit 64), alice who has measured both, ten colluding peers
// and one peer alice trusts. Reports travel as signed batches on /auralink/relay-reports/1.0.0
// over relayed connections through the good relay.
describe('signed relay reports on the wire: collusion', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  afterEach(async () => { await stopAll(nodes, relays) })

  async function peer (addrs: string[], init: MeshNodeInit = {}): Promise<MeshNode> {
    const node = await createMeshNode({ relays: addrs, relayCheckIntervalMs: 500, dial: { timeoutMs: 10_000 }, ...init })
    nodes.push(node)
    await node.start()
    return node
  }

  /** Resolves with the next `n` 'reports:received' events of `node` (bounded by `ms`). */
  async function received (node: MeshNode, n: number, ms = 30_000): Promise<ReportsReceived[]> {
    const got: ReportsReceived[] = []
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { node.removeEventListener('reports:received', on); reject(new Error(`${got.length} of ${n} report batches within ${ms} ms`)) }, ms)
      const on = (e: CustomEvent<ReportsReceived>): void => {
        got.push(e.detail)
        if (got.length === n) { clearTimeout(timer); node.removeEventListener('reports:received', on); resolve(got) }
      }
      node.addEventListener('reports:received', on)
    })
  }

  const idOf = (addr: string): string => addr.split('/p2p/').pop()!

  it('ten colluding peers that rate the bad relay excellent do not lift it above the good one; a trusted peer\'s report moves it, within the cap', async () => {
    // this test's 13 peers all reserve from 127.0.0.1, one address, as users behind one NAT would:
    // past the default per-address cap (8)
    const shared = ['--max-reservations-per-address', '32']
    const good = await startRelayProcess({ args: shared })
    relays.push(good)
    const bad = await startRelayProcess({ args: [...shared, '--relay-data-limit', '64', '--relay-data-limit-anonymous', '64'] })
    relays.push(bad)
    const goodId = idOf(good.addr)
    const badId = idOf(bad.addr)

    const trusted = await peer([good.addr])
    const bob = await peer([good.addr, bad.addr])
    await expect.poll(() => bob.relays().map((r) => r.state), { timeout: 20_000, interval: 100 }).toEqual(['reserved', 'reserved'])
    await bob.register('@bob.aura')
    // latency weighs nothing here: under this test's load (13 nodes, 2 relays, 2 cores) loopback
    // pings swing by tens of ms, more than the gap three dials open, and reports never touch latency
    const scorer = relayScorer({ preTrusted: [trusted.peerId.toString()], weights: { latency: 0 } })
    const alice = await peer([good.addr, bad.addr], { routeCacheTtlMs: 0, reputation: { scorer } })
    await expect.poll(() => alice.relays().map((r) => r.state), { timeout: 20_000, interval: 100 }).toEqual(['reserved', 'reserved'])
    // alice's own measurements: three dials, each tries the bad relay when it ranks first
    for (let i = 0; i < 3; i++) await (await alice.dial('@bob.aura', { signal: AbortSignal.timeout(60_000) })).close()
    const total = (id: string): number => scorer.ranked().find((r) => r.relay === id)!.total
    const reputation = (id: string): number => scorer.ranked().find((r) => r.relay === id)!.parts.reputation
    await expect.poll(() => scorer.ranked()[0]?.relay, { timeout: 10_000, interval: 200 }).toBe(goodId)
    const before = reputation(badId)

    const fakes = await Promise.all(Array.from({ length: 10 }, async () => peer([good.addr])))
    await Promise.all(fakes.map(async (f) => expect.poll(() => f.relays()[0]?.state, { timeout: 20_000, interval: 100 }).toBe('reserved')))
    const peerIdOf = (id: string): PeerId => alice.relays().find((r) => r.peerId.toString() === id)!.peerId
    const lies = [{ relay: peerIdOf(badId), value: 1 }, { relay: peerIdOf(goodId), value: 0 }]
    const tenBatches = received(alice, 10)
    // one after another, 250 ms apart: libp2p refuses more than 5 new inbound connections a second
    // from one address (its inboundConnectionThreshold), and every relayed one comes from the relay's
    for (const f of fakes) {
      await f.sendRelayReports(alice.peerId, lies, { signal: AbortSignal.timeout(30_000) })
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const batches = await tenBatches
    // every batch arrived, verified, and both its reports were kept...
    expect(batches.map((b) => [b.accepted, b.refused, b.error?.message])).toEqual(batches.map(() => [2, 0, undefined]))
    expect(new Set(batches.map((b) => b.from.toString()))).toEqual(new Set(fakes.map((f) => f.peerId.toString())))
    // ...and weigh nothing: no chain of trust reaches the fakes
    for (const f of fakes) expect(scorer.trust().get(f.peerId.toString()) ?? 0).toBe(0)
    // (the part still moves with alice's own reservation checks on the bad relay, so only a bound:
    // ten reports of 1 at any weight would have lifted it by about 0.2)
    expect(reputation(badId) - before).toBeLessThan(0.05)
    expect(scorer.ranked()[0]!.relay).toBe(goodId)
    expect(total(goodId) - total(badId)).toBeGreaterThan(0)

    // a second batch from the same peer within 10 s is refused unread
    const again = received(alice, 1)
    await fakes[0]!.sendRelayReports(alice.peerId, lies).catch(() => {})
    expect((await again)[0]!.error?.message).toMatch(/at most one per 10000 ms/)

    // the positive control: the peer alice trusts rates the bad relay excellent, and that counts,
    // within the cap: reports make at most a quarter of the reputation part (docs/reputation.md)
    const own = reputation(badId)
    const one = received(alice, 1)
    await trusted.sendRelayReports(alice.peerId, [{ relay: peerIdOf(badId), value: 1 }])
    expect((await one)[0]).toMatchObject({ accepted: 1, refused: 0 })
    expect(scorer.trust().get(trusted.peerId.toString())).toBeGreaterThan(0)
    const lifted = reputation(badId) - own
    expect(lifted).toBeGreaterThan(0.1)
    // (plus what alice's own reservation checks may add meanwhile, as above)
    expect(lifted).toBeLessThanOrEqual(0.25 * (1 - own) + 0.05)
  })
})
