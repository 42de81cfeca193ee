import { createRecordingConsent } from '@auralink/identity'
import { decodeRecordResponse, encodeRecordRequest, encodeRecordResponse, MAX_RECORD_REQUEST_BYTES } from '@auralink/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkRecordRequest } from '../src/media/record-request.js'
import type { RecordContext, RecordLimits } from '../src/media/record-request.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// The relay's check of a RecordRequest (issue 17), against requests written here by hand as a
// stranger's client would: nothing of AuraLink's client helps make them but the consent signer.
const NOW = 1_800_000_000_000
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'
const LIMITS: RecordLimits = { maxRecordings: 4, maxRecordingsPerPeer: 1, maxDurationMs: 60 * 60 * 1000 }

describe('checkRecordRequest()', () => {
  let alice: PrivateKey
  let bob: PrivateKey
  let a: PeerId
  let b: PeerId
  let m: PeerId
  let relay: PeerId
  let consents: Uint8Array[]
  const ctx = (over: Partial<RecordContext> = {}): RecordContext => ({ relay, requester: a, active: { total: 0, fromRequester: 0 }, now: NOW, ...over })

  beforeAll(async () => {
    alice = await generateKeyPair('Ed25519')
    bob = await generateKeyPair('Ed25519')
    a = peerIdFromPublicKey(alice.publicKey)
    b = peerIdFromPublicKey(bob.publicKey)
    m = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey)
    relay = peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey)
    const init = { recordingId: 'ab'.repeat(16), callId: 'cd'.repeat(16), participants: [a, b], relay, now: NOW }
    consents = [(await createRecordingConsent(alice, { ...init, ttlMs: 30 * 60_000 })).bytes, (await createRecordingConsent(bob, init)).bytes]
  })

  it('takes a full set of consents from a participant: the offer, the tracks, and the end (the earliest lapse, or the relay\'s cap)', async () => {
    const d = await checkRecordRequest(encodeRecordRequest({ consents, offerSdp: SDP, tracks: 2 }), ctx(), LIMITS)
    expect(d).toMatchObject({ ok: true, offer: { type: 'offer', sdp: SDP }, tracks: 2, endsAt: NOW + 30 * 60_000 })
    const capped = await checkRecordRequest(encodeRecordRequest({ consents, offerSdp: SDP, tracks: 2 }), ctx({ requester: b }), { ...LIMITS, maxDurationMs: 60_000 })
    expect(capped).toMatchObject({ ok: true, endsAt: NOW + 60_000 })
  })

  it('refuses, with the result and the reason, what a participant may not have', async () => {
    const refused = async (bytes: Uint8Array, c: RecordContext = ctx(), l: RecordLimits = LIMITS): Promise<string> => {
      const d = await checkRecordRequest(bytes, c, l)
      return d.ok ? 'ok' : `${d.result}: ${d.message}`
    }
    const req = (over: { consents?: Uint8Array[], offerSdp?: string, tracks?: number } = {}): Uint8Array => encodeRecordRequest({ consents, offerSdp: SDP, tracks: 2, ...over })
    expect(await refused(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]))).toMatch(/^bad-request: the request does not decode/)
    expect(await refused(new Uint8Array(MAX_RECORD_REQUEST_BYTES + 1))).toMatch(/^bad-request: .*(too large|bytes)/i)
    expect(await refused(req({ tracks: 0 }))).toMatch(/^bad-request: tracks must be 1 to 4, got 0/)
    expect(await refused(req({ tracks: 9 }))).toMatch(/^bad-request: tracks must be 1 to 4/)
    expect(await refused(req({ offerSdp: 'hello' }))).toMatch(/^bad-request: offer_sdp must be an SDP offer/)
    expect(await refused(req({ offerSdp: `v=0\r\n${'a=x\r\n'.repeat(5000)}` }))).toMatch(/^bad-request: offer_sdp must be an SDP offer of at most/)
    // bob never agreed
    expect(await refused(req({ consents: [consents[0]!] }))).toMatch(/^no-consent: a recording needs one consent per participant/)
    // the set, asked for by a stranger; shown to another relay
    expect(await refused(req(), ctx({ requester: m }))).toMatch(/^no-consent: the requester .* is not a participant/)
    expect(await refused(req(), ctx({ relay: m }))).toMatch(/^no-consent: the consents are for relay/)
    // lapsed (bob's lasted an hour), or lapsing within a second
    expect(await refused(req(), ctx({ now: NOW + 60 * 60_000 }))).toMatch(/^no-consent: .*lapsed/)
    expect(await refused(req(), ctx({ now: NOW + 30 * 60_000 - 500 }))).toMatch(/^no-consent: the consents lapse in 500 ms/)
    // limits, checked before any signature
    expect(await refused(req(), ctx({ active: { total: 4, fromRequester: 0 } }))).toMatch(/^limit: this relay records 4 uploads at once, all taken/)
    expect(await refused(req(), ctx({ active: { total: 1, fromRequester: 1 } }))).toMatch(/^limit: this relay records 1 upload\(s\) at once per peer/)
  })

  it('any bytes a stranger sends are refused as a bad request or without consent, never taken and never thrown', async () => {
    const good = encodeRecordRequest({ consents, offerSdp: SDP, tracks: 2 })
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const c = Uint8Array.from(good); c[i]! ^= x; return c })), async (bytes) => {
      const d = await checkRecordRequest(bytes, ctx(), LIMITS)
      // a flipped byte in the offer's text may leave a valid request: only then is it taken
      if (d.ok) expect(d.agreed.recordingId).toBe('ab'.repeat(16))
      else expect(['bad-request', 'no-consent']).toContain(d.result)
    }), { numRuns: 200 })
  })

  it('RecordResponse round-trips, and a result this version does not know reads as undefined', () => {
    expect(decodeRecordResponse(encodeRecordResponse({ result: 'ok', answerSdp: SDP, endsAt: NOW }))).toEqual({ result: 'ok', answerSdp: SDP, message: '', endsAt: NOW, startedAt: 0 })
    expect(decodeRecordResponse(encodeRecordResponse({ result: 'ok', message: 'recording', startedAt: NOW })).startedAt).toBe(NOW)
    expect(decodeRecordResponse(encodeRecordResponse({ result: 'limit', message: 'full' }))).toMatchObject({ result: 'limit', message: 'full' })
    expect(decodeRecordResponse(new Uint8Array([0x08, 0x09])).result).toBeUndefined()
  })
})
