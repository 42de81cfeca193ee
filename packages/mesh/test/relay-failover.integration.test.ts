import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { MeshNode, RelayInfo } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// In the test network namespace: two real relay-node processes, one killed with SIGKILL. The
// scores the mesh nodes keep from their own checks (pings, reservations, uptime) must rank the
// dead relay below the live one, and a new dial by AuraID must go through the live one.
describe('relay reputation with two real relay nodes, one killed', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    for (const r of relays.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) await r.stop()
      await removeDir(r.dataDir)
    }
  })

  async function peer (addrs: string[]): Promise<MeshNode> {
    const node = await createMeshNode({ relays: addrs, relayCheckIntervalMs: 250 })
    nodes.push(node)
    await node.start()
    return node
  }

  const idOf = (r: RelayProcess): string => r.addr.split('/p2p/').pop()!
  const rankOf = (node: MeshNode): string[] => node.relays().map((r) => r.peerId.toString())
  const infoOf = (node: MeshNode, id: string): RelayInfo => node.relays().find((r) => r.peerId.toString() === id)!

  it('relays() ranks a SIGKILLed relay below the live one within 10 s, and dial("@bob.aura") from another peer succeeds through the live relay', async () => {
    const r1 = await startRelayProcess()
    relays.push(r1)
    const r2 = await startRelayProcess()
    relays.push(r2)
    const addrs = [r1.addr, r2.addr]

    const bob = await peer(addrs)
    // two relays, two reservation slots: bob holds one on each
    await expect.poll(() => bob.relays().map((r) => r.state), { timeout: 15_000, interval: 100 }).toEqual(['reserved', 'reserved'])
    await bob.register('@bob.aura')
    const alice = await peer(addrs)
    await expect.poll(() => alice.relays().every((r) => r.state === 'connected' || r.state === 'reserved'), { timeout: 15_000, interval: 100 }).toBe(true)
    // a few pings each, so both relays are measured before one dies
    await expect.poll(() => alice.relays().every((r) => (alice.scorer.toJSON().relays[r.peerId.toString()]?.rtt?.weight ?? 0) >= 2), { timeout: 10_000, interval: 100 }).toBe(true)

    // kill the relay alice ranks first, so the order has to change
    const [topId] = rankOf(alice)
    const dead = idOf(r1) === topId ? r1 : r2
    const live = dead === r1 ? r2 : r1
    const deadId = idOf(dead)
    const liveId = idOf(live)
    const exited = new Promise((resolve) => dead.child.once('exit', resolve))
    dead.child.kill('SIGKILL')
    await exited

    for (const node of [alice, bob]) {
      await expect.poll(() => rankOf(node), { timeout: 10_000, interval: 100 }).toEqual([liveId, deadId])
      expect(infoOf(node, deadId).state).toBe('down')
      expect(infoOf(node, deadId).score.total).toBeLessThan(infoOf(node, liveId).score.total)
      // each check since counts the dead relay down and the live one up
      await expect.poll(() => infoOf(node, liveId).score.parts.uptime - infoOf(node, deadId).score.parts.uptime, { timeout: 10_000, interval: 100 }).toBeGreaterThan(0)
    }
    // bob saw his reservation on the dead relay go
    expect(bob.scorer.toJSON().relays[deadId]?.reservations.failed).toBeGreaterThan(0.9) // one loss, decaying
    expect(infoOf(bob, liveId).state).toBe('reserved')

    const conn = await alice.dial('@bob.aura', { signal: AbortSignal.timeout(60_000) })
    expect(conn.path).toBe('direct')
    expect(conn.remotePeer.equals(bob.peerId)).toBe(true)
    const circuits = alice.scorer.toJSON().relays
    expect(circuits[liveId]?.circuits.ok).toBeGreaterThan(0.9)
    expect(circuits[deadId]?.circuits).toEqual({ ok: 0, failed: 0 })
    expect(rankOf(alice)[0]).toBe(liveId)
  })
})
