import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server, Socket } from 'node:net'

/** Why the socket guard refused or closed a socket (`auralink_relay_connections_refused_total{reason}`). */
export type SocketRefusal = 'max_sockets' | 'sockets_per_address' | 'headers_timeout'

/**
 * The key per-address limits count under: an IPv4 address (also IPv4-mapped IPv6), or the /64
 * of an IPv6 address, the block one subscriber usually gets (so one host cannot step around a
 * per-address limit by taking a new address from its /64).
 */
export function addressKey (ip: string): string {
  const bare = ip.replace(/%.*$/, '').toLowerCase()
  if (!bare.includes(':')) return bare
  // an embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups
  const hex = bare.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`)
  const [head = '', tail] = hex.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const fill = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0')
  const g = [...h, ...fill, ...t].map((x) => parseInt(x, 16) || 0)
  // IPv4-mapped, in either spelling (Node's sockets say ::ffff:10.0.0.1, multiaddrs ::ffff:a00:1)
  if (g.length === 8 && g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.')
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`
}

/** `addressKey` of a multiaddr's IP (`ip4` or `ip6`); undefined for a multiaddr with none. */
export function multiaddrAddressKey (addr: Multiaddr): string | undefined {
  const ip = addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
  return ip === undefined ? undefined : addressKey(ip)
}

export interface SocketGuardInit {
  /** Sockets open at once on the server (Node's `server.maxConnections`: past it a new socket is closed at once). */
  maxSockets: number
  /** Sockets open at once from one address (`addressKey`). */
  maxPerAddress: number
  /**
   * A socket that `done()` was not called for by then is destroyed (and counted as
   * `headers_timeout`). @default undefined (no deadline)
   */
  deadlineMs?: number
  /** Hears of every refusal; a listener that throws does not change the outcome. */
  onRefuse?: (reason: SocketRefusal, address: string) => void
}

export interface SocketGuard {
  /** The socket finished what it had the deadline for (its WebSocket upgrade): no deadline any more. */
  done(socket: Socket): void
  /** Sockets open now from the address key of `ip`. */
  count(ip: string): number
}

/**
 * Caps a `node:net` server's (or `node:http` server's) sockets, in total and per remote address,
 * at the moment each is accepted: before a byte is read, so idle or partial requests cannot
 * hold more descriptors than the caps allow. The server's own `'connection'` listeners (the
 * http server's parser, @libp2p/websockets' first-byte sniffer) are moved behind the check, so
 * a refused socket never reaches them. Call it once, after the server is made and before it
 * listens.
 */
export function guardSockets (server: Server, init: SocketGuardInit): SocketGuard {
  const perAddress = new Map<string, number>()
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>()
  const refuse = (reason: SocketRefusal, address: string): void => {
    try {
      init.onRefuse?.(reason, address)
    } catch {
      // a metrics listener that throws must not keep the socket open
    }
  }
  server.maxConnections = init.maxSockets
  server.on('drop', (data?: { remoteAddress?: string }) => { refuse('max_sockets', data?.remoteAddress ?? '') })
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const key = addressKey(address)
    const n = perAddress.get(key) ?? 0
    if (n >= init.maxPerAddress) {
      refuse('sockets_per_address', address)
      socket.destroy()
      return
    }
    perAddress.set(key, n + 1)
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1
      if (left > 0) perAddress.set(key, left)
      else perAddress.delete(key)
      clearTimeout(deadlines.get(socket))
    })
    if (init.deadlineMs !== undefined) {
      const timer = setTimeout(() => {
        if (socket.destroyed) return
        refuse('headers_timeout', address)
        socket.destroy()
      }, init.deadlineMs)
      timer.unref()
      deadlines.set(socket, timer)
    }
    for (const handler of handlers) handler.call(server, socket)
  })
  return {
    done (socket) {
      clearTimeout(deadlines.get(socket))
      deadlines.delete(socket)
    },
    count (ip) {
      return perAddress.get(addressKey(ip)) ?? 0
    }
  }
}
