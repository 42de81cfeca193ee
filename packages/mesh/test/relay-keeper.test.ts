import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { RelayKeeper } from '../src/relay-keeper.js'
import { relayScorer } from '../src/index.js'
import type { RelayKeeperComponents } from '../src/relay-keeper.js'
import type { RelayScorer } from '../src/index.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** A hand-made stand-in for the few libp2p calls the keeper makes. */
function fakeLibp2p (reachable: Set<string>, dialMs = 0): {
  libp2p: RelayKeeperComponents['libp2p']
  connected: Set<string>
  own: string[]
  dials: Array<{ relay: string, start: number, end?: number }>
  /** Relays whose connection the keeper aborted, in order. */
  aborted: string[]
  emit(type: string): void
} {
  const connected = new Set<string>()
  const own: string[] = []
  const dials: Array<{ relay: string, start: number, end?: number }> = []
  const aborted: string[] = []
  const listeners = new Map<string, Set<() => void>>()
  const libp2p = {
    getConnections: (peer: PeerId) => connected.has(peer.toString()) ? [{ status: 'open', abort: () => { aborted.push(peer.toString()); connected.delete(peer.toString()) } }] : [],
    getMultiaddrs: () => own.map((a) => multiaddr(a)),
    dial: async (addr: { toString(): string }) => {
      const relay = addr.toString().split('/p2p/').pop()!
      const d: { relay: string, start: number, end?: number } = { relay, start: Date.now() }
      dials.push(d)
      await new Promise((resolve) => setTimeout(resolve, dialMs))
      d.end = Date.now()
      if (!reachable.has(relay)) throw new Error('ECONNREFUSED')
      connected.add(relay)
      return {}
    },
    addEventListener: (type: string, fn: () => void) => { listeners.set(type, (listeners.get(type) ?? new Set()).add(fn)) },
    removeEventListener: (type: string, fn: () => void) => { listeners.get(type)?.delete(fn) }
  }
  return {
    libp2p: libp2p as unknown as RelayKeeperComponents['libp2p'],
    connected,
    own,
    dials,
    aborted,
    emit: (type) => { for (const fn of [...(listeners.get(type) ?? [])]) fn() }
  }
}

async function relayIds (n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
}

const addrOf = (id: string, port = 4001): string => `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`

