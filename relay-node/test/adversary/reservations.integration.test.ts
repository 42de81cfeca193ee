import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../../src/index.js'
import type { RelayNode, RelayNodeInit } from '../../src/index.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

// Reservation squatting (issue 13, item 4) as a stranger does it: stock js-libp2p peers (upstream
// @libp2p/* only) sending raw circuit relay v2 RESERVE messages to a real relay node in this
// process. Every wait is bounded; every node is stopped in afterEach.

/** Circuit relay v2 status codes (the HopMessage `status` field, number 5). */
const OK = 100
const RESERVATION_REFUSED = 200
const PERMISSION_DENIED = 202
/** Inside scripts/netns.sh this address exists (al0), so a peer can come from somewhere other than 127.0.0.1. */
const OTHER_ADDRESS = '10.213.0.1'
const NETNS = process.env.AURALINK_NETNS === '1'
/** The connection limits are not under test here (another adversary test covers them): the attackers' many quick connections from one address pass. */
const CONNECTIONS: RelayNodeInit = { inboundConnectionRate: 1000 }

/** The varint field `field` of a protobuf message, or undefined. */
function varintField (bytes: Uint8Array, field: number): number | undefined {
  let i = 0
  const varint = (): number => {
    let v = 0
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++]
      if (b === undefined) throw new Error('truncated protobuf')
      v += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return v
    }
  }
  while (i < bytes.length) {
    const tag = varint()
    if ((tag & 7) === 0) {
      const v = varint()
      if (tag >>> 3 === field) return v
    } else if ((tag & 7) === 2) {
      const length = varint() // read before adding: `i += varint()` would add to the old i
      i += length
    } else {
      throw new Error(`unexpected wire type ${tag & 7}`)
    }
  }
  return undefined
}

