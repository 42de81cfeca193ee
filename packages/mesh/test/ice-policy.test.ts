import { describe, expect, it } from 'vitest'
import { IcePolicy } from '../src/ice-policy.js'
import { splitIceServers } from '../src/ice-servers.js'

const SERVERS = [{ urls: 'stun:s.example:3478' }, { urls: 'turn:t.example:3478', username: 'u', credential: 'p' }]

/** A promise and its resolve, for an attempt the test ends when it wants. */
function deferred (): { promise: Promise<void>, resolve(): void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

const tick = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 0)) }

describe('IcePolicy', () => {
  it('rtcConfiguration() gives the STUN servers only while no TURN attempt runs, the TURN servers with iceTransportPolicy relay while one does', async () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    expect(ice.rtcConfiguration()).toEqual({ iceServers: [{ urls: ['stun:s.example:3478'] }], iceTransportPolicy: 'all' })
    const seen: RTCConfiguration[] = []
    await ice.run('turn', async () => { seen.push(ice.rtcConfiguration()) })
    expect(seen).toEqual([{ iceServers: [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }], iceTransportPolicy: 'relay' }])
    expect(ice.rtcConfiguration().iceTransportPolicy).toBe('all')
    await ice.run('direct', async () => { seen.push(ice.rtcConfiguration()) })
    expect(seen[1]?.iceTransportPolicy).toBe('all')
  })

  it('rtcConfiguration() returns a fresh object each time (libp2p and node-datachannel rewrite the one they get)', () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    const a = ice.rtcConfiguration()
    a.iceServers![0]!.urls = 'stun:changed'
    expect(ice.rtcConfiguration().iceServers).toEqual([{ urls: ['stun:s.example:3478'] }])
  })

  it('run("turn") waits for running direct attempts, and direct attempts that come later wait for it', async () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    const order: string[] = []
    const d1 = deferred()
    const first = ice.run('direct', async () => { order.push('direct 1 start'); await d1.promise; order.push('direct 1 end') })
    const t = deferred()
    const turn = ice.run('turn', async () => { order.push(`turn start (${ice.rtcConfiguration().iceTransportPolicy})`); await t.promise; order.push('turn end') })
    const second = ice.run('direct', async () => { order.push(`direct 2 (${ice.rtcConfiguration().iceTransportPolicy})`) })
    await tick()
    expect(order).toEqual(['direct 1 start'])
    d1.resolve()
    await first
    await tick()
    expect(order).toEqual(['direct 1 start', 'direct 1 end', 'turn start (relay)'])
    t.resolve()
    await Promise.all([turn, second])
    expect(order).toEqual(['direct 1 start', 'direct 1 end', 'turn start (relay)', 'turn end', 'direct 2 (all)'])
  })

  it('run() lets attempts of one phase run together', async () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    const d = deferred()
    let running = 0
    let most = 0
    const attempt = async (): Promise<void> => { running++; most = Math.max(most, running); await d.promise; running-- }
    const all = Promise.all([ice.run('turn', attempt), ice.run('turn', attempt)])
    await tick()
    expect(ice.turnAttempts).toBe(2)
    d.resolve()
    await all
    expect(most).toBe(2)
    expect(ice.turnAttempts).toBe(0)
  })

  it('run() of an attempt that throws still lets the waiting ones in', async () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    const failing = ice.run('turn', async () => { throw new Error('ICE failed') })
    const next = ice.run('direct', async () => 'ran')
    await expect(failing).rejects.toThrow('ICE failed')
    await expect(next).resolves.toBe('ran')
  })

  it('run() rejects with the signal\'s reason when the caller aborts while it waits, and the queue goes on', async () => {
    const ice = new IcePolicy(splitIceServers(SERVERS))
    const d = deferred()
    const holding = ice.run('direct', async () => d.promise)
    const controller = new AbortController()
    const waiting = ice.run('turn', async () => 'never', { signal: controller.signal })
    const after = ice.run('turn', async () => 'ran')
    controller.abort(new Error('caller gave up'))
    await expect(waiting).rejects.toThrow('caller gave up')
    d.resolve()
    await holding
    await expect(after).resolves.toBe('ran')
    await expect(ice.run('turn', async () => 'x', { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already')
  })

  it('run() never waits when no TURN server is configured', async () => {
    const ice = new IcePolicy(splitIceServers([{ urls: 'stun:s.example' }]))
    expect(ice.hasTurn).toBe(false)
    const d = deferred()
    const holding = ice.run('direct', async () => d.promise)
    await expect(ice.run('turn', async () => 'ran')).resolves.toBe('ran')
    d.resolve()
    await holding
  })
})
