import { randomBytes } from 'node:crypto'
import { createRecordingConsent, generateIdentityKey } from '@auralink/identity'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { CallRecorder } from '../src/recording.js'
import { InvalidStateError, RecordingFailedError, RecordingRefusedError } from '../src/errors.js'
import type { RecordingChange } from '../src/recording.js'
import type { RecordingSignal } from '../src/call-machine.js'
import type { SignalMessageFields } from '@auralink/protocol'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// The call's side of recording (src/recording.ts) in Node, without media: what the other side's
// recording messages do, hostile ones included. The whole flow with uploads is
// e2e/sdk-recording.e2e.test.ts (Chromium, a real relay).

const hex = (): string => randomBytes(16).toString('hex')

interface Side { key: PrivateKey, id: PeerId }
const side = async (): Promise<Side> => {
  const key = await generateIdentityKey()
  return { key, id: peerIdFromPrivateKey(key) }
}

/** A recorder for `me` in call `callId` with `them`, its sent messages and events gathered. */
function recorder (me: Side, them: Side, callId: string, relays: string[] = [], kind: 'file' | 'stream' = 'file'): { rec: CallRecorder, sent: Array<Omit<SignalMessageFields, 'callId'>>, events: RecordingChange[] } {
  const sent: Array<Omit<SignalMessageFields, 'callId'>> = []
  const events: RecordingChange[] = []
  const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never
  const rec = new CallRecorder(
    { key: me.key, self: me.id, relayAddrs: () => relays, openRecordStream: async () => { throw new Error('no relay here') } },
    { log, id: callId, remote: them.id, send: async (f) => { sent.push(f) }, localStream: () => undefined, changed: (c) => { events.push(c) } },
    kind
  )
  return { rec, sent, events }
}

