import { afterEach, describe, expect, it } from 'vitest'
import { commands } from 'vitest/browser'
import { MAX_PENDING_CANDIDATES } from '../src/constants.js'
import { MediaSession } from '../src/media-session.js'
import type { MediaSignal } from '../src/call-machine.js'
import type { MediaSessionEvents } from '../src/media-session.js'
import type { Logger } from '@libp2p/interface'

declare module 'vitest/browser' {
  interface BrowserCommands {
    /** vitest.browser.config.ts: drops (true) or lets through (false) every packet between the namespace's addresses. */
    cutPeerLink(cut: boolean): Promise<void>
  }
}

// Two real media sessions (real RTCPeerConnections in Chromium) wired to each other through a
// hand-made signal link that can delay or reorder what it carries, as a slow signal stream would.

interface Side {
  session: MediaSession
  tracks: Array<{ track: MediaStreamTrack, stream: MediaStream }>
  connected: boolean
  failed: Error[]
  interrupts: boolean[]
  logs: string[]
  sent: MediaSignal[]
}

/** A synthetic camera: a canvas whose colour changes, captured as a stream. */
function canvasStream (): { stream: MediaStream, stop: () => void } {
  const canvas = document.createElement('canvas')
  canvas.width = 160
  canvas.height = 120
  const g = canvas.getContext('2d')!
  let n = 0
  const timer = setInterval(() => { g.fillStyle = `hsl(${(n++ * 13) % 360} 70% 50%)`; g.fillRect(0, 0, 160, 120) }, 40)
  const stream = canvas.captureStream(25)
  return { stream, stop: () => { clearInterval(timer); for (const t of stream.getTracks()) t.stop() } }
}

/** A synthetic microphone: an oscillator into a MediaStream destination. */
function toneStream (): { stream: MediaStream, stop: () => void } {
  const ctx = new AudioContext()
  const osc = ctx.createOscillator()
  const dest = ctx.createMediaStreamDestination()
  osc.connect(dest)
  osc.start()
  return { stream: dest.stream, stop: () => { osc.stop(); void ctx.close() } }
}

const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await commands.cutPeerLink(false)
})

function fakeLog (lines: string[]): Logger {
  const log = (fmt: string, ...args: unknown[]): void => { lines.push(fmt.replace(/%[sdo]/g, () => String(args.shift()))) }
  return Object.assign(log, { error: log, trace: log, enabled: true, newScope: () => fakeLog(lines) }) as unknown as Logger
}

/**
 * A caller (impolite) and a callee (polite), each sending `streams`' tracks. `deliver(from, signal, send)`
 * decides when a signal reaches the other side (default: in the next task).
 */
function pair (options: {
  callerStream?: MediaStream
  calleeStream?: MediaStream
  deliver?: (from: 'caller' | 'callee', signal: MediaSignal, send: () => void) => void
} = {}): { caller: Side, callee: Side } {
  const deliver = options.deliver ?? ((_from, _signal, send) => { setTimeout(send, 0) })
  const make = (initiator: boolean, stream: MediaStream | undefined, to: () => Side): Side => {
    const side: Side = { session: undefined as unknown as MediaSession, tracks: [], connected: false, failed: [], interrupts: [], logs: [], sent: [] }
    const events: MediaSessionEvents = {
      signal: (s) => { side.sent.push(s); deliver(initiator ? 'caller' : 'callee', s, () => { to().session.signal(s) }) },
      connected: () => { side.connected = true },
      track: (track, str) => { side.tracks.push({ track, stream: str }) },
      failed: (err) => { side.failed.push(err) },
      interrupted: (down) => { side.interrupts.push(down) }
    }
    side.session = new MediaSession({ initiator, iceServers: [], ...(stream !== undefined ? { stream } : {}), log: fakeLog(side.logs) }, events)
    cleanups.push(() => { side.session.stop() })
    return side
  }
  const caller: Side = make(true, options.callerStream, () => callee)
  const callee: Side = make(false, options.calleeStream, () => caller)
  return { caller, callee }
}

async function until (what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function media (): MediaStream {
  const v = canvasStream()
  const a = toneStream()
  cleanups.push(v.stop, a.stop)
  return new MediaStream([...a.stream.getTracks(), ...v.stream.getTracks()])
}

/** The session-level or first ICE username fragment of an SDP. */
const ufrag = (sdp: string): string => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1] ?? ''

const kinds = (s: Side): string[] => s.tracks.map((t) => t.track.kind).sort()

