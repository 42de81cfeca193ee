import { decodeSignalMessage, encodeSignalMessage, EndReason } from '@auralink/protocol'
import { describe, expect, it } from 'vitest'
import { CallMachine, theirsWins } from '../src/call-machine.js'
import type { SignalMessageFields } from '@auralink/protocol'

const ID = '0123456789abcdef0123456789abcdef'
const AV = { audio: true, video: true, data: true }
const DATA = { audio: false, video: false, data: true }

/** Round-trips through the wire encoding, as a received message would. */
function wire (m: SignalMessageFields): ReturnType<typeof decodeSignalMessage> {
  return decodeSignalMessage(encodeSignalMessage(m))
}

function acceptedPair (media = AV): { caller: CallMachine, callee: CallMachine } {
  const caller = new CallMachine('caller', ID, media)
  const callee = new CallMachine('callee', ID, media)
  const accept = callee.accept(media)
  expect(caller.receive(wire(accept))).toEqual({ type: 'accepted', media })
  return { caller, callee }
}

describe('CallMachine', () => {
  it('starts "connecting" for the caller and "ringing" for the callee; accept() moves the callee to "connecting"', () => {
    const caller = new CallMachine('caller', ID, AV)
    const callee = new CallMachine('callee', ID, AV)
    expect(caller.state).toBe('connecting')
    expect(callee.state).toBe('ringing')
    callee.accept(AV)
    expect(callee.state).toBe('connecting')
    expect(callee.media).toBe(true)
    expect(() => callee.accept(AV)).toThrow(/connecting/)
  })

  it('connected() / quiet() / heard(): connecting -> connected -> reconnecting -> connected', () => {
    const { caller } = acceptedPair()
    expect(caller.connected()).toBe(true)
    expect(caller.state).toBe('connected')
    expect(caller.heard()).toBe(false)
    expect(caller.quiet()).toBe(true)
    expect(caller.state).toBe('reconnecting')
    expect(caller.heard()).toBe(true)
    expect(caller.state).toBe('connected')
  })

  it('offers go caller -> callee and answers back; an answer needs an offer of ours outstanding', () => {
    const { caller, callee } = acceptedPair()
    const offer = caller.send({ type: 'offer', sdp: 'v=0 offer' })
    expect(callee.receive(wire(offer))).toEqual({ type: 'media-signal', signal: { type: 'offer', sdp: 'v=0 offer' } })
    const answer = callee.send({ type: 'answer', sdp: 'v=0 answer' })
    expect(caller.receive(wire(answer))).toEqual({ type: 'media-signal', signal: { type: 'answer', sdp: 'v=0 answer' } })
    // a second answer has no offer to answer
    expect(caller.receive(wire(answer))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
    // nor has the callee, which never offered
    expect(callee.receive(wire({ callId: ID, description: { type: 'answer', sdp: 'x' } }))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
  })

  it('invitedWithOffer(): an accept with offerTaken leaves the invite\'s offer outstanding, so the callee\'s answer is taken', () => {
    const caller = new CallMachine('caller', ID, AV)
    caller.invitedWithOffer()
    const callee = new CallMachine('callee', ID, AV)
    const accept = callee.accept(AV, true)
    expect(accept).toEqual({ callId: ID, accept: { media: AV, offerTaken: true } })
    expect(caller.receive(wire(accept))).toEqual({ type: 'accepted', media: AV, offerTaken: true })
    const answer = callee.send({ type: 'answer', sdp: 'v=0 answer' })
    expect(caller.receive(wire(answer))).toEqual({ type: 'media-signal', signal: { type: 'answer', sdp: 'v=0 answer' } })
    expect(caller.receive(wire(answer))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
  })

  it('invitedWithOffer(): an accept without offerTaken (an older callee) leaves no offer outstanding until the caller offers again', () => {
    const caller = new CallMachine('caller', ID, AV)
    caller.invitedWithOffer()
    expect(caller.receive(wire({ callId: ID, accept: { media: AV } }))).toEqual({ type: 'accepted', media: AV })
    expect(caller.receive(wire({ callId: ID, description: { type: 'answer', sdp: 'x' } }))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
    caller.send({ type: 'offer', sdp: 'v=0 offer again' })
    expect(caller.receive(wire({ callId: ID, description: { type: 'answer', sdp: 'v=0 answer' } }))).toMatchObject({ type: 'media-signal' })
  })

  it('offerTaken in an accept to a caller whose invite carried no offer is ignored (no answer is expected)', () => {
    const caller = new CallMachine('caller', ID, AV)
    expect(caller.receive(wire({ callId: ID, accept: { media: AV, offerTaken: true } }))).toEqual({ type: 'accepted', media: AV })
    expect(caller.receive(wire({ callId: ID, description: { type: 'answer', sdp: 'x' } }))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
    expect(() => new CallMachine('callee', ID, AV).invitedWithOffer()).toThrow(/only the caller/)
  })

  it('send({ type: "offer" }) from the callee (its tracks changed): the caller takes the offer and its answer goes back', () => {
    const { caller, callee } = acceptedPair()
    expect(caller.receive(wire(callee.send({ type: 'offer', sdp: 'v=0 callee offer' })))).toEqual({ type: 'media-signal', signal: { type: 'offer', sdp: 'v=0 callee offer' } })
    expect(callee.receive(wire(caller.send({ type: 'answer', sdp: 'v=0 caller answer' })))).toEqual({ type: 'media-signal', signal: { type: 'answer', sdp: 'v=0 caller answer' } })
  })

  it('glare of offers: the callee answers the caller\'s offer after its own crossed it (rolled back), so a late answer to its own is ignored', () => {
    const { caller, callee } = acceptedPair()
    const callerOffer = caller.send({ type: 'offer', sdp: 'v=0 caller offer' })
    const calleeOffer = callee.send({ type: 'offer', sdp: 'v=0 callee offer' })
    // both offers pass the machine; the media session settles the collision (the caller ignores the callee's)
    expect(caller.receive(wire(calleeOffer)).type).toBe('media-signal')
    expect(callee.receive(wire(callerOffer)).type).toBe('media-signal')
    // the callee rolled its offer back and answers the caller's
    expect(caller.receive(wire(callee.send({ type: 'answer', sdp: 'v=0 callee answer' }))).type).toBe('media-signal')
    expect(callee.receive(wire({ callId: ID, description: { type: 'answer', sdp: 'v=0 stray' } }))).toEqual({ type: 'ignore', reason: 'an answer with no offer outstanding' })
  })

  it('refuses descriptions of an unknown type or without SDP', () => {
    const { callee } = acceptedPair()
    expect(callee.receive(wire({ callId: ID, description: { type: 'pranswer', sdp: 'x' } }))).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/unknown type/) })
    expect(callee.receive(wire({ callId: ID, description: { type: 'offer', sdp: '' } }))).toMatchObject({ type: 'ignore', reason: 'a description without SDP' })
  })

  it('ignores SDP, candidates and chat that arrive before the call is accepted', () => {
    const callee = new CallMachine('callee', ID, AV)
    expect(callee.receive(wire({ callId: ID, description: { type: 'offer', sdp: 'x' } })).type).toBe('ignore')
    expect(callee.receive(wire({ callId: ID, candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' } })).type).toBe('ignore')
    expect(callee.receive(wire({ callId: ID, chat: { text: 'early' } })).type).toBe('ignore')
    expect(() => callee.send({ type: 'candidate', candidate: { candidate: 'c' } })).toThrow(/before the call was accepted/)
  })

  it('a data-only call has no media session: SDP is ignored even after accept', () => {
    const { caller, callee } = acceptedPair(DATA)
    expect(caller.media).toBe(false)
    expect(callee.receive(wire({ callId: ID, description: { type: 'offer', sdp: 'x' } })).type).toBe('ignore')
  })

  it('carries ICE candidates both ways with their fields', () => {
    const { caller, callee } = acceptedPair()
    const c = { candidate: 'candidate:1 1 udp 2122260223 10.213.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 1, usernameFragment: 'abcd' }
    expect(callee.receive(wire(caller.send({ type: 'candidate', candidate: c })))).toEqual({ type: 'media-signal', signal: { type: 'candidate', candidate: c } })
    expect(caller.receive(wire(callee.send({ type: 'candidate', candidate: { candidate: 'x', sdpMid: null, sdpMLineIndex: null } })))).toEqual({
      type: 'media-signal', signal: { type: 'candidate', candidate: { candidate: 'x', sdpMid: '', sdpMLineIndex: 0, usernameFragment: null } }
    })
  })

  it('field 7 (the retired Renegotiate) decodes as a message of a kind this version does not know, and is ignored', () => {
    const { caller } = acceptedPair()
    // call_id (field 1) then field 7, an empty length-delimited message: what an older callee sent to ask for an offer
    const bytes = Uint8Array.of(...encodeSignalMessage({ callId: ID }), (7 << 3) | 2, 0)
    expect(caller.receive(decodeSignalMessage(bytes))).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/does not know/) })
  })

  it('stray messages are ignored with a reason: another call id, a second invite, a second accept, an empty message, anything after the end', () => {
    const { caller, callee } = acceptedPair()
    expect(caller.receive(wire({ callId: 'f'.repeat(32), chat: { text: 'x' } }))).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/message for call/) })
    expect(callee.receive(wire({ callId: ID, invite: { from: '@eve.aura' } }))).toEqual({ type: 'ignore', reason: 'a second invite on a call stream' })
    expect(caller.receive(wire({ callId: ID, accept: { media: AV } }))).toEqual({ type: 'ignore', reason: 'a second accept' })
    expect(callee.receive(wire({ callId: ID, accept: { media: AV } }))).toEqual({ type: 'ignore', reason: 'accept sent to the callee' })
    expect(caller.receive(wire({ callId: ID }))).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/empty message/) })
    expect(caller.receive(wire({ callId: ID, end: { reason: EndReason.END_REASON_HANGUP } }))).toEqual({ type: 'ended', reason: 'remote-hangup', message: '' })
    expect(caller.state).toBe('ended')
    expect(caller.receive(wire({ callId: ID, chat: { text: 'late' } }))).toMatchObject({ type: 'ignore', reason: 'chat after the call ended' })
  })

  it('end reasons map from the wire: rejected with its text, busy, timeout, glare; unknown codes read as a hangup', () => {
    for (const [code, reason] of [[EndReason.END_REASON_REJECTED, 'rejected'], [EndReason.END_REASON_BUSY, 'busy'], [EndReason.END_REASON_TIMEOUT, 'timeout'], [EndReason.END_REASON_GLARE, 'glare'], [99, 'remote-hangup']] as const) {
      const caller = new CallMachine('caller', ID, AV)
      expect(caller.receive(wire({ callId: ID, end: { reason: code as EndReason, message: 'why' } }))).toEqual({ type: 'ended', reason, message: 'why' })
      expect(caller.endReason).toBe(reason)
    }
    const callee = new CallMachine('callee', ID, AV)
    expect(callee.reject('not now')).toEqual({ callId: ID, end: { reason: EndReason.END_REASON_REJECTED, message: 'not now' } })
    expect(callee.hangup()).toBeUndefined()
  })

  it('ping is answered with a pong carrying the same nonce', () => {
    const { caller } = acceptedPair()
    expect(caller.receive(wire({ callId: ID, ping: { nonce: 7 } }))).toEqual({ type: 'reply', message: { callId: ID, pong: { nonce: 7 } } })
    expect(caller.receive(wire({ callId: ID, pong: { nonce: 7 } }))).toEqual({ type: 'pong', nonce: 7 })
  })
})

