import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ICE_RESTART_INTERVAL_MS, NETWORK_PROBE_INTERVAL_MS } from '../src/constants.js'
import { IceRestarter } from '../src/ice-restarter.js'
import type { MediaSession } from '../src/media-session.js'

// The device's network as the throwaway peer connection would see it: each look takes the next
// key of `looks` (the last one repeats). Real looks need a browser: see e2e/reconnect.e2e.test.ts.
let looks: string[] = []
vi.mock('../src/network-probe.js', () => ({
  networkKey: async (): Promise<string> => (looks.length > 1 ? looks.shift() : looks[0]) ?? ''
}))

function setup (): { restarter: IceRestarter, media: { interrupted: boolean, restarts: number } } {
  const media = { interrupted: false, restarts: 0 }
  const session = { get interrupted () { return media.interrupted }, restartIce: async () => { media.restarts++ } } as unknown as MediaSession
  const restarter = new IceRestarter({ media: () => session, canSignal: () => true, ended: () => false, log: Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never, callId: () => 'c1' })
  return { restarter, media }
}

async function flush (): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

describe('IceRestarter', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('restartNow() during a drop: the same network back after a look with no interface restarts nothing (the old pairs come back by themselves)', async () => {
    const { restarter, media } = setup()
    looks = ['10.0.0.1']
    restarter.noteNetwork()
    await flush()
    media.interrupted = true
    looks = ['10.0.0.1', '10.0.0.1', '', '10.0.0.1']
    restarter.restartNow()
    for (let i = 0; i < 8; i++) { await vi.advanceTimersByTimeAsync(NETWORK_PROBE_INTERVAL_MS); await flush() }
    expect(media.restarts).toBe(0)
    media.interrupted = false
    restarter.stop()
    await vi.advanceTimersByTimeAsync(NETWORK_PROBE_INTERVAL_MS)
  })

  it('restartNow() during a drop: an address that changed restarts ICE at once, and the interval restarts it again while media stays down', async () => {
    const { restarter, media } = setup()
    looks = ['10.0.0.1']
    restarter.noteNetwork()
    await flush()
    media.interrupted = true
    looks = ['10.0.0.1', '10.0.9.9']
    restarter.restartNow()
    await vi.advanceTimersByTimeAsync(NETWORK_PROBE_INTERVAL_MS * 2)
    await flush()
    expect(media.restarts).toBe(1)
    await vi.advanceTimersByTimeAsync(ICE_RESTART_INTERVAL_MS)
    expect(media.restarts).toBe(2)
    media.interrupted = false
    restarter.stop()
    await vi.advanceTimersByTimeAsync(NETWORK_PROBE_INTERVAL_MS)
  })

  it('restartNow() with no interface at all: no restart until one comes back', async () => {
    const { restarter, media } = setup()
    looks = ['10.0.0.1']
    restarter.noteNetwork()
    await flush()
    media.interrupted = true
    looks = ['']
    restarter.restartNow()
    await vi.advanceTimersByTimeAsync(ICE_RESTART_INTERVAL_MS * 2 + NETWORK_PROBE_INTERVAL_MS)
    expect(media.restarts).toBe(0)
    media.interrupted = false
    restarter.stop()
    await vi.advanceTimersByTimeAsync(NETWORK_PROBE_INTERVAL_MS)
  })
})
