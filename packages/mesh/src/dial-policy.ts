import { isPrivate } from '@libp2p/utils'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Which addresses a mesh node may dial: the `denyDialMultiaddr` rule of its libp2p connection
 * gater, the same in browsers and Node.
 *
 * libp2p's own default differs by platform: in Node it allows everything; in browsers it refuses
 * every plain `ws://` address and every private or loopback address (to spare browsers dials
 * they cannot complete, and the console noise of insecure ones). AuraLink relays are often
 * exactly that: the relay node's zero-configuration default is `ws://127.0.0.1`, test relays
 * and self-hosted relays on a LAN are plain WebSockets on private addresses, and every WebRTC
 * dial goes to a `<relay>/p2p-circuit/webrtc/p2p/<peer>` address through such a relay. So:
 *
 * - plain WebSockets (`/ws` without `/tls` or `/wss`) may be dialled on loopback and private
 *   addresses, and to a relay the app configured (`MeshNodeInit.relays`: it asked for that
 *   address), never to another public address: a page served over https could not open it
 *   anyway (mixed content), and a public relay should be reached as `/tls/ws` (wss);
 * - secure WebSockets, WebRTC and circuit addresses may be dialled on any address, private
 *   ones included (a circuit counts as the relay hop it starts with).
 */
export function mayDialAddress (addr: Multiaddr, relays: ReadonlySet<string>): boolean {
  const components = addr.getComponents()
  const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
  // the hop we open ourselves: all of the address, or the relay part of a circuit address
  const hop = circuit === -1 ? components : components.slice(0, circuit)
  const webSocket = hop.some((c) => c.name === 'ws' || c.name === 'wss')
  const secure = hop.some((c) => c.name === 'wss' || c.name === 'tls')
  if (!webSocket || secure) return true
  if (isPrivate(addr)) return true
  const peer = hop.findLast((c) => c.name === 'p2p')?.value
  return peer !== undefined && relays.has(peer)
}

/** The connection gater of a mesh node whose configured relays are `relays`: see {@link mayDialAddress}. */
export function meshConnectionGater (relays: Iterable<PeerId>): ConnectionGater {
  const ids: ReadonlySet<string> = new Set([...relays].map((r) => r.toString()))
  return {
    denyDialMultiaddr: (addr) => !mayDialAddress(addr, ids)
  }
}
