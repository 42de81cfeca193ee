import { createServer, connect } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { connectionGuard } from '../src/connection-guard.js'
import { addressKey, guardSockets } from '../src/socket-guard.js'
import type { Libp2pRefusal } from '../src/connection-guard.js'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Socket } from 'node:net'

/** Peer ids as the guard reads them: by toString() only. */
const PEER_A = { toString: () => 'peer-a' } as unknown as PeerId
const PEER_B = { toString: () => 'peer-b' } as unknown as PeerId

/** A hand-made MultiaddrConnection: its remote address, its status, and a close() that fires 'close'. */
function fakeConn (addr: string): MultiaddrConnection & { end(): void } {
  const target = new EventTarget()
  const conn = Object.assign(target, {
    remoteAddr: multiaddr(addr),
    status: 'open',
    end () {
      conn.status = 'closed'
      target.dispatchEvent(new Event('close'))
    }
  })
  return conn as unknown as MultiaddrConnection & { end(): void }
}

const limits = { maxConnectionsPerAddress: 3, maxPendingConnectionsPerAddress: 2, maxConnectionsPerPeer: 2, maxConnections: 300, maxPendingConnections: 64, handshakeTimeoutMs: 5000 }

describe('addressKey', () => {
  it('addressKey() keeps an IPv4 address, unwraps IPv4-mapped IPv6, and groups IPv6 by /64', () => {
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1')
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1')
    // as a multiaddr spells it: remoteKey() and the reservation cap pass multiaddr values here
    expect(addressKey('::ffff:a00:1')).toBe('10.0.0.1')
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('2001:DB8:0001:0002::1%eth0')).toBe('2001:db8:1:2::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
  })
})

