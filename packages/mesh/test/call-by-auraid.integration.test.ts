import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { startRelayProcess, stopAll } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// The foundation's end-to-end case, in the test network namespace: a real relay-node process,
// two mesh nodes register @alice.aura and @bob.aura, alice dials bob by name, the connection
// is direct WebRTC, 10 MB go there and back intact; then the relay restarts and both names
// still resolve from its LevelDB store.
describe('call by AuraID through a real relay node', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  afterEach(async () => { await stopAll(nodes, relays) })

  async function peer (addr: string): Promise<MeshNode> {
    const node = await createMeshNode({ relays: [addr], relayCheckIntervalMs: 250 })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    return node
  }

  it('dial("@bob.aura") gives a direct connection that echoes 10 MB intact; names and reservations survive a relay restart', async () => {
    const relay = await startRelayProcess()
    relays.push(relay)
    const alice = await peer(relay.addr)
    const bob = await peer(relay.addr)
    await alice.register('@alice.aura')
    await bob.register('@bob.aura', { visibility: 'unlisted' })

    await bob.handle('/test/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })

    const conn = await alice.dial('@bob.aura')
    expect(conn.path).toBe('direct')
    expect(conn.direct).toBe(true)
    expect(conn.auraId).toBe('@bob.aura')
    expect(conn.connection.limits).toBeUndefined()
    expect(conn.connection.remoteAddr.toString()).toContain('/webrtc')
    expect(conn.remotePeer.equals(bob.peerId)).toBe(true)

    const data = randomBytes(10 * 1024 * 1024)
    const stream = await conn.newStream('/test/echo/1.0.0')
    const received = (async () => {
      const hash = createHash('sha256')
      let n = 0
      for await (const chunk of stream) {
        hash.update(chunk.subarray())
        n += chunk.byteLength
      }
      return { n, digest: hash.digest('hex') }
    })()
    for (let off = 0; off < data.length; off += 64 * 1024) {
      if (!stream.send(data.subarray(off, off + 64 * 1024))) await stream.onDrain()
    }
    await stream.close()
    const echoed = await received
    expect(echoed.n).toBe(data.length)
    expect(echoed.digest).toBe(createHash('sha256').update(data).digest('hex'))

    // restart the relay on the same port and data dir: the names are still there
    const port = Number(/tcp\/(\d+)/.exec(relay.addr)?.[1])
    expect(await relay.stop()).toBe(0)
    relays.pop()
    const again = await startRelayProcess({ dataDir: relay.dataDir, port })
    relays.push(again)
    expect(again.addr).toBe(relay.addr) // same key, same port: same address

    const carol = await peer(again.addr)
    expect((await carol.resolve('@alice.aura')).peerId.equals(alice.peerId)).toBe(true)
    const bobRecord = await carol.resolve('@bob.aura')
    expect(bobRecord.peerId.equals(bob.peerId)).toBe(true)
    expect(bobRecord.visibility).toBe('unlisted')

    // alice and bob got their reservations back by themselves, so carol reaches bob directly
    await bob.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    const again2 = await carol.dial('@bob.aura')
    expect(again2.path).toBe('direct')
  })

  it('dial() of an AuraID nobody registered fails fast with AuraIdNotFoundError', async () => {
    const relay = await startRelayProcess()
    relays.push(relay)
    const alice = await peer(relay.addr)
    const t0 = Date.now()
    await expect(alice.dial('@nobody-here.aura')).rejects.toThrow(expect.objectContaining({ name: 'AuraIdNotFoundError' }))
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('register() of a name another key holds rejects with DirectoryRejectedError NAME_TAKEN', async () => {
    const relay = await startRelayProcess()
    relays.push(relay)
    const alice = await peer(relay.addr)
    const mallory = await peer(relay.addr)
    await alice.register('@alice.aura')
    await expect(mallory.register('@alice.aura')).rejects.toThrow(expect.objectContaining({ name: 'DirectoryRejectedError', code: 'ERR_DIRECTORY_REJECTED', reason: 'NAME_TAKEN' }))
    await expect(mallory.register('@a1ice.aura')).rejects.toThrow(expect.objectContaining({ reason: 'NAME_TAKEN' }))
    expect((await mallory.resolve('@alice.aura', { cache: false })).peerId.equals(alice.peerId)).toBe(true)
  })

  it('search() lists public names by prefix; unregister() releases a name so another key can take it', async () => {
    const relay = await startRelayProcess()
    relays.push(relay)
    const alice = await peer(relay.addr)
    const bob = await peer(relay.addr)
    await alice.register('@alice.aura')
    await alice.register('@alicia.aura', { visibility: 'unlisted' })
    await bob.register('@albert.aura', { profile: { displayName: 'Albert' } })
    const found = await bob.search('al')
    expect(found.map((r) => r.name)).toEqual(['@albert.aura', '@alice.aura'])
    expect(found[0]?.profile?.displayName).toBe('Albert')

    await alice.unregister('@alice.aura')
    await expect(bob.resolve('@alice.aura', { cache: false })).rejects.toThrow(expect.objectContaining({ name: 'AuraIdNotFoundError' }))
    const taken = await bob.register('@alice.aura')
    expect(taken.peerId.equals(bob.peerId)).toBe(true)
  })
})