describe('CallMachine: reconnecting (README "Reconnecting")', () => {
  it('receive(Ping with chat_received) answers the pong and hands on the acknowledgement; none when 0', () => {
    const { caller } = acceptedPair()
    expect(caller.receive(wire({ callId: ID, ping: { nonce: 3, chatReceived: 5 } }))).toEqual({ type: 'reply', message: { callId: ID, pong: { nonce: 3 } }, ack: 5 })
    expect(caller.receive(wire({ callId: ID, ping: { nonce: 4, chatReceived: 0 } }))).toEqual({ type: 'reply', message: { callId: ID, pong: { nonce: 4 } } })
  })

  it('receive(chat) carries the sender\'s seq; 0 for a peer that does not number its messages', () => {
    const { caller } = acceptedPair()
    expect(caller.receive(wire({ callId: ID, chat: { text: 'hi', seq: 9 } }))).toEqual({ type: 'chat', text: 'hi', seq: 9 })
    expect(caller.receive(wire({ callId: ID, chat: { data: new Uint8Array([1, 2]) } }))).toMatchObject({ type: 'chat', seq: 0 })
  })

  it('receive(Resume) on the caller\'s stream is the callee\'s answer; ignored by the callee, before the accept, and after the end', () => {
    const { caller, callee } = acceptedPair()
    expect(caller.receive(wire({ callId: ID, resume: { chatReceived: 4 } }))).toEqual({ type: 'resumed', chatReceived: 4 })
    expect(caller.receive(wire({ callId: ID, resume: {} }))).toEqual({ type: 'resumed', chatReceived: 0 })
    expect(callee.receive(wire({ callId: ID, resume: { chatReceived: 1 } }))).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/sent to the callee/) })
    const early = new CallMachine('caller', ID, AV)
    expect(early.receive(wire({ callId: ID, resume: { chatReceived: 1 } }))).toMatchObject({ type: 'ignore', reason: 'a Resume before the call was accepted' })
    caller.end('hangup')
    expect(caller.receive(wire({ callId: ID, resume: { chatReceived: 1 } })).type).toBe('ignore')
  })

  it('hangup("connection-lost") goes on the wire as END_REASON_CONNECTION_LOST and reads back as "connection-lost"', () => {
    const { caller, callee } = acceptedPair()
    const end = caller.hangup('connection-lost', 'could not reconnect within 30 s')
    expect(end).toEqual({ callId: ID, end: { reason: EndReason.END_REASON_CONNECTION_LOST, message: 'could not reconnect within 30 s' } })
    expect(callee.receive(wire(end!))).toEqual({ type: 'ended', reason: 'connection-lost', message: 'could not reconnect within 30 s' })
    // the others without a wire value of their own still go as a hangup
    expect(new CallMachine('caller', ID, AV).hangup('peer-vanished')).toMatchObject({ end: { reason: EndReason.END_REASON_HANGUP } })
  })

  it('quiet() only from "connected"; heard() only from "reconnecting": a call broken while still connecting stays "connecting"', () => {
    const { caller } = acceptedPair()
    expect(caller.state).toBe('connecting')
    expect(caller.quiet()).toBe(false)
    expect(caller.state).toBe('connecting')
    caller.connected()
    expect(caller.quiet()).toBe(true)
    expect(caller.quiet()).toBe(false)
    expect(caller.heard()).toBe(true)
    caller.end('connection-lost')
    expect(caller.quiet()).toBe(false)
    expect(caller.heard()).toBe(false)
    expect(caller.state).toBe('ended')
  })
})

