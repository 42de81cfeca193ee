import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { relayMetric, startRelayProcess, stopAll } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// In the test network namespace: two real relay-node processes in one relay network (B
// bootstraps from A; each learns the other from its signed advert). Bob is configured with relay
// A only and hears of B from A's relay list. When A dies, bob takes B on (adoptKnownRelays),
// reserves there and signs his record again naming B, so alice, on B only, still reaches him.
describe('a peer whose only relay dies moves to a relay it heard of', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  afterEach(async () => { await stopAll(nodes, relays) })

  async function peer (addr: string, init: { adoptKnownRelays?: number } = {}): Promise<MeshNode> {
    const node = await createMeshNode({ relays: [addr], relayCheckIntervalMs: 250, ...init })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    return node
  }

  async function network (): Promise<{ a: RelayProcess, b: RelayProcess, idA: string, idB: string }> {
    const a = await startRelayProcess()
    relays.push(a)
    const b = await startRelayProcess({ args: ['--bootstrap', a.addr] })
    relays.push(b)
    // A must hold B's advert before bob asks A for its relay list (he asks again only every 5 minutes)
    await expect.poll(async () => relayMetric(a, /^auralink_known_relays (\d+)$/m), { timeout: 20_000, interval: 250 }).toBe(1)
    return { a, b, idA: a.addr.split('/p2p/').pop()!, idB: b.addr.split('/p2p/').pop()! }
  }

  async function kill (relay: RelayProcess): Promise<void> {
    const exited = new Promise((resolve) => relay.child.once('exit', resolve))
    relay.child.kill('SIGKILL')
    await exited
  }

  it('relay A is SIGKILLed: within 30 s bob holds a reservation on B, his record names B, and alice on B dials @bob.aura directly', async () => {
    const { a, b, idA, idB } = await network()
    const bob = await peer(a.addr)
    await expect.poll(() => bob.knownRelays().map((r) => r.peerId.toString()), { timeout: 15_000, interval: 250 }).toEqual([idB])
    const first = await bob.register('@bob.aura')
    expect(first.relays).toEqual([a.addr])
    // while A is up, bob holds no more than it was configured with
    expect(bob.relays().map((r) => [r.peerId.toString(), r.origin])).toEqual([[idA, 'configured']])
    await bob.handle('/test/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })

    await kill(a)
    const t0 = Date.now()
    await expect.poll(() => bob.relays().find((r) => r.peerId.toString() === idB)?.state, { timeout: 30_000, interval: 100 }).toBe('reserved')
    const moved = Date.now() - t0
    expect(bob.relays().find((r) => r.peerId.toString() === idB)?.origin).toBe('known')
    expect(moved).toBeLessThan(30_000)

    const alice = await peer(b.addr)
    // bob signed his record again with B in it and registered it at B
    await expect.poll(async () => (await alice.resolve('@bob.aura', { cache: false }).catch(() => undefined))?.relays, { timeout: 15_000, interval: 250 }).toEqual([b.addr])
    const conn = await alice.dial('@bob.aura', { signal: AbortSignal.timeout(60_000) })
    expect(conn.path).toBe('direct')
    expect(conn.relay?.toString()).toBe(idB)
    const stream = await conn.newStream('/test/echo/1.0.0')
    stream.send(new TextEncoder().encode('after the move'))
    const echoed = await (async () => {
      for await (const chunk of stream) return new TextDecoder().decode(chunk.subarray())
    })()
    expect(echoed).toBe('after the move')
    await stream.close()
  })

  it('adoptKnownRelays: 0 keeps bob to relay A: after A dies he takes no other relay', async () => {
    const { a, idA, idB } = await network()
    const bob = await peer(a.addr, { adoptKnownRelays: 0 })
    await expect.poll(() => bob.knownRelays().map((r) => r.peerId.toString()), { timeout: 15_000, interval: 250 }).toEqual([idB])
    await kill(a)
    await expect.poll(() => bob.relays().map((r) => r.state), { timeout: 10_000, interval: 100 }).toEqual(['down'])
    // several checks (250 ms apart) later: still only A
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    expect(bob.relays().map((r) => r.peerId.toString())).toEqual([idA])
  })
})