describe('RelayKeeper and the relay scorer', () => {
  const keepers: RelayKeeper[] = []
  afterEach(() => { for (const k of keepers.splice(0)) k.stop() })

  function keeper (components: { libp2p: RelayKeeperComponents['libp2p'], scorer: RelayScorer, ping?: RelayKeeperComponents['ping'], candidates?: RelayKeeperComponents['candidates'] }, relays: string[], init: { pingTimeoutMs?: number, reservations?: number, adopt?: number, checkIntervalMs?: number, closeAfterFailedPings?: number } = {}, events = { reserved: () => {}, lost: () => {} }): RelayKeeper {
    const k = new RelayKeeper({ ...components, log: defaultLogger().forComponent('test:keeper') }, { relays: relays.map((r, i) => addrOf(r, 4001 + i)), checkIntervalMs: 20, ...init }, events)
    keepers.push(k)
    return k
  }

  it('a check pings each connected relay: recordRtt and recordUptime(true); a relay it cannot reach gets recordUptime(false) and ranks below', async () => {
    const [a, b] = await relayIds(2) as [string, string]
    const fake = fakeLibp2p(new Set([a]))
    const scorer = relayScorer()
    const pinged: string[] = []
    const k = keeper({ libp2p: fake.libp2p, scorer, ping: async (peer) => { pinged.push(peer.toString()); return 30 } }, [b, a])
    k.start()
    await expect.poll(() => scorer.toJSON().relays[a]?.rtt?.weight ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(3)
    await expect.poll(() => scorer.toJSON().relays[b]?.uptime.down ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(3)
    const snap = scorer.toJSON()
    expect(snap.relays[a]?.rtt?.mean).toBe(30)
    expect(snap.relays[a]?.uptime.up).toBeGreaterThanOrEqual(3)
    expect(snap.relays[a]?.uptime.down).toBe(0)
    expect(snap.relays[b]?.uptime.up).toBe(0)
    expect(pinged.every((p) => p === a)).toBe(true)
    expect(k.ranked().map((r) => r.peerId.toString())).toEqual([a, b])
    expect(k.connected().map((r) => r.peerId.toString())).toEqual([a])
  })

  it('a ping that fails, or outlasts pingTimeoutMs, counts as recordUptime(false) with no RTT sample; the relay drops below a healthy one', async () => {
    const [good, failing, hanging] = await relayIds(3) as [string, string, string]
    const fake = fakeLibp2p(new Set([good, failing, hanging]))
    const scorer = relayScorer()
    const signals: AbortSignal[] = []
    const ping = async (peer: PeerId, options: AbortOptions): Promise<number> => {
      const id = peer.toString()
      if (id === good) return 40
      if (id === failing) throw new Error('stream reset')
      signals.push(options.signal!)
      return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => { reject(options.signal?.reason as Error) }))
    }
    const k = keeper({ libp2p: fake.libp2p, scorer, ping }, [failing, hanging, good], { pingTimeoutMs: 30 })
    k.start()
    await expect.poll(() => scorer.toJSON().relays[hanging]?.uptime.down ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    await expect.poll(() => scorer.toJSON().relays[failing]?.uptime.down ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    const snap = scorer.toJSON()
    expect(snap.relays[failing]?.rtt).toBeUndefined()
    expect(snap.relays[hanging]?.rtt).toBeUndefined()
    expect(snap.relays[failing]?.uptime.up).toBe(0)
    expect(k.ranked()[0]?.peerId.toString()).toBe(good)
    // the keeper owns its ping signals: stop() aborts the one in flight
    k.stop()
    expect(signals.at(-1)?.aborted).toBe(true)
  })

  it('closeAfterFailedPings (3) pings in a row unanswered close the relay\'s connection, and the next check redials it; a ping answered in between starts the count again', async () => {
    const [silent, flaky] = await relayIds(2) as [string, string]
    const fake = fakeLibp2p(new Set([silent, flaky]))
    const scorer = relayScorer()
    let flakyPings = 0
    const ping = async (peer: PeerId, options: AbortOptions): Promise<number> => {
      if (peer.toString() === silent) return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => { reject(options.signal?.reason as Error) }))
      // two failures, then an answer, over and over: never three in a row
      if (++flakyPings % 3 !== 0) throw new Error('stream reset')
      return 25
    }
    const k = keeper({ libp2p: fake.libp2p, scorer, ping }, [silent, flaky], { pingTimeoutMs: 30 })
    k.start()
    await expect.poll(() => fake.aborted.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1)
    expect(fake.aborted[0]).toBe(silent)
    // redialled: a second dial of the silent relay after the close
    await expect.poll(() => fake.dials.filter((d) => d.relay === silent).length, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    await expect.poll(() => flakyPings, { timeout: 5000 }).toBeGreaterThanOrEqual(12)
    expect(fake.aborted).not.toContain(flaky)
    k.stop()
  })

  it('closeAfterFailedPings 0: a silent relay\'s connection is left open', async () => {
    const [silent] = await relayIds(1) as [string]
    const fake = fakeLibp2p(new Set([silent]))
    const scorer = relayScorer()
    const k = keeper({ libp2p: fake.libp2p, scorer, ping: async () => { throw new Error('stream reset') } }, [silent], { closeAfterFailedPings: 0 })
    k.start()
    await expect.poll(() => scorer.toJSON().relays[silent]?.uptime.down ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(6)
    expect(fake.aborted).toEqual([])
    k.stop()
  })

  it('a relay that does not speak ping (UnsupportedProtocolError) counts as up, with no RTT sample', async () => {
    const [a] = await relayIds(1) as [string]
    const fake = fakeLibp2p(new Set([a]))
    const scorer = relayScorer()
    const ping = async (): Promise<number> => { throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' }) }
    keeper({ libp2p: fake.libp2p, scorer, ping }, [a]).start()
    await expect.poll(() => scorer.toJSON().relays[a]?.uptime.up ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    expect(scorer.toJSON().relays[a]?.uptime.down).toBe(0)
    expect(scorer.toJSON().relays[a]?.rtt).toBeUndefined()
  })

  it('a reservation appearing is recordReservation(true) and reserved(); one disappearing is recordReservation(false) and lost()', async () => {
    const [a] = await relayIds(1) as [string]
    const fake = fakeLibp2p(new Set([a]))
    const scorer = relayScorer()
    const seen: string[] = []
    const k = keeper({ libp2p: fake.libp2p, scorer }, [a], {}, { reserved: () => seen.push('reserved'), lost: () => seen.push('lost') })
    k.start()
    await expect.poll(() => k.relays[0]?.state, { timeout: 5000 }).toBe('connected')
    fake.own.push(`${addrOf(a)}/p2p-circuit`)
    fake.emit('self:peer:update')
    expect(k.relays[0]?.state).toBe('reserved')
    expect(scorer.toJSON().relays[a]?.reservations.ok).toBeCloseTo(1, 2) // counters decay (half-life 1 hour)
    expect(scorer.toJSON().relays[a]?.reservations.failed).toBe(0)
    fake.own.pop()
    fake.emit('self:peer:update')
    expect(scorer.toJSON().relays[a]?.reservations.failed).toBeCloseTo(1, 2)
    expect(seen).toEqual(['reserved', 'lost'])
  })

  it('lost relays are redialled best-ranked first, the best `reservations` of them with a head start over the rest', async () => {
    const [best, mid, worst] = await relayIds(3) as [string, string, string]
    const fake = fakeLibp2p(new Set([best, mid, worst]), 50)
    const scorer = relayScorer()
    for (let i = 0; i < 5; i++) {
      scorer.recordRtt(best, 10)
      scorer.recordRtt(mid, 100)
      scorer.recordUptime(worst, false)
    }
    keeper({ libp2p: fake.libp2p, scorer }, [worst, mid, best], { reservations: 2 }).start()
    await expect.poll(() => fake.dials.filter((d) => d.end !== undefined).length, { timeout: 5000 }).toBe(3)
    expect(fake.dials.map((d) => d.relay)).toEqual([best, mid, worst])
    const last = fake.dials[2]!
    expect(last.start).toBeGreaterThanOrEqual(Math.max(fake.dials[0]!.end!, fake.dials[1]!.end!))
  })

  it('stop() ends the checks: no ping and no dial after it', async () => {
    const [a, b] = await relayIds(2) as [string, string]
    const fake = fakeLibp2p(new Set([a]))
    let pings = 0
    const k = keeper({ libp2p: fake.libp2p, scorer: relayScorer(), ping: async () => { pings++; return 5 } }, [a, b])
    k.start()
    await expect.poll(() => pings, { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    k.stop()
    const [p, d] = [pings, fake.dials.length]
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect([pings, fake.dials.length]).toEqual([p, d])
  })

  describe('known relays taken on while too few relays are up (adopt)', () => {
    const candidate = (id: string, port: number): { peerId: PeerId, addrs: ReturnType<typeof multiaddr>[] } =>
      ({ peerId: peerIdFromString(id), addrs: [multiaddr(addrOf(id, port))] })
    const origins = (k: RelayKeeper): Record<string, string> =>
      Object.fromEntries(k.relays.map((r) => [r.peerId.toString(), `${r.origin}:${r.state}`]))

    it('the only configured relay down: the best-ranked known relay is taken on and connected, one only (one relay configured)', async () => {
      const [own, good, better] = await relayIds(3) as [string, string, string]
      const fake = fakeLibp2p(new Set([good, better]))
      const scorer = relayScorer()
      for (let i = 0; i < 5; i++) { scorer.recordRtt(better, 10); scorer.recordRtt(good, 200) }
      const k = keeper({ libp2p: fake.libp2p, scorer, candidates: () => [candidate(good, 5001), candidate(better, 5002)] }, [own], { adopt: 2 })
      k.start()
      await expect.poll(() => origins(k), { timeout: 5000 }).toEqual({ [own]: 'configured:down', [better]: 'known:connected' })
      // a few more checks: still one, and the other candidate never dialled
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(k.relays).toHaveLength(2)
      expect(fake.dials.some((d) => d.relay === good)).toBe(false)
    })

    it('configured relays up: no known relay is taken on; adopt 0: none even when every relay is down', async () => {
      const [a, b, c] = await relayIds(3) as [string, string, string]
      const up = fakeLibp2p(new Set([a, b, c]))
      const k1 = keeper({ libp2p: up.libp2p, scorer: relayScorer(), candidates: () => [candidate(c, 5001)] }, [a, b], { adopt: 2 })
      k1.start()
      await expect.poll(() => k1.connected().length, { timeout: 5000 }).toBe(2)
      const down = fakeLibp2p(new Set([c]))
      const k2 = keeper({ libp2p: down.libp2p, scorer: relayScorer(), candidates: () => [candidate(c, 5001)] }, [a], { adopt: 0 })
      k2.start()
      await expect.poll(() => down.dials.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1)
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(k1.relays.map((r) => r.origin)).toEqual(['configured', 'configured'])
      expect(k2.relays.map((r) => r.peerId.toString())).toEqual([a])
      expect(up.dials.some((d) => d.relay === c)).toBe(false)
    })

    it('two configured, one down: one known relay fills the gap; a known relay that fails three redials is dropped and another taken on', async () => {
      const [a, b, dead, live] = await relayIds(4) as [string, string, string, string]
      const fake = fakeLibp2p(new Set([a, live]))
      const scorer = relayScorer()
      // the unreachable candidate ranks first, so it is taken on first
      for (let i = 0; i < 5; i++) { scorer.recordRtt(dead, 5); scorer.recordRtt(live, 300) }
      const k = keeper({ libp2p: fake.libp2p, scorer, candidates: () => [candidate(dead, 5001), candidate(live, 5002)] }, [a, b], { adopt: 1 })
      k.start()
      await expect.poll(() => fake.dials.filter((d) => d.relay === dead).length, { timeout: 5000 }).toBeGreaterThanOrEqual(1)
      // backoff doubles from the 20 ms interval: three failures within a second or so
      await expect.poll(() => origins(k), { timeout: 10_000, interval: 20 }).toEqual({ [a]: 'configured:connected', [b]: 'configured:down', [live]: 'known:connected' })
      expect(fake.dials.filter((d) => d.relay === dead)).toHaveLength(3)
    })
  })

  describe('waitForReservation()', () => {
    // the keeper's own check runs once a minute here: only the events named can wake the wait,
    // bounded by the test's 20 s
    it('resolves on transport:listening (the circuit transport holds a reservation), with no check or self:peer:update to wait for', async () => {
      const [a] = await relayIds(1) as [string]
      const fake = fakeLibp2p(new Set([a]))
      const k = keeper({ libp2p: fake.libp2p, scorer: relayScorer() }, [a], { checkIntervalMs: 60_000 })
      k.start()
      await expect.poll(() => k.relays[0]?.state, { timeout: 5000 }).toBe('connected')
      const waiting = k.waitForReservation(AbortSignal.timeout(60_000))
      fake.own.push(`${addrOf(a)}/p2p-circuit`)
      fake.emit('transport:listening')
      await waiting
      expect(k.relays[0]?.state).toBe('reserved')
    })

    it('rejects at once with RelayUnreachableError naming every address when every relay refused the connection, and not when a dial only timed out', async () => {
      const [a, b] = await relayIds(2) as [string, string]
      const fake = fakeLibp2p(new Set())
      fake.libp2p.dial = (async (addr: { toString(): string }) => {
        if (addr.toString().includes(b)) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4002'), { code: 'ECONNREFUSED' })
        // what @libp2p/websockets throws for a refused connection: the WebSocket's ErrorEvent, not an Error
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw { type: 'error', message: '' }
      }) as unknown as typeof fake.libp2p.dial
      const k = keeper({ libp2p: fake.libp2p, scorer: relayScorer() }, [a, b])
      k.start()
      const err = await k.waitForReservation(AbortSignal.timeout(60_000)).catch((e: Error) => e)
      expect(err).toMatchObject({ name: 'RelayUnreachableError' })
      expect((err as Error).message).toContain(`${addrOf(a, 4001)}: the WebSocket connection failed`)
      expect((err as Error).message).toContain(`${addrOf(b, 4002)}: connect ECONNREFUSED 127.0.0.1:4002`)

      const slow = fakeLibp2p(new Set())
      slow.libp2p.dial = (async () => { throw new DOMException('timed out', 'TimeoutError') }) as unknown as typeof slow.libp2p.dial
      const k2 = keeper({ libp2p: slow.libp2p, scorer: relayScorer() }, [a])
      k2.start()
      await expect.poll(() => k2.relays[0]?.failures, { timeout: 5000 }).toBeGreaterThan(0)
      const timedOut = await k2.waitForReservation(AbortSignal.timeout(300)).catch((e: Error) => e)
      expect(timedOut).toMatchObject({ name: 'TimeoutError' })
    })
  })
})