/** Waits until `n` messages were sent (the recorder answers asynchronously: it verifies a signature first). */
async function sentCount (sent: unknown[], n: number): Promise<void> {
  for (let i = 0; i < 100 && sent.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('CallRecorder: the other side\'s recording messages', () => {
  it('a valid ask makes an "asked" event; refuse() answers no with the words; a second ask while one is open is refused', async () => {
    const [me, them, relay] = [await side(), await side(), await side()]
    const callId = hex()
    const { rec, sent, events } = recorder(me, them, callId)
    const recordingId = hex()
    const relayAddr = `/ip4/127.0.0.1/tcp/4001/ws/p2p/${relay.id.toString()}`
    const consent = await createRecordingConsent(them.key, { recordingId, callId, participants: [them.id, me.id], relay: relay.id })
    rec.onSignal({ type: 'ask', streamUrl: '', recordingId, relayAddr, consent: consent.bytes })
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(events).toEqual([{ id: recordingId, kind: 'file', state: 'asked', askedBy: 'remote', relay: relayAddr }])
    expect(rec.status?.state).toBe('asked')

    const again = await createRecordingConsent(them.key, { recordingId: hex(), callId, participants: [them.id, me.id], relay: relay.id })
    rec.onSignal({ type: 'ask', streamUrl: '', recordingId: hex(), relayAddr, consent: again.bytes })
    await sentCount(sent, 1)
    expect(sent[0]?.recordingAnswer).toMatchObject({ agreed: false, reason: `recording ${recordingId} is asked` })

    await rec.refuse('not now')
    expect(sent[1]).toEqual({ recordingAnswer: { recordingId, agreed: false, reason: 'not now' } })
    expect(events.at(-1)).toMatchObject({ state: 'refused', by: 'local', reason: 'not now' })
    await expect(rec.refuse()).rejects.toThrow(InvalidStateError)
    // acceptRecording() needs this side's media: none in Node
    await expect(rec.accept()).rejects.toThrow(InvalidStateError)
  })

  it.each([
    ['signed by a third key', async (t: Ctx) => (await createRecordingConsent(t.stranger.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.stranger.id, t.me.id], relay: t.relay.id })).bytes, /^your consent is not valid: signed by 12D3KooW\w+, not by 12D3KooW\w+$/],
    ['for another call', async (t: Ctx) => (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: hex(), participants: [t.them.id, t.me.id], relay: t.relay.id })).bytes, /^your consent is not valid: for call [0-9a-f]{32}, not this one$/],
    ['for another recording id', async (t: Ctx) => (await createRecordingConsent(t.them.key, { recordingId: hex(), callId: t.callId, participants: [t.them.id, t.me.id], relay: t.relay.id })).bytes, /^your consent is not valid: for recording [0-9a-f]{32}, not [0-9a-f]{32}$/],
    ['naming a third participant', async (t: Ctx) => (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id, t.stranger.id], relay: t.relay.id })).bytes, /^your consent is not valid: for other participants$/],
    ['for another relay', async (t: Ctx) => (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id], relay: t.stranger.id })).bytes, /^your consent is not valid: for relay 12D3KooW\w+, not 12D3KooW\w+$/],
    ['for a stream', async (t: Ctx) => (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id], relay: t.relay.id, kind: 'stream', streamUrl: 'rtmp://127.0.0.1/live/x' })).bytes, /^your consent is not valid: for a stream, not a file$/],
    ['random bytes', async () => new Uint8Array(randomBytes(200)), /^your consent is not valid: recording consent does not decode/],
    ['a flipped signature bit', async (t: Ctx) => { const b = Uint8Array.from((await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id], relay: t.relay.id })).bytes); b[b.length - 1]! ^= 1; return b }, /signature does not verify/]
  ])('an ask with a consent %s is refused at once, saying why; the app never hears of it', async (_what, make, reason) => {
    const t = await ctx()
    const { rec, sent, events } = recorder(t.me, t.them, t.callId)
    rec.onSignal({ type: 'ask', streamUrl: '', recordingId: t.recordingId, relayAddr: `/ip4/127.0.0.1/tcp/4001/ws/p2p/${t.relay.id.toString()}`, consent: await make(t) })
    await sentCount(sent, 1)
    expect(sent[0]?.recordingAnswer?.agreed).toBe(false)
    expect(sent[0]?.recordingAnswer?.reason).toMatch(reason)
    expect(events).toEqual([])
    expect(rec.status).toBeUndefined()
  })

  it('an ask whose relay address is not a multiaddr, has no /p2p/ part or is over 512 characters is refused naming it', async () => {
    const t = await ctx()
    const { rec, sent, events } = recorder(t.me, t.them, t.callId)
    const consent = (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id], relay: t.relay.id })).bytes
    for (const relayAddr of ['not a multiaddr', '/ip4/127.0.0.1/tcp/4001/ws', `/dns4/${'a'.repeat(600)}/tcp/1/p2p/${t.relay.id.toString()}`]) {
      rec.onSignal({ type: 'ask', streamUrl: '', recordingId: t.recordingId, relayAddr, consent })
    }
    await sentCount(sent, 3)
    expect(sent.map((m) => m.recordingAnswer?.reason)).toEqual([
      expect.stringMatching(/^relay "not a multiaddr" is not a multiaddr/),
      'relay "/ip4/127.0.0.1/tcp/4001/ws" must end in /p2p/<relay peer id>',
      `relay must be a multiaddr of at most 512 characters, got "/dns4/${'a'.repeat(74)}"`
    ])
    expect(events).toEqual([])
  })

  it('an answer or a stop for a recording we did not ask for is ignored; startRecording() with no media and no relay says why', async () => {
    const t = await ctx()
    const { rec, sent, events } = recorder(t.me, t.them, t.callId)
    const stray: RecordingSignal[] = [
      { type: 'answer', recordingId: t.recordingId, agreed: true, consent: new Uint8Array(10), reason: '' },
      { type: 'stop', recordingId: t.recordingId, reason: 'x' }
    ]
    for (const m of stray) rec.onSignal(m)
    expect(sent).toEqual([])
    expect(events).toEqual([])
    await expect(rec.start()).rejects.toThrow('startRecording(): this side sends no audio or video, so there is nothing of it to record')
    await rec.stop()
    expect(sent).toEqual([])
  })

  it('the asker: a refusal rejects startRecording() with RecordingRefusedError, no answer within answerTimeoutMs with RecordingFailedError (timeout), and an agreement with a bad consent is stopped', async () => {
    const t = await ctx()
    const relayAddr = `/ip4/127.0.0.1/tcp/4001/ws/p2p/${t.relay.id.toString()}`
    // a recorder with a stream to send, as a media call has (no RTCPeerConnection in Node: the upload itself is e2e)
    const make = (): ReturnType<typeof recorder> => {
      const r = recorder(t.me, t.them, t.callId, [relayAddr])
      ;(r.rec as unknown as { recordable: () => unknown }).recordable = () => ({})
      return r
    }
    const refused = make()
    const p1 = refused.rec.start()
    await sentCount(refused.sent, 1)
    const ask = refused.sent[0]!.recordingAsk!
    expect(ask.relayAddr).toBe(relayAddr)
    refused.rec.onSignal({ type: 'answer', recordingId: ask.recordingId!, agreed: false, consent: new Uint8Array(), reason: 'no thanks' })
    await expect(p1).rejects.toThrow(RecordingRefusedError)
    await expect(p1).rejects.toMatchObject({ reason: 'no thanks' })
    expect(refused.events.map((e) => e.state)).toEqual(['asking', 'refused'])

    const silent = make()
    await expect(silent.rec.start({ answerTimeoutMs: 50 })).rejects.toMatchObject({ name: 'RecordingFailedError', result: 'timeout' })
    expect(silent.sent.at(-1)?.recordingStop?.reason).toBe('the asker gave up')

    const forged = make()
    const p3 = forged.rec.start()
    await sentCount(forged.sent, 1)
    const id = forged.sent[0]!.recordingAsk!.recordingId!
    const wrong = await createRecordingConsent(t.stranger.key, { recordingId: id, callId: t.callId, participants: [t.stranger.id, t.me.id], relay: t.relay.id })
    forged.rec.onSignal({ type: 'answer', recordingId: id, agreed: true, consent: wrong.bytes, reason: '' })
    await expect(p3).rejects.toThrow(RecordingFailedError)
    await expect(p3).rejects.toMatchObject({ result: 'invalid-consent' })
    expect(forged.sent.at(-1)?.recordingStop?.reason).toMatch(/^your consent is not valid: signed by/)
    expect(forged.events.at(-1)?.state).toBe('failed')
  })

  it('a stream ask (kind stream) shows its URL in the "asked" event; one whose consent names another URL, a file, or whose URL is not rtmp:// is refused at once', async () => {
    const t = await ctx()
    const relayAddr = `/ip4/127.0.0.1/tcp/4001/ws/p2p/${t.relay.id.toString()}`
    const url = 'rtmp://127.0.0.1:1935/live/key-of-them'
    const consent = async (extra: Record<string, unknown>): Promise<Uint8Array> => (await createRecordingConsent(t.them.key, { recordingId: t.recordingId, callId: t.callId, participants: [t.them.id, t.me.id], relay: t.relay.id, ...extra })).bytes
    // hostile asks first: each refused, the app never told
    const bad = recorder(t.me, t.them, t.callId, [], 'stream')
    bad.rec.onSignal({ type: 'ask', recordingId: t.recordingId, relayAddr, streamUrl: url, consent: await consent({ kind: 'stream', streamUrl: 'rtmp://elsewhere.example/live/x' }) })
    bad.rec.onSignal({ type: 'ask', recordingId: t.recordingId, relayAddr, streamUrl: url, consent: await consent({}) })
    bad.rec.onSignal({ type: 'ask', recordingId: t.recordingId, relayAddr, streamUrl: 'http://127.0.0.1/x', consent: await consent({ kind: 'stream', streamUrl: 'http://127.0.0.1/x' }) })
    await sentCount(bad.sent, 3)
    expect(bad.sent.map((m) => m.recordingAnswer?.reason).sort()).toEqual([
      'the stream URL must be an rtmp:// or rtmps:// URL of printable characters, got "http://127.0.0.1/x"',
      'your consent is not valid: for a file, not a stream',
      'your consent is not valid: for another stream URL'
    ])
    expect(bad.events).toEqual([])
    // the good one
    const { rec, events } = recorder(t.me, t.them, t.callId, [], 'stream')
    rec.onSignal({ type: 'ask', recordingId: t.recordingId, relayAddr, streamUrl: url, consent: await consent({ kind: 'stream', streamUrl: url }) })
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(events).toEqual([{ id: t.recordingId, kind: 'stream', url, state: 'asked', askedBy: 'remote', relay: relayAddr }])
  })

  it('startStream(): a URL that is not rtmp:// or rtmps:// is a TypeError naming it, before anything is sent', async () => {
    const t = await ctx()
    const { rec, sent } = recorder(t.me, t.them, t.callId, [`/ip4/127.0.0.1/tcp/4001/ws/p2p/${t.relay.id.toString()}`], 'stream')
    await expect(rec.start({ url: 'https://example.com/live' })).rejects.toThrow(/^startStream\(\): options\.url must be an rtmp:\/\/ or rtmps:\/\/ URL of printable characters, got "https:\/\/example\.com\/live"$/)
    await expect(rec.start({})).rejects.toThrow(TypeError)
    await expect(rec.start({ url: `rtmp://x/${'k'.repeat(1100)}` })).rejects.toThrow(/at most 1024 characters/)
    expect(sent).toEqual([])
  })
})

interface Ctx { me: Side, them: Side, relay: Side, stranger: Side, callId: string, recordingId: string }
async function ctx (): Promise<Ctx> {
  return { me: await side(), them: await side(), relay: await side(), stranger: await side(), callId: hex(), recordingId: hex() }
}