describe('reservation squatting against a real relay node (stock js-libp2p attackers)', () => {
  const nodes: Libp2p[] = []
  let relay: RelayNode | undefined
  let dir: string | undefined
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await relay?.stop()
    relay = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  let lines: Array<{ level: number, msg: string, peer?: string, reason?: string }> = []
  const startRelay = async (init: RelayNodeInit): Promise<{ relay: RelayNode, addr: string }> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-reservations-'))
    lines = []
    const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as typeof lines[number]) } })
    relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: dir, logger, ...CONNECTIONS, ...init })
    await relay.start()
    return { relay, addr: relay.multiaddrs[0]! }
  }
  const peer = async (options: { listen?: string[], privateKey?: PrivateKey } = {}): Promise<Libp2p> => {
    const node = await createLibp2p({
      ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
      addresses: { listen: options.listen ?? [] },
      transports: [webSockets(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${relay!.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  /** Polls `read` every 100 ms until it returns `want` or `ms` pass; returns the last value read. */
  const until = async <T>(read: () => Promise<T> | T, want: T, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms
    let v = await read()
    while (v !== want && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      v = await read()
    }
    return v
  }
  /** One circuit relay v2 RESERVE on a new hop stream: the status the relay answers. */
  const reserve = async (node: Libp2p, relayAddr: string): Promise<number | undefined> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), RELAY_V2_HOP_CODEC, { signal })
    const lp = lpStream(stream)
    await lp.write(Uint8Array.of(0x08, 0x00), { signal }) // HopMessage { type: RESERVE }
    const status = varintField((await lp.read({ signal })).subarray(), 5)
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return status
  }
  /** A stock peer that reserves as js-libp2p does (listening on the relay's circuit address), bounded. */
  const listenVia = async (relayAddr: string): Promise<Libp2p> => {
    const node = await peer({ listen: [`${relayAddr}/p2p-circuit`] })
    const want = `${relayAddr}/p2p-circuit/p2p/${node.peerId.toString()}`
    expect(await until(() => node.getMultiaddrs().map(String).includes(want), true, 15_000)).toBe(true)
    return node
  }

  it('fresh peer ids that RESERVE then disconnect fill --max-reservations only until --reservation-grace: then the table empties, a legitimate peer reserves, and /metrics counts each drop', async () => {
    const { addr } = await startRelay({ maxReservations: 8, reservationGrace: 2, maxReservationsPerAddress: 100 })
    // the attack: 8 one-shot reservations, each from a new peer id that then leaves
    const squatters: Libp2p[] = []
    for (let i = 0; i < 8; i++) {
      const squatter = await peer()
      expect(await reserve(squatter, addr)).toBe(OK)
      squatters.push(squatter)
    }
    // the table is full: a newcomer is refused (and was, before, for the whole --reservation-ttl)
    const legitimate = await peer()
    expect(await reserve(legitimate, addr)).toBe(RESERVATION_REFUSED)
    expect(await metric('auralink_relay_limit_hits_total', '{limit="max_reservations"}')).toBe(1)
    await Promise.all(squatters.map(async (s) => s.stop()))
    // the squatters stay away: their reservations go after the grace
    expect(await until(async () => metric('auralink_relay_reservations', ''), 0)).toBe(0)
    expect(await until(async () => metric('auralink_relay_reservations_dropped_total', '{reason="disconnected"}'), 8)).toBe(8)
    expect(await reserve(legitimate, addr)).toBe(OK)
    // a stock js-libp2p listener reserves too, and is reachable at its circuit address
    const listener = await listenVia(addr)
    expect(relay!.libp2p.services.relay.reservations.has(listener.peerId)).toBe(true)
    expect(await metric('auralink_relay_reservations', '')).toBe(2)
    // one debug line per drop, naming the peer; no info line
    expect(lines.filter((l) => l.msg === 'reservation dropped').map((l) => [l.level, l.reason])).toEqual(new Array(8).fill([20, 'disconnected']))
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual(['starting', 'http listening', 'listening'])
  })

  it('a peer that reconnects within --reservation-grace keeps its reservation (same expiry); one that stays away loses it', async () => {
    const { addr } = await startRelay({ reservationGrace: 8 })
    const comesBack = await generateKeyPair('Ed25519')
    const first = await peer({ privateKey: comesBack })
    const staysAway = await peer()
    expect(await reserve(first, addr)).toBe(OK)
    expect(await reserve(staysAway, addr)).toBe(OK)
    const reservations = relay!.libp2p.services.relay.reservations
    const expiry = reservations.get(first.peerId)!.expiry.getTime()
    // the one that comes back leaves first, so its grace would end first
    await first.stop()
    await staysAway.stop()
    expect(await until(() => relay!.libp2p.getConnections().length, 0, 10_000)).toBe(0)
    const again = await peer({ privateKey: comesBack })
    await again.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
    // it came back in time (the grace is long enough for that on a busy machine)
    expect(reservations.has(again.peerId)).toBe(true)
    // the other's drop comes after the returning peer's grace would have ended
    expect(await until(async () => metric('auralink_relay_reservations_dropped_total', '{reason="disconnected"}'), 1)).toBe(1)
    expect(reservations.has(staysAway.peerId)).toBe(false)
    expect(reservations.get(again.peerId)?.expiry.getTime()).toBe(expiry)
    // the kept reservation still works: a refresh is answered OK
    expect(await reserve(again, addr)).toBe(OK)
  })

  it('many peer ids from one address get PERMISSION_DENIED past --max-reservations-per-address (default 8), counted; a legitimate peer from another address reserves', async ({ skip }) => {
    skip(!NETNS, `needs a second local address (${OTHER_ADDRESS}): run inside scripts/netns.sh`)
    const { relay: node } = await startRelay({ host: '0.0.0.0' })
    const port = multiaddr(node.multiaddrs[0]!).getComponents().find((c) => c.name === 'tcp')?.value
    const id = node.libp2p.peerId.toString()
    const loopback = `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`
    // the attack: 12 peer ids from 127.0.0.1, each keeping its connection open
    const statuses: Array<number | undefined> = []
    for (let i = 0; i < 12; i++) statuses.push(await reserve(await peer(), loopback))
    expect(statuses).toEqual([...new Array(8).fill(OK), ...new Array(4).fill(PERMISSION_DENIED)])
    expect(await metric('auralink_relay_limit_hits_total', '{limit="reservations_per_address"}')).toBe(4)
    // a stock listener from another address is served while the attackers hold their 8
    const listener = await listenVia(`/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)
    const held = node.libp2p.services.relay.reservations.get(listener.peerId)
    expect(held?.addr.getComponents().find((c) => c.name === 'ip4')?.value).toBe(OTHER_ADDRESS)
    expect(node.libp2p.services.relay.reservations.size).toBe(9)
  })
})
