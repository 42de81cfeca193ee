// The fuzz benchmark's decoder targets: for each, seeds made by the real encoders, how one input is
// made from the PRNG, the call under test, and the error names it documents. Any other exception
// is a finding. Keys come from fixed seeds and every check runs at a fixed `now`, so an input
// decodes the same way on any day (`--replay`).
import { ExpiredRelayAdvertError, InvalidRelayAdvertError, MessageTooLargeError } from '@auralink/core'
import { createGroupOp, createRecord, createRecordingConsent, createRelayAdvert, createUnregister, GroupMembership, signRecordingAccess, verifyGroupOp, verifyRecord, verifyRecordingAccess, verifyRecordingConsent, verifyRelayAdvert, verifyUnregister } from '@auralink/identity'
import { createRelayReports, verifyRelayReports } from '@auralink/mesh'
import * as P from '@auralink/protocol'
import { auraIdDhtKey, verifyDhtRecord } from '@auralink/signalling'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Message, MessageType } from '../../node_modules/@libp2p/kad-dht/dist/src/message/dht.js'
import { concat, generate, mutate, varint } from './mutate.mjs'

/** Every check runs at this time: 2026-06-01T00:00:00Z. */
export const NOW = Date.UTC(2026, 5, 1)
const DAY = 86_400_000

const key = (n) => generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(n))
const enc = new TextEncoder()
const PROTOCOL_ERRORS = ['MalformedMessageError', 'MessageTooLargeError']
const RECORD_ERRORS = ['RecordTooLargeError', 'MalformedRecordError', 'InvalidAuraIdError', 'InvalidRecordError', 'InvalidSignatureError', 'RecordExpiredError']

/** Seed records: public, unlisted, private, with a profile and relays, expired, near the size limit. */
async function recordSeeds () {
  const k = [await key(1), await key(2), await key(3)]
  const relay = peerIdFromPrivateKey(await key(9)).toString()
  const specs = [
    [k[0], { name: '@alice.aura' }],
    [k[1], { name: '@bob-smith.aura', sequence: 7, visibility: 'unlisted', profile: { displayName: 'Bob Smith', avatar: 'https://example.org/b.png' } }],
    [k[2], { name: '@carol_9.aura', visibility: 'private', relays: [`/ip4/127.0.0.1/tcp/4001/ws/p2p/${relay}`] }],
    [k[0], { name: '@dave.aura', sequence: 2 ** 40, ttl: 60, profile: { displayName: 'D'.repeat(64) } }],
    [k[1], { name: '@erin.aura', validity: NOW + 2 * DAY, relays: new Array(4).fill(0).map((_, i) => `/ip4/10.0.0.${i}/tcp/4001/ws/p2p/${relay}`) }],
    [k[2], { name: '@old.aura', now: NOW - 40 * DAY, validity: NOW - DAY }]
  ]
  const out = []
  for (const [privateKey, init] of specs) out.push({ privateKey, name: init.name, bytes: (await createRecord(privateKey, { now: NOW, ...init })).bytes })
  return out
}

/**
 * A signed wrapper `{ payload, signature }` whose payload is a mutation of a seed's, signed again
 * by the seed's key under `domain`: the signature verifies, so the checks after it are reached.
 */
async function resigned (rng, seed, domain, encodeSigned, decodeSigned, others) {
  const { payload } = decodeSigned(seed.bytes)
  const p = mutate(rng, payload, others)
  const signature = await seed.privateKey.sign(concat(enc.encode(domain), p))
  return encodeSigned({ payload: p, signature })
}

