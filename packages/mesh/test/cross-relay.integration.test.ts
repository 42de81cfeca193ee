import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { startRelayProcess, stopAll } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// In the test network namespace: two real relay-node processes in one relay network (B
// bootstraps from A; names travel in their DHT), alice attached to A only, bob to B only. A record
// names the relays its holder is reachable through, so alice can call bob although they share none.
describe('dial by AuraID across relays', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  afterEach(async () => { await stopAll(nodes, relays) })

  async function peer (addr: string): Promise<MeshNode> {
    const node = await createMeshNode({ relays: [addr] })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    return node
  }

  it('alice on relay A dials @bob.aura, whose only relay is B: his record names B, alice connects to B and gets a direct connection', async () => {
    const a = await startRelayProcess()
    relays.push(a)
    const b = await startRelayProcess({ args: ['--bootstrap', a.addr] })
    relays.push(b)
    const alice = await peer(a.addr)
    const bob = await peer(b.addr)
    const record = await bob.register('@bob.aura')
    expect(record.relays).toEqual([b.addr])
    await bob.handle('/test/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })

    // relay A answers from the DHT, with B in the record (the DHT put may take a moment)
    await expect.poll(async () => (await alice.resolve('@bob.aura', { cache: false }).catch(() => undefined))?.relays, { timeout: 20_000, interval: 250 }).toEqual([b.addr])
    const conn = await alice.dial('@bob.aura', { signal: AbortSignal.timeout(60_000) })
    expect(conn.path).toBe('direct')
    expect(conn.relay?.toString()).toBe(b.addr.split('/p2p/').pop())
    expect(conn.remotePeer.equals(bob.peerId)).toBe(true)
    const stream = await conn.newStream('/test/echo/1.0.0')
    stream.send(new TextEncoder().encode('across relays'))
    const echoed = await (async () => {
      for await (const chunk of stream) return new TextDecoder().decode(chunk.subarray())
    })()
    expect(echoed).toBe('across relays')
    await stream.close()
  })
})
