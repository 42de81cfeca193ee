import { afterEach, describe, expect, it } from 'vitest'
import { EarlyMedia } from '../src/early-media.js'
import { MediaSession } from '../src/media-session.js'
import type { MediaSignal } from '../src/call-machine.js'
import type { MediaSessionEvents } from '../src/media-session.js'
import type { Logger } from '@libp2p/interface'

// The caller's media session made before the invite (EarlyMedia), with real RTCPeerConnections in
// Chromium: its offer goes in the "invite", the callee (a plain polite MediaSession) answers it,
// and the two connect; or the call never gets that far and the session is closed.

const cleanups: Array<() => void> = []
afterEach(() => { for (const c of cleanups.splice(0)) c() })

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => log }) as unknown as Logger

function canvasStream (): MediaStream {
  const canvas = document.createElement('canvas')
  canvas.width = 160
  canvas.height = 120
  const g = canvas.getContext('2d')!
  let n = 0
  const timer = setInterval(() => { g.fillStyle = `hsl(${(n++ * 13) % 360} 70% 50%)`; g.fillRect(0, 0, 160, 120) }, 40)
  const stream = canvas.captureStream(25)
  cleanups.push(() => { clearInterval(timer); for (const t of stream.getTracks()) t.stop() })
  return stream
}

async function until (what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Recorder { events: MediaSessionEvents, sent: MediaSignal[], connected: boolean, tracks: number, failed: Error[] }

function recorder (forward: (s: MediaSignal) => void): Recorder {
  const r: Recorder = {
    sent: [],
    connected: false,
    tracks: 0,
    failed: [],
    events: {
      signal: (s) => { r.sent.push(s); forward(s) },
      connected: () => { r.connected = true },
      track: () => { r.tracks++ },
      failed: (err) => { r.failed.push(err) },
      interrupted: () => {}
    }
  }
  return r
}

describe('EarlyMedia (the caller\'s media session made before the invite)', () => {
  it('whenOffered() then inviteOffer(): an offer with the candidates gathered so far; the callee answers it, handOver(events, true) sends only the candidates the offer lacked, and both connect with video', async () => {
    const early = new EarlyMedia({ iceServers: [], stream: canvasStream(), log })
    cleanups.push(() => { early.stop() })
    await early.whenOffered(5000)
    // let ICE gathering finish: every host candidate is then in the local description
    await until('ICE gathering complete', () => early.session.pc.iceGatheringState === 'complete')
    const offer = early.inviteOffer()
    expect(offer).toMatch(/^v=0/)
    expect(offer).toMatch(/a=candidate:/)
    expect(offer).toMatch(/m=video/)

    const calleeSide = recorder((s) => { setTimeout(() => { early.session.signal(s) }, 0) })
    const callee = new MediaSession({ initiator: false, iceServers: [], stream: canvasStream(), log }, calleeSide.events)
    cleanups.push(() => { callee.stop() })
    const caller = recorder((s) => { setTimeout(() => { callee.signal(s) }, 0) })
    // the callee takes the invite's offer at accept(); the caller hands its session over on the accept
    callee.signal({ type: 'offer', sdp: offer })
    const session = early.handOver(caller.events, true)
    expect(session).toBe(early.session)
    // no second offer, and no candidate the invite's offer already carried
    expect(caller.sent.filter((s) => s.type === 'offer')).toHaveLength(0)
    for (const s of caller.sent) if (s.type === 'candidate') expect(offer).not.toContain(`a=${s.candidate.candidate}`)
    await until('both connected', () => caller.connected && calleeSide.connected)
    await until('a remote track each way', () => caller.tracks > 0 && calleeSide.tracks > 0)
    expect(calleeSide.sent.filter((s) => s.type === 'answer')).toHaveLength(1)
    expect(caller.failed).toEqual([])
    expect(calleeSide.failed).toEqual([])
  })

  it('handOver(events, false) (a callee that did not take the invite\'s offer): the offer is sent again as a signal, and the call still connects', async () => {
    const early = new EarlyMedia({ iceServers: [], stream: canvasStream(), log })
    cleanups.push(() => { early.stop() })
    await early.whenOffered(5000)
    early.inviteOffer()
    const calleeSide = recorder((s) => { setTimeout(() => { early.session.signal(s) }, 0) })
    const callee = new MediaSession({ initiator: false, iceServers: [], stream: canvasStream(), log }, calleeSide.events)
    cleanups.push(() => { callee.stop() })
    const caller = recorder((s) => { setTimeout(() => { callee.signal(s) }, 0) })
    early.handOver(caller.events, false)
    expect(caller.sent[0]?.type).toBe('offer')
    await until('both connected', () => caller.connected && calleeSide.connected)
  })

  it('stop() before any hand-over (the call failed while it dialled) closes the peer connection; a failure while held is reported at the hand-over', async () => {
    const early = new EarlyMedia({ iceServers: [], stream: canvasStream(), log })
    await early.whenOffered(5000)
    early.stop()
    expect(early.session.pc.signalingState).toBe('closed')
    early.stop()
    // an answer that does not apply fails the session while nobody holds it yet
    const failing = new EarlyMedia({ iceServers: [], stream: canvasStream(), log })
    cleanups.push(() => { failing.stop() })
    await failing.whenOffered(5000)
    failing.session.signal({ type: 'answer', sdp: 'v=0 not an sdp' })
    await until('the session failed', () => failing.session.pc.signalingState === 'closed')
    const r = recorder(() => {})
    failing.handOver(r.events, true)
    expect(r.failed).toHaveLength(1)
    expect(r.failed[0]!.message).toMatch(/answer could not be applied/)
  })

  it('whenOffered(timeoutMs, signal) rejects with the signal\'s reason when it aborts first', async () => {
    const early = new EarlyMedia({ iceServers: [], stream: canvasStream(), log })
    cleanups.push(() => { early.stop() })
    const ac = new AbortController()
    ac.abort(new Error('the dial failed'))
    await expect(early.whenOffered(5000, ac.signal)).rejects.toThrow('the dial failed')
  })
})
