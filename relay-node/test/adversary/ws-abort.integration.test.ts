import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, metric, NETNS, OTHER_ADDRESS, ping, startRelay, stockPeer, until } from './harness.js'
import type { RelayNode } from '../../src/index.js'

// A connection the relay aborts (its connection monitor's failed ping, a muxer error, a stream
// limit) whose peer then keeps the socket open and says nothing. @libp2p/websockets (10.1.x)
// aborts by sending WebSocket close code 1006, which `ws` refuses to send (it throws), so
// without the relay's own terminate the socket stayed open for as long as the peer held it,
// counted against --max-sockets-per-address and --max-sockets although libp2p had forgotten the
// connection. The test aborts the relay's side with `connection.abort()` (what those paths
// call); the attacker is a stock js-libp2p peer (upstream @libp2p/* only) from 127.0.0.1, the
// legitimate peer dials 10.213.0.1 (scripts/netns.sh puts it on al0). Every wait is bounded;
// every node is stopped in afterEach.

/** `auralink_relay_connections_refused_total{listener="websocket",reason="sockets_per_address"}` from GET /metrics. */
const socketsPerAddress = async (relay: RelayNode): Promise<number> =>
  metric(relay, 'auralink_relay_connections_refused_total', { listener: 'websocket', reason: 'sockets_per_address' })

describe.skipIf(!NETNS)('aborted WebSocket connections against a real relay node (needs scripts/netns.sh for a second source address; skipped outside it)', () => {
  afterEach(cleanup)

  it('connection.abort() on the relay\'s side of a stock peer\'s connection, the peer keeping its socket: the relay closes the socket, so its --max-sockets-per-address slot comes free; a stock peer from another address connects meanwhile', async () => {
    // one socket per address: the aborted connection's socket, while it stays open, is the only one 127.0.0.1 gets
    const { relay, port, id } = await startRelay({ host: '0.0.0.0', maxSocketsPerAddress: 1 })
    const addr = `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`

    const attacker = await stockPeer()
    expect(await ping(attacker, addr)).toBe(true)
    const connection = relay.libp2p.getConnections(attacker.peerId)[0]
    expect(connection).toBeDefined()
    connection!.abort(new Error('aborted by the test, as the connection monitor aborts a peer that stopped answering'))
    expect(await until(() => relay.libp2p.getConnections(attacker.peerId).length, 0, 10_000)).toBe(0)

    // a legitimate peer from another address is served meanwhile
    const legitimate = await stockPeer()
    expect(await ping(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).toBe(true)

    // the relay closed the aborted connection's socket (the attacker never closes it: its own
    // abort path sends the same 1006), so a new peer from 127.0.0.1 gets the address's one socket
    const next = await stockPeer()
    const served = await until(async () => ping(next, addr, { force: true }), true, 15_000)
    expect(served, `127.0.0.1 still locked out: ${await socketsPerAddress(relay)} sockets refused by --max-sockets-per-address`).toBe(true)
  })
})