/** One target per decoder. `make(rng)` gives the input's parts (Uint8Arrays); `run(parts)` is the call under test. */
export async function decoderTargets () {
  const records = await recordSeeds()
  const recordBytes = records.map((r) => r.bytes)
  const payloads = records.map((r) => P.decodeSignedAuraIdRecord(r.bytes).payload)
  const holder = records[0].privateKey
  const unregisters = [
    await createUnregister(holder, '@alice.aura', { now: NOW }),
    await createUnregister(holder, '@alice.aura', { now: NOW - DAY }),
    await createUnregister(records[1].privateKey, '@bob-smith.aura', { now: NOW })
  ]
  const relayKeys = [await key(10), await key(11), await key(12)]
  const relayIds = relayKeys.map((k) => peerIdFromPrivateKey(k))
  const p2p = (i, addrs) => addrs.map((a) => `${a}/p2p/${relayIds[i].toString()}`)
  const adverts = [
    await createRelayAdvert(relayKeys[0], { addrs: p2p(0, ['/ip4/127.0.0.1/tcp/4001/ws']), capacity: 128, load: 3, version: '0.1.0', now: NOW }),
    await createRelayAdvert(relayKeys[1], { addrs: p2p(1, ['/ip4/10.1.2.3/tcp/443/wss', '/dns4/relay.example.org/tcp/443/wss', '/ip6/::1/tcp/4001/ws']), capacity: 1000, load: 999, version: '0.1.0-rc.1', aicSupport: true, region: 'eu-west', now: NOW }),
    await createRelayAdvert(relayKeys[2], { addrs: p2p(2, new Array(16).fill(0).map((_, i) => `/ip4/192.168.0.${i}/tcp/${4000 + i}/ws`)), capacity: 0, load: 0, version: 'x'.repeat(32), now: NOW - 60_000 })
  ].map((a, i) => ({ bytes: a.bytes, privateKey: relayKeys[i] }))
  const advertBytes = adverts.map((a) => a.bytes)
  const consentIds = [relayIds[0], relayIds[1]]
  const consents = [
    await createRecordingConsent(relayKeys[0], { recordingId: 'ab'.repeat(16), callId: 'cd'.repeat(16), participants: consentIds, relay: relayIds[2], now: NOW }),
    await createRecordingConsent(relayKeys[1], { recordingId: 'ab'.repeat(16), callId: 'cd'.repeat(16), participants: [...consentIds, relayIds[2]], relay: relayIds[2], kind: 'stream', streamUrl: 'rtmp://127.0.0.1:1935/live/key', ttlMs: 60_000, now: NOW - 30_000 })
  ].map((c, i) => ({ bytes: c.bytes, privateKey: relayKeys[i] }))
  // a group call's ops: a create, an invite, a leave (issue 18)
  const groupCreate = await createGroupOp(relayKeys[0], { kind: 'create', now: NOW })
  const groupOps = [
    groupCreate,
    await createGroupOp(relayKeys[0], { kind: 'invite', roomId: groupCreate.roomId, subject: relayIds[1], now: NOW + 1 }),
    await createGroupOp(relayKeys[1], { kind: 'leave', roomId: groupCreate.roomId, now: NOW + 2 })
  ].map((o, i) => ({ bytes: o.bytes, privateKey: relayKeys[i === 2 ? 1 : 0] }))
  const room = await GroupMembership.from(groupCreate.bytes, { now: NOW })
  // a participant's signed playback request, as the query string a relay's HTTP port reads
  const accesses = [
    await signRecordingAccess(relayKeys[0], { relay: relayIds[2], recordingId: 'ab'.repeat(16), now: NOW }),
    await signRecordingAccess(relayKeys[1], { relay: relayIds[2], recordingId: '', ttlMs: 600_000, now: NOW - 1000 })
  ].map((a) => enc.encode(new URLSearchParams(a).toString()))
  const reports = [
    await createRelayReports(holder, [{ relay: relayIds[0], value: 0.5 }], { now: NOW }),
    await createRelayReports(holder, relayIds.map((relay, i) => ({ relay, value: i / 2 })), { now: NOW - 60_000 }),
    await createRelayReports(records[1].privateKey, [{ relay: relayIds[2], value: 1 }, { relay: relayIds[0], value: 0 }], { now: NOW })
  ].map((r, i) => ({ bytes: r.bytes, privateKey: i === 2 ? records[1].privateKey : holder }))

  const Op = P.DirectoryOp
  const directoryRequests = [
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_REGISTER, record: recordBytes[0] }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_UPDATE, record: recordBytes[1] }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_RESOLVE, name: '@alice.aura' }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_SEARCH, prefix: '@a', limit: 50 }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_UNREGISTER, name: '@alice.aura', unregister: unregisters[0] }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_UNSPECIFIED })
  ]
  const directoryResponses = [
    P.encodeDirectoryResponse({ error: P.DirectoryError.DIRECTORY_ERROR_NONE, records: [recordBytes[0]] }),
    P.encodeDirectoryResponse({ error: P.DirectoryError.DIRECTORY_ERROR_NONE, records: recordBytes }),
    P.encodeDirectoryResponse({ error: P.DirectoryError.DIRECTORY_ERROR_NAME_TAKEN, message: 'name taken by another key' }),
    P.encodeDirectoryResponse({ error: P.DirectoryError.DIRECTORY_ERROR_RATE_LIMITED, message: 'slow down' })
  ]
  const callId = '0123456789abcdef0123456789abcdef'
  const media = { audio: true, video: true, data: false }
  const signals = [
    { invite: { from: '@alice.aura', to: '@bob-smith.aura', media } },
    { accept: { media } },
    { end: { reason: P.EndReason.END_REASON_HANGUP, message: 'bye' } },
    { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' } },
    { candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' } },
    { ping: { nonce: 42 } },
    { pong: { nonce: 42 } },
    { chat: { text: 'hello', data: new Uint8Array(16) } },
    { aicCapability: { available: true, mode: 2, runtime: 'wasm', metaInFrame: true, models: [{ scaleX100: 200, version: 3, msPerFrame: 4.5, width: 640, height: 360 }] } },
    { aicReport: { enhanceMsP50: 3.2, enhanceMsP95: 8.1, framesEnhanced: 1000, framesPassedThrough: 3 } },
    { aicSwitch: { meta: Uint8Array.of(8, 1, 16, 200, 1), width: 1280, height: 720 } },
    { recordingAsk: { recordingId: 'ab'.repeat(16), relayAddr: `/ip4/127.0.0.1/tcp/4001/ws/p2p/${relayIds[2].toString()}`, consent: consents[0].bytes } },
    { recordingAnswer: { recordingId: 'ab'.repeat(16), agreed: true, consent: consents[1].bytes } },
    { recordingStop: { recordingId: 'ab'.repeat(16), reason: 'stopped' } }
  ].map((body) => P.encodeSignalMessage({ callId, ...body }))
  const fileHeaders = [
    P.encodeFileHeader({ callId, offer: { fileId: 'f1', name: 'photo.jpg', size: 123456, mimeType: 'image/jpeg', sha256: new Uint8Array(32).fill(1) } }),
    P.encodeFileHeader({ callId, offer: { fileId: 'f2', name: 'x'.repeat(255), size: 2 ** 40, mimeType: '', sha256: new Uint8Array(32) } })
  ]
  const fileResults = [P.encodeFileResult({ ok: true }), P.encodeFileResult({ ok: false, error: 'checksum mismatch' })]
  const dhtKeys = records.map((r) => auraIdDhtKey(r.name))
  const relayList = concat(...advertBytes.flatMap((a) => [varint(a.length), a]))
  const kad = [
    Message.encode({ type: MessageType.PUT_VALUE, key: dhtKeys[0], record: { key: dhtKeys[0], value: recordBytes[0], timeReceived: new Date(NOW).toISOString() }, closer: [], providers: [] }),
    Message.encode({ type: MessageType.GET_VALUE, key: dhtKeys[1], closer: [], providers: [] }),
    Message.encode({ type: MessageType.FIND_NODE, key: relayIds[0].toMultihash().bytes, closer: [{ id: relayIds[1].toMultihash().bytes, multiaddrs: [Uint8Array.of(4, 127, 0, 0, 1, 6, 15, 161)] }], providers: [] }),
    Message.encode({ type: MessageType.PING, closer: [], providers: [] })
  ]

  const one = (seeds) => (rng) => [generate(rng, seeds)]
  /** Mostly mutations of the signed bytes; `p` of them a mutated payload signed again so it verifies. */
  const signed = (seeds, domain, encodeSigned, decodeSigned, p = 0.15) => {
    const inner = seeds.map((s) => decodeSigned(s.bytes).payload)
    return async (rng) => rng.chance(p) ? [await resigned(rng, rng.pick(seeds), domain, encodeSigned, decodeSigned, inner)] : [generate(rng, seeds.map((s) => s.bytes))]
  }
  const recordSigned = signed(records, P.RECORD_SIGNATURE_DOMAIN, P.encodeSignedAuraIdRecord, P.decodeSignedAuraIdRecord)
  const anyError = (e) => e instanceof Error

  return [
    { name: 'directory-request', what: 'decodeDirectoryRequest', errors: PROTOCOL_ERRORS, make: one(directoryRequests), run: ([b]) => P.decodeDirectoryRequest(b) },
    { name: 'directory-response', what: 'decodeDirectoryResponse', errors: PROTOCOL_ERRORS, make: one(directoryResponses), run: ([b]) => P.decodeDirectoryResponse(b) },
    { name: 'auraid-record', what: 'verifyRecord (identity)', errors: RECORD_ERRORS, make: recordSigned, run: ([b]) => verifyRecord(b, { now: NOW }) },
    { name: 'auraid-record-payload', what: 'decodeAuraIdRecord', errors: PROTOCOL_ERRORS, make: one(payloads), run: ([b]) => P.decodeAuraIdRecord(b) },
    {
      name: 'unregister', what: 'verifyUnregister (identity)', errors: ['MalformedRecordError', 'InvalidAuraIdError', 'InvalidSignatureError', 'RecordExpiredError'],
      make: signed(unregisters.map((bytes) => ({ bytes, privateKey: holder })), P.UNREGISTER_SIGNATURE_DOMAIN, P.encodeSignedUnregister, P.decodeSignedUnregister),
      run: ([b]) => verifyUnregister(b, holder.publicKey, { now: NOW })
    },
    {
      name: 'dht-record', what: 'verifyDhtRecord (signalling)', errors: [...RECORD_ERRORS, 'InvalidDhtRecordError'],
      make: async (rng) => {
        const [value] = await recordSigned(rng)
        const k = rng.chance(0.8) ? rng.pick(dhtKeys) : generate(rng, dhtKeys)
        return [k, value]
      },
      run: ([k, v]) => verifyDhtRecord(k, v, { now: NOW })
    },
    {
      name: 'relay-advert', what: 'verifyRelayAdvert (mesh)', errors: ['MessageTooLargeError', 'InvalidRelayAdvertError', 'ExpiredRelayAdvertError'],
      make: signed(adverts, P.RELAY_ADVERT_SIGNATURE_DOMAIN, P.encodeSignedRelayAdvert, P.decodeSignedRelayAdvert),
      run: ([b]) => verifyRelayAdvert(b, { now: NOW })
    },
    {
      name: 'recording-consent', what: 'verifyRecordingConsent (identity)', errors: ['MessageTooLargeError', 'InvalidRecordingConsentError'],
      make: signed(consents, P.RECORDING_CONSENT_SIGNATURE_DOMAIN, P.encodeSignedRecordingConsent, P.decodeSignedRecordingConsent),
      run: ([b]) => verifyRecordingConsent(b, { now: NOW })
    },
    {
      name: 'group-op', what: 'verifyGroupOp (identity)', errors: ['MessageTooLargeError', 'InvalidGroupOpError'],
      make: signed(groupOps, P.GROUP_OP_SIGNATURE_DOMAIN, P.encodeSignedGroupOp, P.decodeSignedGroupOp),
      run: ([b]) => verifyGroupOp(b, { now: NOW })
    },
    {
      // never throws: a bad op is refused with its reason, whatever the bytes
      name: 'group-state', what: 'GroupMembership.merge of a GroupState (identity)', errors: PROTOCOL_ERRORS,
      make: one([P.encodeGroupState(groupOps.map((o) => o.bytes))]),
      run: async ([b]) => { await room.merge(P.decodeGroupState(b), { now: NOW }) }
    },
    {
      name: 'relay-list', what: 'a relay list answer: length-prefixed adverts, each verifyRelayAdvert', errors: ['MessageTooLargeError', 'InvalidRelayAdvertError', 'ExpiredRelayAdvertError', 'RelayListFramingError'],
      make: (rng) => [rng.chance(0.5) ? mutate(rng, relayList, advertBytes) : concat(...advertBytes.map((a) => rng.chance(0.3) ? mutate(rng, a, advertBytes) : a).flatMap((a) => [varint(a.length), a]))],
      run: ([b]) => readRelayList(b)
    },
    {
      name: 'relay-reports', what: 'verifyRelayReports (mesh)', errors: ['MessageTooLargeError', 'InvalidRelayReportError'],
      make: signed(reports, P.RELAY_REPORTS_SIGNATURE_DOMAIN, P.encodeSignedRelayReports, P.decodeSignedRelayReports),
      run: ([b]) => verifyRelayReports(b, { now: NOW })
    },
    {
      // never throws: every input is a verdict (ok, or malformed / expired / signature)
      name: 'recording-access', what: 'verifyRecordingAccess of a playback URL\'s query (identity)', errors: [],
      make: one(accesses),
      run: async ([b]) => {
        const q = new URLSearchParams(new TextDecoder().decode(b))
        for (const recordingId of ['ab'.repeat(16), '']) await verifyRecordingAccess({ peer: q.get('peer'), expires: q.get('expires'), sig: q.get('sig') }, { relay: relayIds[2], recordingId, now: NOW })
      }
    },
    {
      name: 'record-request', what: 'decodeRecordRequest, decodeRecordResponse', errors: PROTOCOL_ERRORS,
      make: one([P.encodeRecordRequest({ consents: consents.map((c) => c.bytes), offerSdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', tracks: 2 }), P.encodeRecordResponse({ result: 'ok', answerSdp: 'v=0\r\n', endsAt: NOW }), P.encodeRecordResponse({ result: 'limit', message: 'full' })]),
      run: ([b]) => { try { P.decodeRecordRequest(b) } finally { P.decodeRecordResponse(b) } }
    },
    {
      // the SIP protocol's four messages (docs/sip.md): what the relay reads from clients, and what clients read from it
      name: 'sip-messages', what: 'decodeSipRequest, decodeSipControl, decodeSipEvent, decodeSipIncoming', errors: PROTOCOL_ERRORS,
      make: one([
        P.encodeSipRequest({ target: 'sip:alice@127.0.0.1:5062', offerSdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' }),
        P.encodeSipControl({ dtmf: '123#' }), P.encodeSipControl({ hangup: true }),
        P.encodeSipEvent({ answerSdp: 'v=0\r\n', state: 'calling' }), P.encodeSipEvent({ state: 'ended', endReason: 'busy', status: 486, message: 'Busy Here' }), P.encodeSipEvent({ dtmf: '5' }),
        P.encodeSipIncoming({ from: 'sip:carol@pbx.example', displayName: 'Carol' })
      ]),
      run: ([b]) => {
        // every decoder reads the input; an error of a kind not allowed wins over an allowed one
        const errors = []
        for (const decode of [P.decodeSipRequest, P.decodeSipControl, P.decodeSipEvent, P.decodeSipIncoming]) { try { decode(b) } catch (err) { errors.push(err) } }
        const first = errors.find((e) => !PROTOCOL_ERRORS.includes(e?.name)) ?? errors[0]
        if (first !== undefined) throw first
      }
    },
    { name: 'relay-probe-request', what: 'decodeRelayProbeRequest', errors: PROTOCOL_ERRORS, make: one([P.encodeRelayProbeRequest({ bytes: 1024 }), P.encodeRelayProbeRequest({ bytes: P.MAX_RELAY_PROBE_BYTES }), P.encodeRelayProbeRequest({ bytes: 0 })]), run: ([b]) => P.decodeRelayProbeRequest(b) },
    { name: 'signal-message', what: 'decodeSignalMessage', errors: PROTOCOL_ERRORS, make: one(signals), run: ([b]) => P.decodeSignalMessage(b) },
    { name: 'file-header', what: 'decodeFileHeader', errors: PROTOCOL_ERRORS, make: one(fileHeaders), run: ([b]) => P.decodeFileHeader(b) },
    { name: 'file-result', what: 'decodeFileResult', errors: PROTOCOL_ERRORS, make: one(fileResults), run: ([b]) => P.decodeFileResult(b) },
    { name: 'aic-headers', what: 'decodeImageHeader, decodeEnhanceMeta', errors: PROTOCOL_ERRORS, make: one([P.encodeImageHeader({ modelVersion: 1, quality: 80, width: 640, height: 360, hyperBytes: 120 }), P.encodeEnhanceMeta({ modelVersion: 3, scaleX100: 200, mode: 2 })]), run: ([b]) => { try { P.decodeImageHeader(b) } finally { P.decodeEnhanceMeta(b) } } },
    {
      name: 'weight-update', what: 'decodeWeightUpdate', errors: PROTOCOL_ERRORS,
      make: one([P.encodeWeightUpdate({
        modelVersion: 4, scaleX100: 200, sequence: 3, checksum: new Uint8Array(8).fill(7),
        tensors: [
          { name: 'tail.weight', shape: [12, 8, 3, 3], quantisation: P.Quantisation.QUANTISATION_INT8_PER_CHANNEL, values: new Uint8Array(864).fill(3), scales: new Array(12).fill(0.01) },
          { name: 'tail.bias', shape: [12], quantisation: P.Quantisation.QUANTISATION_INT8_PER_CHANNEL, values: new Uint8Array(12).fill(250), scales: new Array(12).fill(0.002) }
        ]
      })]),
      run: ([b]) => P.decodeWeightUpdate(b)
    },
    // upstream (@libp2p/kad-dht's protons codec): it documents no error type, so any Error is a typed refusal
    { name: 'kad-dht-message', what: '@libp2p/kad-dht Message.decode (upstream)', errors: anyError, make: one(kad), run: ([b]) => Message.decode(b) }
  ]
}

/** Thrown by readRelayList for a list whose framing is broken (the mesh drops such a list). */
class RelayListFramingError extends Error {
  name = 'RelayListFramingError'
}

/**
 * Reads a relay list answer as the mesh's fetchRelayList does: up to 65 length-prefixed adverts
 * of at most 4 KiB, each verified; a refused advert is counted, an expired one skipped.
 */
async function readRelayList (b) {
  let at = 0
  const out = { ok: 0, invalid: 0, expired: 0 }
  for (let i = 0; i < P.MAX_RELAY_LIST_ADVERTS && at < b.length; i++) {
    let len = 0
    let k = 0
    for (; ; k++) {
      const x = b[at + k]
      if (x === undefined) throw new RelayListFramingError('cut short in a length prefix')
      if (k >= 2 && (x & 0x80) !== 0) throw new RelayListFramingError('length prefix too long')
      len += (x & 0x7f) * 2 ** (7 * k)
      if ((x & 0x80) === 0) break
    }
    at += k + 1
    if (len > P.MAX_RELAY_ADVERT_BYTES) throw new RelayListFramingError(`advert of ${len} bytes`)
    if (at + len > b.length) throw new RelayListFramingError('cut short in an advert')
    try {
      await verifyRelayAdvert(b.subarray(at, at + len), { now: NOW })
      out.ok++
    } catch (err) {
      if (err instanceof ExpiredRelayAdvertError) out.expired++
      else if (err instanceof InvalidRelayAdvertError || err instanceof MessageTooLargeError) out.invalid++
      else throw err
    }
    at += len
  }
  return out
}