describe('MediaSession (perfect negotiation on RTCPeerConnection)', () => {
  it('new MediaSession() on both sides with tracks: the caller offers first, the callee holds its own offer and answers; both get audio and video', async () => {
    const { caller, callee } = pair({
      callerStream: media(),
      calleeStream: media(),
      deliver: (_from, signal, send) => { setTimeout(send, signal.type === 'candidate' ? 0 : 150) }
    })
    await until('both connected with audio and video', () => caller.connected && callee.connected && kinds(caller).join() === 'audio,video' && kinds(callee).join() === 'audio,video')
    expect(caller.sent.filter((s) => s.type === 'offer').length).toBe(1)
    expect(callee.sent.filter((s) => s.type === 'offer').length).toBe(0)
    expect(callee.sent.filter((s) => s.type === 'answer').length).toBe(1)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  })

  it('addTrack() on both sides at once mid-call: the offers cross (glare), the caller\'s wins, the callee rolls back and offers again, and each side gets the other\'s new track', async () => {
    const slow = { on: false }
    const { caller, callee } = pair({
      callerStream: media(),
      calleeStream: media(),
      deliver: (_from, signal, send) => { setTimeout(send, slow.on && signal.type !== 'candidate' ? 150 : 0) }
    })
    await until('connected', () => caller.connected && callee.connected && caller.tracks.length === 2 && callee.tracks.length === 2)
    slow.on = true
    const a = canvasStream()
    const b = canvasStream()
    cleanups.push(a.stop, b.stop)
    caller.session.addTrack(a.stream.getVideoTracks()[0]!, a.stream)
    callee.session.addTrack(b.stream.getVideoTracks()[0]!, b.stream)
    await until('each side has the other\'s new track', () => callee.tracks.some((t) => t.stream.id === a.stream.id) && caller.tracks.some((t) => t.stream.id === b.stream.id))
    expect(caller.logs.some((l) => /ignoring the peer's offer, which collided/.test(l))).toBe(true)
    await until('both stable', () => caller.session.pc.signalingState === 'stable' && callee.session.pc.signalingState === 'stable')
    expect([...caller.failed, ...callee.failed]).toEqual([])
  })

  it('a caller with nothing to send offers to receive audio and video, and gets the callee\'s tracks', async () => {
    const { caller, callee } = pair({ calleeStream: media() })
    await until('connected, the caller receiving audio and video', () => caller.connected && callee.connected && kinds(caller).join() === 'audio,video')
    expect(callee.tracks).toEqual([])
    expect(callee.sent.filter((s) => s.type === 'offer').length).toBe(0)
  })

  it('a callee sending a kind the caller\'s first offer lacks (video to an audio-only caller) offers it itself once it has answered', async () => {
    const tone = toneStream()
    cleanups.push(tone.stop)
    const { caller, callee } = pair({ callerStream: tone.stream, calleeStream: media() })
    await until('the caller receives the callee\'s audio and video', () => caller.connected && callee.connected && kinds(caller).join() === 'audio,video')
    expect(kinds(callee)).toEqual(['audio'])
    expect(callee.sent.filter((s) => s.type === 'offer').length).toBe(1)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  })

  it('addTrack() on the callee and removeTrack() on the caller mid-call renegotiate: the other side gets the track, and loses the removed one', async () => {
    const callerMedia = media()
    const { caller, callee } = pair({ callerStream: callerMedia, calleeStream: media() })
    await until('connected', () => caller.connected && callee.connected && caller.tracks.length === 2 && callee.tracks.length === 2)

    const shared = canvasStream()
    cleanups.push(shared.stop)
    callee.session.addTrack(shared.stream.getVideoTracks()[0]!, shared.stream)
    await until('the caller gets the callee\'s added track', () => caller.tracks.some((t) => t.stream.id === shared.stream.id))
    expect(() => { callee.session.addTrack(shared.stream.getVideoTracks()[0]!, shared.stream) }).toThrow(TypeError)

    const video = callerMedia.getVideoTracks()[0]!
    const seenByCallee = callee.tracks.find((t) => t.track.kind === 'video')!
    callee.tracks.length = 0
    caller.session.removeTrack(video, callerMedia)
    await until('the callee\'s remote stream loses the caller\'s video', () => seenByCallee.stream.getVideoTracks().length === 0)
    expect(() => { caller.session.removeTrack(video, callerMedia) }).toThrow(/not sent on this call/)
    // and back again: a new video track from the caller arrives
    const again = canvasStream()
    cleanups.push(again.stop)
    caller.session.addTrack(again.stream.getVideoTracks()[0]!, again.stream)
    await until('the callee gets the caller\'s new video', () => callee.tracks.some((t) => t.stream.id === again.stream.id && t.track.kind === 'video'))
    expect([...caller.failed, ...callee.failed]).toEqual([])
  })

  it('ICE candidates that arrive before the offer are held and added once it is set; past MAX_PENDING_CANDIDATES they are dropped', async () => {
    // descriptions are held back a while, candidates go at once: the callee sees the caller's candidates first
    const { caller, callee } = pair({
      callerStream: media(),
      deliver: (_from, signal, send) => { setTimeout(send, signal.type === 'candidate' ? 0 : 300) }
    })
    for (let i = 0; i < MAX_PENDING_CANDIDATES + 5; i++) {
      callee.session.signal({ type: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 10.213.0.9 ${9000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } })
    }
    await until('connected', () => caller.connected && callee.connected && callee.tracks.length === 2)
    expect(callee.logs.filter((l) => /more than 64 ICE candidates before the remote description/.test(l)).length).toBeGreaterThan(0)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  })

  it('a stray answer (no offer of ours outstanding) is ignored without failing the session', async () => {
    const { caller, callee } = pair({ callerStream: media() })
    await until('connected', () => caller.connected && callee.connected)
    const answer = callee.sent.find((s) => s.type === 'answer')!
    caller.session.signal(answer)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(caller.failed).toEqual([])
    expect(caller.session.pc.signalingState).toBe('stable')
  })

  it('ICE interrupted mid-call (every packet between the peers dropped a while): interrupted(true) on both sides, interrupted(false) once the link is back, and the session carries on', async () => {
    const { caller, callee } = pair({ callerStream: media(), calleeStream: media() })
    await until('connected', () => caller.connected && callee.connected)
    await commands.cutPeerLink(true)
    try {
      await until('both sides see ICE interrupted', () => caller.interrupts.includes(true) && callee.interrupts.includes(true), 20_000)
    } finally {
      await commands.cutPeerLink(false)
    }
    await until('both sides see ICE back', () => caller.interrupts.at(-1) === false && callee.interrupts.at(-1) === false, 20_000)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  }, 60_000)

  it('restartIce() after the link came back: a new offer with fresh ICE credentials, answered; ICE back on both sides, `interrupted` false again, no failure', async () => {
    const { caller, callee } = pair({ callerStream: media(), calleeStream: media() })
    await until('connected', () => caller.connected && callee.connected)
    const offers = (): string[] => caller.sent.filter((s) => s.type === 'offer').map((s) => (s as { sdp: string }).sdp)
    const first = offers().length
    await commands.cutPeerLink(true)
    try {
      await until('both sides see ICE interrupted', () => caller.interrupts.includes(true) && callee.interrupts.includes(true), 20_000)
      expect(caller.session.interrupted).toBe(true)
    } finally {
      await commands.cutPeerLink(false)
    }
    await caller.session.restartIce()
    await until('the restart\'s offer', () => offers().length > first)
    expect(ufrag(offers().at(-1)!)).not.toBe(ufrag(offers()[0]!))
    await until('the restart\'s answer', () => callee.sent.filter((s) => s.type === 'answer').length >= 2)
    await until('both sides see ICE back', () => !caller.session.interrupted && !callee.session.interrupted, 20_000)
    expect(caller.interrupts.at(-1)).toBe(false)
    expect(callee.interrupts.at(-1)).toBe(false)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  }, 60_000)

  it('restartIce() whose offer was lost (the signal link down too): the next restartIce() rolls it back and offers again, and that one brings ICE back', async () => {
    let lose = false
    const { caller, callee } = pair({
      callerStream: media(),
      calleeStream: media(),
      deliver: (_from, _signal, send) => { if (!lose) setTimeout(send, 0) }
    })
    await until('connected', () => caller.connected && callee.connected)
    await commands.cutPeerLink(true)
    try {
      await until('the caller sees ICE interrupted', () => caller.interrupts.includes(true), 20_000)
      lose = true
      const before = caller.sent.length
      await caller.session.restartIce()
      await until('an offer (lost)', () => caller.sent.slice(before).some((s) => s.type === 'offer'))
      await until('the offer stays unanswered', () => caller.session.pc.signalingState === 'have-local-offer')
    } finally {
      await commands.cutPeerLink(false)
    }
    lose = false
    const lostOffers = caller.sent.filter((s) => s.type === 'offer').length
    await caller.session.restartIce()
    await until('a second offer', () => caller.sent.filter((s) => s.type === 'offer').length > lostOffers)
    await until('ICE back on the caller', () => !caller.session.interrupted && caller.interrupts.at(-1) === false, 20_000)
    expect(caller.logs.join('\n')).not.toMatch(/rolling back an unanswered offer failed/)
    expect([...caller.failed, ...callee.failed]).toEqual([])
  }, 60_000)

  it('stop(): closes the peer connection, is idempotent, and nothing is reported after it', async () => {
    const { caller, callee } = pair({ callerStream: media() })
    await until('connected', () => caller.connected && callee.connected)
    caller.session.stop()
    caller.session.stop()
    expect(caller.session.pc.signalingState).toBe('closed')
    const before = { tracks: caller.tracks.length, sent: caller.sent.length }
    caller.session.signal({ type: 'offer', sdp: 'v=0' })
    const extra = canvasStream()
    cleanups.push(extra.stop)
    caller.session.addTrack(extra.stream.getVideoTracks()[0]!, extra.stream)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect({ tracks: caller.tracks.length, sent: caller.sent.length }).toEqual(before)
    expect(caller.failed).toEqual([])
  })
})