describe('connectionGuard', () => {
  const guard = (): { gater: ReturnType<typeof connectionGuard>['gater'], hits: Libp2pRefusal[], g: ReturnType<typeof connectionGuard> } => {
    const hits: Libp2pRefusal[] = []
    const g = connectionGuard({ ...limits, onRefuse: (reason) => { hits.push(reason) } })
    return { gater: g.gater, hits, g }
  }

  it('denyInboundConnection() refuses past maxPendingConnectionsPerAddress until a handshake finishes, and counts pending_per_address', async () => {
    const { gater, hits } = guard()
    const a = fakeConn('/ip4/10.0.0.1/tcp/1/ws')
    const b = fakeConn('/ip4/10.0.0.1/tcp/2/ws')
    expect(await gater.denyInboundConnection(a)).toBe(false)
    expect(await gater.denyInboundConnection(b)).toBe(false)
    expect(await gater.denyInboundConnection(fakeConn('/ip4/10.0.0.1/tcp/3/ws'))).toBe(true)
    expect(hits).toEqual(['pending_per_address'])
    // another address is not affected
    expect(await gater.denyInboundConnection(fakeConn('/ip4/10.0.0.2/tcp/1/ws'))).toBe(false)
    // a's handshake is done: a pending slot frees
    expect(await gater.denyInboundUpgradedConnection(PEER_A, a)).toBe(false)
    expect(await gater.denyInboundConnection(fakeConn('/ip4/10.0.0.1/tcp/4/ws'))).toBe(false)
  })

  it('denyInboundConnection() refuses past maxConnectionsPerAddress (handshakes included) until one closes, and counts connections_per_address', async () => {
    const { gater, hits } = guard()
    const conns = [1, 2, 3].map((p) => fakeConn(`/ip4/10.0.0.1/tcp/${p}/ws`))
    for (const c of conns) {
      expect(await gater.denyInboundConnection(c)).toBe(false)
      await gater.denyInboundUpgradedConnection(PEER_A, c)
    }
    expect(await gater.denyInboundConnection(fakeConn('/ip4/10.0.0.1/tcp/9/ws'))).toBe(true)
    expect(hits).toEqual(['connections_per_address'])
    conns[0]!.end()
    expect(await gater.denyInboundConnection(fakeConn('/ip4/10.0.0.1/tcp/10/ws'))).toBe(false)
  })

  it('denyInboundEncryptedConnection() refuses a peer id past maxConnectionsPerPeer until one closes, and counts connections_per_peer', async () => {
    const { gater, hits, g } = guard()
    const conns = [1, 2, 3].map((p) => fakeConn(`/ip4/10.0.0.${p}/tcp/1/ws`))
    for (const c of conns) expect(await gater.denyInboundConnection(c)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection(PEER_A, conns[0]!)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection(PEER_A, conns[1]!)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection(PEER_A, conns[2]!)).toBe(true)
    expect(await gater.denyInboundEncryptedConnection(PEER_B, conns[2]!)).toBe(false)
    expect(hits).toEqual(['connections_per_peer'])
    conns[0]!.end()
    const again = fakeConn('/ip4/10.0.0.9/tcp/1/ws')
    expect(await gater.denyInboundConnection(again)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection(PEER_A, again)).toBe(false)
    // every count comes back when everything closes
    for (const c of [...conns, again]) c.end()
    expect(g.counts()).toEqual({ pending: 0, open: 0 })
  })

  it('upgradeFailed() names libp2p\'s own refusals and handshake timeouts, and nothing once stopped', () => {
    const { hits, g } = guard()
    const conn = (): MultiaddrConnection => fakeConn('/ip4/10.0.0.1/tcp/1/ws')
    g.attach({ connections: () => 0 })
    g.upgradeFailed(conn(), Object.assign(new Error('Connection denied'), { name: 'ConnectionDeniedError' }), 1)
    g.upgradeFailed(conn(), new Error('aborted'), 5000)
    g.upgradeFailed(conn(), new Error('bad handshake'), 10)
    g.attach({ connections: () => 300 })
    g.upgradeFailed(conn(), Object.assign(new Error('Connection denied'), { name: 'ConnectionDeniedError' }), 1)
    g.stop()
    g.upgradeFailed(conn(), new Error('aborted'), 5000)
    expect(hits).toEqual(['inbound_rate', 'handshake_timeout', 'max_connections'])
  })

  it('upgradeFailed(maConn) gives back the counts of a connection whose handshake failed, before it closes', async () => {
    const { gater, g } = guard()
    const a = fakeConn('/ip4/10.0.0.1/tcp/1/ws')
    expect(await gater.denyInboundConnection(a)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection(PEER_A, a)).toBe(false)
    expect(g.counts()).toEqual({ pending: 1, open: 1 })
    g.upgradeFailed(a, new Error('muxer'), 10)
    expect(g.counts()).toEqual({ pending: 0, open: 0 })
    a.end() // counted once
    expect(g.counts()).toEqual({ pending: 0, open: 0 })
  })
})

describe('guardSockets', () => {
  it('guardSockets(server) closes a socket past maxPerAddress at once, and one that is not done() by deadlineMs', async () => {
    const server = createServer((socket) => { socket.on('error', () => {}) })
    const refusals: string[] = []
    const guard = guardSockets(server, { maxSockets: 100, maxPerAddress: 2, deadlineMs: 300, onRefuse: (reason) => { refusals.push(reason) } })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const clients: Socket[] = []
    const closed: number[] = []
    try {
      const started = Date.now()
      for (let i = 0; i < 3; i++) {
        const c = connect(port, '127.0.0.1')
        c.on('error', () => {})
        c.once('close', () => { closed.push(Date.now() - started) })
        clients.push(c)
      }
      const end = Date.now() + 5000
      while (closed.length < 3 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(closed.length).toBe(3)
      expect(refusals).toEqual(['sockets_per_address', 'headers_timeout', 'headers_timeout'])
      expect(guard.count('127.0.0.1')).toBe(0)
    } finally {
      for (const c of clients) c.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
