import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode, relayScorer } from '../src/index.js'
import { startDelayProxy } from '../../../test-utils/delay-proxy.js'
import { freePort, removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { MeshNode, MeshNodeInit } from '../src/index.js'
import type { DelayProxy } from '../../../test-utils/delay-proxy.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// In the test network namespace: a good and a bad relay, both real relay-node processes. The
// bad one either accepts reservations and then cuts every circuit (its data limit is 64 bytes,
// less than one WebRTC offer), or sits behind a proxy that delays each direction by 250 ms.
// It also claims AIC support (+0.05; set on the dialling peer's scorer, since relays advertise no
// AIC today) so that it starts ranked first and has to lose that place from what the dialling
// peer measures.
describe('a bad relay loses its place within 5 dials', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  const proxies: DelayProxy[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(proxies.splice(0).map(async (p) => p.close()))
    for (const r of relays.splice(0)) {
      await r.stop()
      await removeDir(r.dataDir)
    }
  })

  async function relay (args: string[] = []): Promise<RelayProcess> {
    const r = await startRelayProcess({ args })
    relays.push(r)
    return r
  }

  async function peer (addrs: string[], init: MeshNodeInit = {}): Promise<MeshNode> {
    const node = await createMeshNode({ relays: addrs, relayCheckIntervalMs: 250, dial: { timeoutMs: 10_000 }, ...init })
    nodes.push(node)
    await node.start()
    return node
  }

  const idOf = (addr: string): string => addr.split('/p2p/').pop()!
  const rankOf = (node: MeshNode): string[] => node.relays().map((r) => r.peerId.toString())
  const circuitsOf = (node: MeshNode, id: string): { ok: number, failed: number } => node.scorer.toJSON().relays[id]?.circuits ?? { ok: 0, failed: 0 }

  /** bob on both relays with @bob.aura registered; alice on both, both relays pinged a few times. */
  async function setUp (good: string, bad: string, aliceInit: MeshNodeInit = {}): Promise<{ alice: MeshNode, bob: MeshNode }> {
    const bob = await peer([good, bad])
    await expect.poll(() => bob.relays().map((r) => r.state), { timeout: 20_000, interval: 100 }).toEqual(['reserved', 'reserved'])
    await bob.register('@bob.aura')
    const alice = await peer([good, bad], aliceInit)
    // each relay's own advert (its relay list, fetched once a reservation is made) sets its hops
    // and AIC claim: wait for both, then make the bad relay's claim
    await expect.poll(() => alice.relays().every((r) => alice.scorer.toJSON().relays[r.peerId.toString()]?.hops === 1), { timeout: 20_000, interval: 100 }).toBe(true)
    alice.scorer.setRelayInfo(alice.relays().find((r) => r.peerId.toString() === idOf(bad))!.peerId, { aicSupport: true })
    await expect.poll(() => alice.relays().every((r) => (alice.scorer.toJSON().relays[r.peerId.toString()]?.rtt?.weight ?? 0) >= 2), { timeout: 20_000, interval: 100 }).toBe(true)
    return { alice, bob }
  }

  /**
   * Dials @bob.aura `n` times (closing each connection). For each: the relay it went through, the
   * relays its attempts went through in order (failed ones from 'dial:retry'), the ranking after.
   */
  async function dials (alice: MeshNode, n: number): Promise<Array<{ via: string, tried: string[], rank: string[] }>> {
    const out = []
    for (let i = 0; i < n; i++) {
      const tried: string[] = []
      const onRetry = (e: CustomEvent<{ relay: { toString(): string } }>): void => { tried.push(e.detail.relay.toString()) }
      alice.addEventListener('dial:retry', onRetry)
      try {
        const conn = await alice.dial('@bob.aura', { signal: AbortSignal.timeout(60_000) })
        expect(conn.path).toBe('direct')
        tried.push(conn.relay!.toString())
        expect(tried).toHaveLength(conn.attempts)
        out.push({ via: conn.relay!.toString(), tried, rank: rankOf(alice) })
        await conn.close()
      } finally {
        alice.removeEventListener('dial:retry', onRetry)
      }
    }
    return out
  }

  it('a relay that accepts reservations and cuts every circuit is ranked below the good one within 5 dials, and then no longer tried', async () => {
    const good = await relay()
    const bad = await relay(['--relay-data-limit', '64', '--relay-data-limit-anonymous', '64'])
    const goodId = idOf(good.addr)
    const badId = idOf(bad.addr)
    // no route cache: every dial goes by the ranking alone. Latency weighs nothing here: at the
    // default weights the AIC claim (+0.05) is worth 62 ms of RTT, and on a busy machine the two
    // relays' smoothed RTTs drift further apart than that, so a ping landing between two dials
    // flipped the ranking either way (a fresh-clone CI run saw a dial try the good relay first
    // while the ranking after the dial before still put the bad one first). This test is about
    // failed circuits; the next one is about latency
    const scorer = relayScorer({ weights: { latency: 0 } })
    const { alice } = await setUp(good.addr, bad.addr, { routeCacheTtlMs: 0, reputation: { scorer } })
    expect(rankOf(alice)[0]).toBe(badId)

    const log = await dials(alice, 5)
    const flipped = log.findIndex((d) => d.rank[0] === goodId)
    expect(flipped, JSON.stringify(log)).toBeGreaterThanOrEqual(0)
    // every dial reached bob through the good relay: the bad one only ever cost a failed attempt
    expect(log.every((d) => d.via === goodId)).toBe(true)
    // the bad relay was tried first until the ranking flipped, and failed each time
    for (const d of log.slice(0, flipped + 1)) expect(d.tried[0]).toBe(badId)
    expect(circuitsOf(alice, badId).failed).toBeGreaterThan(0.9)

    // once ranked below, the bad relay is not tried first any more (it would be second, were a
    // WebRTC attempt through the good one to fail, as one does now and then)
    const after = await dials(alice, 2)
    expect(after.map((d) => [d.via, d.tried[0]])).toEqual([[goodId, goodId], [goodId, goodId]])
    expect(rankOf(alice)).toEqual([goodId, badId])
  })

  it('a relay 500 ms away (250 ms each way) is ranked below the good one within 5 dials, and dials go through the good one', async () => {
    const good = await relay()
    // the slow relay announces only the proxy's address, so no peer learns a way around it
    const port = await freePort()
    const proxy = await startDelayProxy(port, 250)
    proxies.push(proxy)
    const slow = await startRelayProcess({ port, args: ['--announce', `/ip4/127.0.0.1/tcp/${proxy.port}/ws`] })
    relays.push(slow)
    expect(slow.addr).toContain(`/tcp/${proxy.port}/`)
    const goodId = idOf(good.addr)
    const slowId = idOf(slow.addr)
    const { alice } = await setUp(good.addr, slow.addr, { routeCacheTtlMs: 0 })

    const log = await dials(alice, 5)
    expect(log.findIndex((d) => d.rank[0] === goodId), JSON.stringify(log)).toBeGreaterThanOrEqual(0)
    expect(log.at(-1)).toMatchObject({ via: goodId, rank: [goodId, slowId] })
    expect(log.at(-1)!.tried[0]).toBe(goodId)
    const rtt = alice.scorer.toJSON().relays[slowId]?.rtt?.mean ?? 0
    expect(rtt).toBeGreaterThan(450)
    const info = alice.relays()
    expect(info[1]!.score.parts.latency).toBeGreaterThan(info[0]!.score.parts.latency + 0.5)
  })

  it('the route cache sends the next dial to the relay that worked, even while the ranking still puts the bad one first', async () => {
    const good = await relay()
    const bad = await relay(['--relay-data-limit', '64', '--relay-data-limit-anonymous', '64'])
    const goodId = idOf(good.addr)
    const badId = idOf(bad.addr)
    // a scorer that weighs the AIC claim so much that the failures cannot outweigh it
    const scorer = relayScorer({ weights: { aicSupport: 10 } })
    const { alice } = await setUp(good.addr, bad.addr, { reputation: { scorer } })
    const log = await dials(alice, 2)
    // the first dial tries the bad relay first (it ranks first) and gets through the good one; the
    // ranking after it (so before the second dial) still puts the bad one first, and the second
    // dial tries the good one first all the same: the route cache. The ranking after the second
    // dial is not checked: one fresh-clone CI run under load had the bad relay demoted during it
    // (a second failed circuit makes a relay "failing", ranked last whatever its score), which
    // says nothing about the route cache
    expect(log.map((d) => [d.via, d.tried[0]])).toEqual([[goodId, badId], [goodId, goodId]])
    expect(log[0]!.rank[0]).toBe(badId)
  })
})
