import { PING_PROTOCOL } from '@libp2p/ping'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'
import type { Connection, Stream } from '@libp2p/interface'

// A mesh node pings its relays twice over: the relay keeper (relay-ping.ts, every check) and
// libp2p's connection monitor (every connection, every 10 s, on the same /ipfs/ping/1.0.0), which
// aborts the connection when its ping stream cannot open. Under CPU load the two overlapped now
// and then; with the ping service's one outbound stream the monitor's failed and the relay
// connection was dropped (the reservation lost, dials to the node refused by the relay with
// MALFORMED_MESSAGE meanwhile). Real relay-node process, loopback only.

const PING_BYTES = 32

/** One ping the way libp2p's connection monitor sends it (connection-monitor.js): its own stream, 32 bytes echoed. */
async function monitorPing (conn: Connection, signal: AbortSignal): Promise<void> {
  const stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
  const data = crypto.getRandomValues(new Uint8Array(PING_BYTES))
  let got = 0
  stream.send(data)
  for await (const chunk of stream) {
    got += chunk.byteLength
    if (got >= PING_BYTES) break
  }
  await stream.close({ signal })
}

describe('a mesh node\'s pings of its relay (real relay-node process)', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  const held: Stream[] = []
  afterEach(async () => {
    for (const s of held.splice(0)) s.abort(new Error('test over'))
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    for (const r of relays.splice(0)) {
      await r.stop()
      await removeDir(r.dataDir)
    }
  })

  it('while a keeper ping stream is open, a connection-monitor ping on the same relay connection opens and answers, and the connection and reservation stay', async () => {
    const relay = await startRelayProcess()
    relays.push(relay)
    const node = await createMeshNode({ relays: [relay.addr] })
    nodes.push(node)
    await node.start()
    await expect.poll(() => node.relays().map((r) => r.state), { timeout: 15_000, interval: 100 }).toEqual(['reserved'])
    const relayId = node.relays()[0]!.peerId
    const [conn] = node.libp2p.getConnections(relayId)
    expect(conn).toBeDefined()

    // the keeper's ping, caught mid-flight: its stream open on the relay connection
    const keeper = await conn!.newStream(PING_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    held.push(keeper)
    // the monitor's heartbeat now: before the fix, "Too many outbound protocol streams ... 2/1"
    // (and libp2p aborts the connection on it)
    await monitorPing(conn!, AbortSignal.timeout(10_000))

    expect(conn!.status).toBe('open')
    expect(node.libp2p.getConnections(relayId)).toEqual([conn])
    expect(node.relays().map((r) => r.state)).toEqual(['reserved'])
  })
})
