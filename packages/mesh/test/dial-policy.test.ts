import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { mayDialAddress, meshConnectionGater } from '../src/dial-policy.js'

const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const relays = new Set([relay])
const may = (addr: string): boolean => mayDialAddress(multiaddr(addr), relays)

describe('mayDialAddress', () => {
  it('mayDialAddress() allows plain ws:// to loopback and private relays, and circuits through them', () => {
    expect(may(`/ip4/127.0.0.1/tcp/4001/ws/p2p/${other}`)).toBe(true)
    expect(may(`/ip6/::1/tcp/4001/ws/p2p/${other}`)).toBe(true)
    expect(may(`/dns4/localhost/tcp/4001/ws/p2p/${other}`)).toBe(true)
    expect(may(`/ip4/192.168.1.20/tcp/4001/ws/p2p/${other}`)).toBe(true)
    expect(may(`/ip4/10.213.0.1/tcp/4001/ws/p2p/${other}/p2p-circuit/webrtc/p2p/${peer}`)).toBe(true)
  })

  it('mayDialAddress() refuses plain ws:// to a public address unless it is a configured relay', () => {
    expect(may(`/ip4/1.2.3.4/tcp/80/ws/p2p/${other}`)).toBe(false)
    expect(may('/dns4/relay.example.org/tcp/80/ws')).toBe(false)
    expect(may(`/ip4/1.2.3.4/tcp/80/ws/p2p/${other}/p2p-circuit/webrtc/p2p/${peer}`)).toBe(false)
    expect(may(`/ip4/1.2.3.4/tcp/80/ws/p2p/${relay}`)).toBe(true)
    expect(may(`/ip4/1.2.3.4/tcp/80/ws/p2p/${relay}/p2p-circuit/webrtc/p2p/${peer}`)).toBe(true)
  })

  it('mayDialAddress() allows secure WebSockets and non-WebSocket addresses anywhere', () => {
    expect(may(`/dns4/relay.example.org/tcp/443/tls/ws/p2p/${other}`)).toBe(true)
    expect(may(`/ip4/1.2.3.4/tcp/443/wss/p2p/${other}`)).toBe(true)
    expect(may(`/ip4/1.2.3.4/tcp/443/tls/sni/relay.example.org/ws/p2p/${other}/p2p-circuit/webrtc/p2p/${peer}`)).toBe(true)
    expect(may(`/ip4/1.2.3.4/tcp/4001/p2p/${other}`)).toBe(true)
    expect(may(`/ip4/10.0.0.2/udp/4001/webrtc-direct/p2p/${other}`)).toBe(true)
  })

  it('meshConnectionGater(relays).denyDialMultiaddr() is the negation of mayDialAddress()', async () => {
    const gater = meshConnectionGater([peerIdFromPrivateKey(await generateKeyPair('Ed25519'))])
    expect(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/127.0.0.1/tcp/1/ws/p2p/${other}`))).toBe(false)
    expect(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/1.2.3.4/tcp/80/ws/p2p/${other}`))).toBe(true)
  })
})