describe('theirsWins (glare)', () => {
  it('picks the same call on both sides: exactly one of the two calls wins', () => {
    const a = 'a'.repeat(32)
    const b = 'b'.repeat(32)
    expect(theirsWins(a, b)).toBe(true)
    expect(theirsWins(b, a)).toBe(false)
    expect(theirsWins(a, b)).not.toBe(theirsWins(b, a))
  })

  it('receive() hands AIC messages on once the call is accepted, and ignores them before, on data-only calls, and when empty', () => {
    const early = new CallMachine('callee', ID, AV)
    expect(early.receive(wire({ callId: ID, aicCapability: { available: true, mode: 2 } }))).toMatchObject({ type: 'ignore', reason: 'aicCapability before the call was accepted' })
    const { caller } = acceptedPair()
    expect(caller.receive(wire({ callId: ID, aicCapability: { available: true, mode: 2, runtime: 'wasm' } }))).toMatchObject({ type: 'aic', message: { type: 'capability', capability: { available: true, mode: 2, runtime: 'wasm' } } })
    expect(caller.receive(wire({ callId: ID, aicReport: { enhanceMsP50: 12, framesEnhanced: 3 } }))).toMatchObject({ type: 'aic', message: { type: 'report', report: { framesEnhanced: 3 } } })
    expect(caller.receive(wire({ callId: ID, aicSwitch: { meta: new Uint8Array([16, 200, 1]), width: 640, height: 360 } }))).toMatchObject({ type: 'aic', message: { type: 'switch' } })
    const data = acceptedPair(DATA)
    expect(data.caller.receive(wire({ callId: ID, aicReport: { framesEnhanced: 1 } }))).toMatchObject({ type: 'ignore', reason: 'aicReport on a call without media' })
  })
})
