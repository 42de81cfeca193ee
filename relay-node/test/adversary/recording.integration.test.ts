import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createRecordingConsent, generateIdentityKey, signRecordingAccess } from '@auralink/identity'
import { decodeRecordResponse, encodeRecordRequest, MAX_RECORD_REQUEST_BYTES, MAX_RECORD_RESPONSE_BYTES, RECORD_PROTOCOL } from '@auralink/protocol'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, metric, startRelay, stockPeer, tempDir, until } from './harness.js'
import type { RecordResponseMessage, RecordingKind } from '@auralink/protocol'
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'

// The recording protocol (/auralink/record/1.0.0, docs/recording.md) against stock js-libp2p peers
// that speak it as raw length-prefixed protobuf: a real relay node in this process with
// `recording: true`, on 127.0.0.1. The offers are hand-written SDP (a host candidate on a port no
// one listens on): the relay answers them, but no media ever arrives, which is all a refusal or a
// limit needs. Recording real media is e2e/relay-recording.e2e.test.ts.

const hex = (): string => randomBytes(16).toString('hex')

/** A sendonly audio and video offer, as a browser's would read, that never connects. */
function offer (): string {
  const fingerprint = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
  const media = (kind: 'audio' | 'video', mid: number, pt: number, codec: string, ssrc: number): string[] => [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
    'c=IN IP4 0.0.0.0',
    'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    `a=mid:${mid}`,
    'a=sendonly',
    `a=msid:s ${kind}`,
    'a=rtcp-mux',
    `a=rtpmap:${pt} ${codec}`,
    ...(kind === 'video' ? [`a=rtcp-fb:${pt} nack pli`] : []),
    `a=ssrc:${ssrc} cname:c`
  ]
  return ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS s',
    ...media('audio', 0, 111, 'opus/48000/2', 1111), ...media('video', 1, 96, 'VP8/90000', 2222), ''].join('\r\n')
}

interface Party { key: PrivateKey, id: PeerId }
const party = async (): Promise<Party> => {
  const key = await generateIdentityKey()
  return { key, id: peerIdFromPrivateKey(key) }
}

/** Every party's signed consent to one recording at `relay`. */
async function consents (parties: Party[], relay: PeerId, extra: { kind?: RecordingKind, recordingId?: string, ttlMs?: number, streamUrl?: string } = {}): Promise<Uint8Array[]> {
  const recordingId = extra.recordingId ?? hex()
  const callId = hex()
  return Promise.all(parties.map(async (p) => (await createRecordingConsent(p.key, { recordingId, callId, participants: parties.map((q) => q.id), relay, kind: extra.kind, ttlMs: extra.ttlMs, ...(extra.streamUrl !== undefined ? { streamUrl: extra.streamUrl } : {}) })).bytes))
}

/** Opens a record stream, sends `bytes` as one length-prefixed message, reads the first response. The stream stays open. */
async function ask (node: Libp2p, addr: string, bytes: Uint8Array): Promise<{ response: RecordResponseMessage, stream: Stream, next: () => Promise<RecordResponseMessage> }> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await node.dialProtocol(multiaddr(addr), RECORD_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_RECORD_RESPONSE_BYTES })
  await lp.write(bytes, { signal })
  const response = decodeRecordResponse((await lp.read({ signal })).subarray())
  // a refusal ends the exchange: the requester closes its end too, as a client does
  if (response.result !== 'ok') await stream.close({ signal })
  return { response, stream, next: async () => decodeRecordResponse((await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray()) }
}

const request = (c: Uint8Array[], sdp = offer()): Uint8Array => encodeRecordRequest({ consents: c, offerSdp: sdp, tracks: 2 })

describe('the relay\'s recording protocol against stock libp2p peers', () => {
  afterEach(cleanup)

  it('the built relay loads werift (its WebRTC media stack) only when recording is on', async () => {
    const dist = new URL('../../dist/index.js', import.meta.url).href
    // a child Node with a resolve hook that notes every module asked for, running the built package
    const script = `
      import { registerHooks } from 'node:module'
      const asked = new Set()
      registerHooks({ resolve (spec, ctx, next) { asked.add(spec); return next(spec, ctx) } })
      const { createRelayNode } = await import(${JSON.stringify(dist)})
      const relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: process.argv[1], logLevel: 'silent', recording: process.argv[2] === 'on', recordingsMinFreeBytes: 0 })
      await relay.start()
      await relay.stop()
      console.log(JSON.stringify([...asked].some((s) => s === 'werift' || s.startsWith('werift/'))))`
    const run = async (recording: 'on' | 'off'): Promise<boolean> => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, await tempDir(), recording], { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000 })
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as boolean
    }
    expect(await run('off')).toBe(false)
    expect(await run('on')).toBe(true)
  })

  it('a relay without --recording does not speak the protocol at all', async () => {
    const { relay, addr } = await startRelay()
    expect(relay.recordings).toBeUndefined()
    const peer = await stockPeer()
    await expect(peer.dialProtocol(multiaddr(addr), RECORD_PROTOCOL, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/protocol/i)
  })

  it('garbage, a stranger holding two others\' consents, consents for another relay or for a stream, and a lone consent are each refused, named and counted; nothing is written', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0 })
    const relayId = relay.libp2p.peerId
    const [alice, bob] = [await party(), await party()]
    const stranger = await stockPeer()
    const alicePeer = await stockPeer({ privateKey: alice.key })

    const garbage = await ask(stranger, addr, randomBytes(300))
    expect(garbage.response.result).toBe('bad-request')

    const theirs = await ask(stranger, addr, request(await consents([alice, bob], relayId)))
    expect(theirs.response).toMatchObject({ result: 'no-consent', answerSdp: '' })
    expect(theirs.response.message).toContain(`the requester ${stranger.peerId.toString()} is not a participant`)

    const elsewhere = await ask(alicePeer, addr, request(await consents([alice, bob], bob.id)))
    expect(elsewhere.response.result).toBe('no-consent')
    expect(elsewhere.response.message).toContain('not this one')

    // a stream's consents at a relay that lists no RTMP host
    const stream = await ask(alicePeer, addr, encodeRecordRequest({ consents: await consents([alice, bob], relayId, { kind: 'stream', streamUrl: 'rtmp://127.0.0.1/live/x' }), offerSdp: offer(), tracks: 2, streamUrl: 'rtmp://127.0.0.1/live/x' }))
    expect(stream.response).toMatchObject({ result: 'limit', message: 'this relay streams nowhere: its operator lists no --stream-host' })

    const all = await consents([alice, bob], relayId)
    const lone = await ask(alicePeer, addr, request(all.slice(0, 1)))
    expect(lone.response.result).toBe('no-consent')

    const badTracks = await ask(alicePeer, addr, encodeRecordRequest({ consents: all, offerSdp: offer(), tracks: 9 }))
    expect(badTracks.response).toMatchObject({ result: 'bad-request', message: 'tracks must be 1 to 4, got 9' })
    const notSdp = await ask(alicePeer, addr, encodeRecordRequest({ consents: all, offerSdp: 'hello', tracks: 2 }))
    expect(notSdp.response.result).toBe('bad-request')

    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'bad_request' })).toBe(3)
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'no_consent' })).toBe(3)
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'limit' })).toBe(1)
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'ok' })).toBe(0)
    expect(await metric(relay, 'auralink_recordings_active')).toBe(0)
  })

  it('streams: a URL the consents do not name, no URL, a URL to an unlisted host, and URLs that are not rtmp:// are each refused; --max-streams 1 refuses a second stream while the first runs', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0, streamHosts: ['127.0.0.1:19353', '*.ingest.example'], maxStreams: 1 })
    const relayId = relay.libp2p.peerId
    const [alice, bob] = [await party(), await party()]
    const a = await stockPeer({ privateKey: alice.key })
    const url = 'rtmp://127.0.0.1:19353/live/key'
    const set = await consents([alice, bob], relayId, { kind: 'stream', streamUrl: url })
    const streamRequest = (c: Uint8Array[], streamUrl: string): Uint8Array => encodeRecordRequest({ consents: c, offerSdp: offer(), tracks: 2, streamUrl })
    const refused = async (bytes: Uint8Array): Promise<[string | undefined, string]> => { const r = (await ask(a, addr, bytes)).response; return [r.result, r.message] }

    // the consents bind one URL: another on the same listed host is not theirs
    expect(await refused(streamRequest(set, 'rtmp://127.0.0.1:19353/live/other-key'))).toEqual(['no-consent', 'the stream URL is not the destination the consents name'])
    expect(await refused(streamRequest(set, ''))).toEqual(['bad-request', 'a stream\'s request must carry its RTMP URL (stream_url)'])
    // a file recording's consents with a URL
    expect(await refused(streamRequest(await consents([alice, bob], relayId), url))).toEqual(['bad-request', 'a file recording\'s request carries no stream_url'])
    // hosts and ports the operator did not list (the consents for them are good: the relay still refuses)
    for (const elsewhere of ['rtmp://127.0.0.1:6379/live/x', 'rtmp://10.0.0.1:19353/live/x', 'rtmp://ingest.example/live/x', 'rtmps://evil.example/live/x']) {
      const c = await consents([alice, bob], relayId, { kind: 'stream', streamUrl: elsewhere })
      const [result, message] = await refused(streamRequest(c, elsewhere))
      expect([elsewhere, result, message]).toEqual([elsewhere, 'limit', expect.stringMatching(/^this relay streams only to the hosts its operator lists \(--stream-host\); .* is not one$/)])
    }
    // a subdomain of a listed *.domain passes the host check (and fails later: its consents name another URL)
    expect((await refused(streamRequest(set, 'rtmp://a.ingest.example/app/k')))[0]).toBe('no-consent')
    // not RTMP, or what ffmpeg could read as something else
    for (const bad of ['file:///etc/passwd', 'http://127.0.0.1:19353/x', 'rtmp://user:pw@127.0.0.1:19353/live/x', 'rtmp://127.0.0.1:19353/live/x -f null', `rtmp://127.0.0.1:19353/${'k'.repeat(1100)}`, 'rtmp://']) {
      const [result] = await refused(streamRequest(set, bad))
      expect([bad.slice(0, 40), result]).toEqual([bad.slice(0, 40), 'bad-request'])
    }
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'ok' })).toBe(0)

    // the good request is answered (its media never comes); a second stream meanwhile is over --max-streams
    const first = await ask(a, addr, streamRequest(set, url))
    expect(first.response.result).toBe('ok')
    expect(await metric(relay, 'auralink_streams_active')).toBe(1)
    const b = await stockPeer({ privateKey: bob.key })
    const url2 = 'rtmp://127.0.0.1:19353/live/second'
    const other = (await ask(b, addr, streamRequest(await consents([alice, bob], relayId, { kind: 'stream', streamUrl: url2 }), url2))).response
    expect([other.result, other.message]).toEqual(['limit', 'this relay streams 1 call(s) out at once, all taken'])
    await first.stream.close()
    expect(await first.next()).toMatchObject({ result: 'ok', message: 'stopped by the participant' })
    expect(await until(async () => metric(relay, 'auralink_streams_active'), 0, 5000)).toBe(0)
    // an ended stream is never restarted with the same consents
    expect(await refused(streamRequest(set, url))).toEqual(['no-consent', expect.stringMatching(/^stream [0-9a-f]{32} has ended$/)])
  })

  it('a request over MAX_RECORD_REQUEST_BYTES is refused before it is decoded', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0 })
    const peer = await stockPeer()
    const big = await ask(peer, addr, new Uint8Array(MAX_RECORD_REQUEST_BYTES + 1)).catch((err: Error) => err)
    // the relay answers bad-request, or the stream dies under the oversized write: never an OK
    if (!(big instanceof Error)) expect(big.response.result).toBe('bad-request')
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'ok' })).toBe(0)
  })

  it('--max-recordings-per-peer 1 and --max-recordings 2: a participant\'s second upload and a third upload relay-wide get `limit`; the first two are answered and run until their participants close', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0, maxRecordings: 2, maxRecordingsPerPeer: 1, recordingGraceMs: 60_000 })
    const relayId = relay.libp2p.peerId
    const [alice, bob, carol] = [await party(), await party(), await party()]
    const [a, b, c] = await Promise.all([alice, bob, carol].map(async (p) => stockPeer({ privateKey: p.key })))
    const recordingId = hex()
    const set = await consents([alice, bob, carol], relayId, { recordingId })

    const first = await ask(a!, addr, request(set))
    expect(first.response).toMatchObject({ result: 'ok' })
    expect(first.response.answerSdp).toMatch(/^v=0/)
    expect(first.response.answerSdp).toContain('a=ice-lite')
    // the agreed end: the consents' lapse (1 h by default) or the relay's cap (1 h), whichever first
    expect(first.response.endsAt).toBeGreaterThan(Date.now() + 50 * 60_000)
    const again = await ask(a!, addr, request(set))
    expect([again.response.result, again.response.message]).toEqual(['limit', 'this relay records 1 upload(s) at once per peer'])

    const second = await ask(b!, addr, request(set))
    expect(second.response.result).toBe('ok')
    const third = await ask(c!, addr, request(set))
    expect(third.response).toMatchObject({ result: 'limit', message: 'this relay records 2 uploads at once, all taken' })
    expect(await metric(relay, 'auralink_recordings_active')).toBe(2)
    expect(await metric(relay, 'auralink_recordings_requests_total', { result: 'limit' })).toBe(2)

    // the sidecar exists while it runs: the consents as they came, the parts under way
    const sidecar = JSON.parse(await readFile(join(relay.config.recordingsDir, `${recordingId}.json`), 'utf8')) as { status: string, participants: string[], consents: unknown[], parts: Array<{ participant: string, stopped: string | null }> }
    expect(sidecar.status).toBe('recording')
    expect(sidecar.participants.sort()).toEqual([alice, bob, carol].map((p) => p.id.toString()).sort())
    expect(sidecar.consents).toHaveLength(3)
    expect(sidecar.parts.map((p) => [p.participant, p.stopped])).toEqual([[alice.id.toString(), null], [bob.id.toString(), null]])

    // closing its stream ends an upload: the relay says why, frees the place, counts it
    await first.stream.close()
    expect(await first.next()).toMatchObject({ result: 'ok', message: 'stopped by the participant' })
    expect(await until(async () => metric(relay, 'auralink_recordings_active'), 1, 5000)).toBe(1)
    const now = await ask(c!, addr, request(set))
    expect(now.response.result).toBe('ok')
    expect(await metric(relay, 'auralink_recordings_stopped_total', { reason: 'participant' })).toBe(1)
  })

  it('bytes after the request end the upload and reset the stream (reason protocol); a reused recording id is refused once it has ended', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0, recordingGraceMs: 100 })
    const relayId = relay.libp2p.peerId
    const [alice, bob] = [await party(), await party()]
    const a = await stockPeer({ privateKey: alice.key })
    const recordingId = hex()
    const set = await consents([alice, bob], relayId, { recordingId })
    const up = await ask(a, addr, request(set))
    expect(up.response).toMatchObject({ result: 'ok' })
    up.stream.send(randomBytes(64))
    expect(await until(async () => metric(relay, 'auralink_recordings_stopped_total', { reason: 'protocol' }), 1, 5000)).toBe(1)
    expect(await until(() => up.stream.status, (s) => s !== 'open', 5000)).not.toBe('open')
    // bob never uploaded: after the grace the recording ends with no media, its sidecar says so
    const sidecarFile = join(relay.config.recordingsDir, `${recordingId}.json`)
    const ended = await until(async () => JSON.parse(await readFile(sidecarFile, 'utf8')) as { status: string, error?: string }, (s) => s.status !== 'recording', 10_000)
    expect(ended).toMatchObject({ status: 'failed', error: 'no upload wrote any media' })
    expect(await metric(relay, 'auralink_recordings_finished_total', { status: 'failed' })).toBe(1)
    // the same recording id again, with fresh consents: refused, the sidecar untouched
    const reuse = await ask(a, addr, request(await consents([alice, bob], relayId, { recordingId })))
    expect(reuse.response).toMatchObject({ result: 'no-consent', message: `recording ${recordingId} has ended` })
  })

  it('--recordings-min-free-bytes above the disk\'s free space: every request gets `limit`, naming the floor', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: Number.MAX_SAFE_INTEGER })
    const [alice, bob] = [await party(), await party()]
    const a = await stockPeer({ privateKey: alice.key })
    const { response } = await ask(a, addr, request(await consents([alice, bob], relay.libp2p.peerId)))
    expect(response.result).toBe('limit')
    expect(response.message).toMatch(/^the relay's disk has \d+ bytes free, under its floor of 9007199254740991$/)
  })

  it('the disk falls under --recordings-min-free-bytes while an upload runs: the relay stops it within seconds, saying why (limit), and counts it (reason disk)', async () => {
    // the real disk: the floor 256 MiB under its free space now, then a file of twice that written beside the recordings
    const dataDir = await tempDir()
    const free = await statfs(dataDir).then((f) => f.bavail * f.bsize)
    const margin = 256 * 2 ** 20
    const { relay, addr } = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: free - margin })
    const [alice, bob] = [await party(), await party()]
    const a = await stockPeer({ privateKey: alice.key })
    const up = await ask(a, addr, request(await consents([alice, bob], relay.libp2p.peerId)))
    expect(up.response.result).toBe('ok')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await metric(relay, 'auralink_recordings_active')).toBe(1)
    const filler = join(dataDir, 'filler')
    const block = Buffer.alloc(2 ** 20, 1)
    const fd = await open(filler, 'w')
    try {
      for (let i = 0; i < (2 * margin) / 2 ** 20; i++) await fd.write(block)
      await fd.sync()
    } finally {
      await fd.close()
    }
    const last = await up.next()
    expect(last).toMatchObject({ result: 'limit', message: 'the relay\'s disk is nearly full' })
    expect(await metric(relay, 'auralink_recordings_stopped_total', { reason: 'disk' })).toBe(1)
    await rm(filler, { force: true })
  })

  it('at start, unfinished sidecars that do not parse or name a part outside their folder are left as they are and logged; the relay starts', async () => {
    const dataDir = await tempDir()
    const dir = join(dataDir, 'recordings')
    await mkdir(dir, { recursive: true })
    const [a, b, c] = [hex(), hex(), hex()]
    await writeFile(join(dir, `${a}.json`), '{ "status": "recording", ')
    const escape = { version: 1, recordingId: b, status: 'recording', parts: [{ participant: 'x', file: '../../relay.key', startedAt: new Date().toISOString(), endedAt: null, bytes: 0, tracks: [], stopped: null }] }
    await writeFile(join(dir, `${b}.json`), JSON.stringify(escape))
    // finished: not touched
    const done = { version: 1, recordingId: c, status: 'complete', parts: [] }
    await writeFile(join(dir, `${c}.json`), JSON.stringify(done))
    const { relay, log } = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: 0 }, { log: 'debug' })
    expect(relay.recordings).toBeDefined()
    expect(await readFile(join(dir, `${a}.json`), 'utf8')).toBe('{ "status": "recording", ')
    expect(JSON.parse(await readFile(join(dir, `${b}.json`), 'utf8'))).toEqual(escape)
    expect(JSON.parse(await readFile(join(dir, `${c}.json`), 'utf8'))).toEqual(done)
    const unreadable = log.records().filter((l) => l.msg === 'an unfinished recording\'s sidecar could not be read: left as it is')
    expect(unreadable.map((l) => l.sidecar).sort()).toEqual([`${a}.json`, `${b}.json`].sort())
    expect(await metric(relay, 'auralink_recordings_finished_total', { status: 'complete' })).toBe(0)
  })

  it('--recordings-retention-days 30: at start a recording that ended 31 days ago is deleted (file, then sidecar) and counted; one that ended yesterday stays; with 0 both stay', async () => {
    const dataDir = await tempDir()
    const dir = join(dataDir, 'recordings')
    await mkdir(dir, { recursive: true })
    const day = 86_400_000
    const [old, recent] = [hex(), hex()]
    for (const [id, ago] of [[old, 31 * day], [recent, day]] as const) {
      await writeFile(join(dir, `${id}.webm.age`), randomBytes(100))
      await writeFile(join(dir, `${id}.json`), JSON.stringify({ version: 1, recordingId: id, status: 'complete', endedAt: new Date(Date.now() - ago).toISOString(), file: `${id}.webm.age`, parts: [] }))
    }
    const kept = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: 0, recordingsRetentionDays: 0 })
    await kept.relay.stop()
    expect((await readdir(dir)).length).toBe(4)
    const { relay } = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: 0, recordingsRetentionDays: 30 })
    expect((await readdir(dir)).sort()).toEqual([`${recent}.json`, `${recent}.webm.age`].sort())
    expect(await metric(relay, 'auralink_recordings_expired_total')).toBe(1)
    // the hourly sweep finds the next one when its day comes
    expect(await relay.recordings!.sweep()).toEqual([])
  })

  it('playback on the HTTP port: a participant\'s signed request gets the file (and byte ranges) and its list; unsigned, forged, expired, another recording\'s or a stranger\'s requests get nothing', async () => {
    const dataDir = await tempDir()
    const dir = join(dataDir, 'recordings')
    await mkdir(dir, { recursive: true })
    const { relay: started } = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: 0 })
    const relayId = started.libp2p.peerId
    await started.stop()
    const [alice, bob, eve] = [await party(), await party(), await party()]
    const [mine, theirs, sealed] = [hex(), hex(), hex()]
    const media = randomBytes(50_000)
    const sidecar = (id: string, participants: Party[], extra: Record<string, unknown> = {}): string => JSON.stringify({
      version: 1, recordingId: id, callId: hex(), relay: relayId.toString(), status: 'complete', participants: participants.map((p) => p.id.toString()),
      startedAt: new Date().toISOString(), endedAt: new Date().toISOString(), file: `${id}.webm`, bytes: media.length, consents: [], parts: [], ...extra
    })
    await writeFile(join(dir, `${mine}.webm`), media)
    await writeFile(join(dir, `${mine}.json`), sidecar(mine, [alice, bob]))
    await writeFile(join(dir, `${theirs}.webm`), media)
    await writeFile(join(dir, `${theirs}.json`), sidecar(theirs, [bob, eve]))
    await writeFile(join(dir, `${sealed}.webm.age`), media)
    await writeFile(join(dir, `${sealed}.json`), sidecar(sealed, [alice, bob], { file: `${sealed}.webm.age`, encrypted: 'age' }))
    const { relay } = await startRelay({ dataDir, recording: true, recordingsMinFreeBytes: 0 })
    expect(relay.libp2p.peerId.equals(relayId)).toBe(true)
    const url = async (who: Party, id: string, signFor = id, extra: Record<string, number> = {}): Promise<string> => {
      const a = await signRecordingAccess(who.key, { relay: relayId, recordingId: signFor, ...extra })
      return `${relay.httpUrl}/recordings${id === '' ? '' : `/${id}`}?${new URLSearchParams({ ...a })}`
    }
    const get = async (u: string, headers: Record<string, string> = {}): Promise<Response> => fetch(u, { headers, signal: AbortSignal.timeout(5_000) })

    const whole = await get(await url(alice, mine))
    expect(whole.status).toBe(200)
    expect(whole.headers.get('content-type')).toBe('video/webm')
    expect(whole.headers.get('access-control-allow-origin')).toBe('*')
    // a cross-origin-isolated page (COEP require-corp) may play it
    expect(whole.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(Buffer.compare(Buffer.from(await whole.arrayBuffer()), media)).toBe(0)
    const part = await get(await url(bob, mine), { range: 'bytes=100-199' })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${media.length}`)
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), media.subarray(100, 200))).toBe(0)
    expect((await get(await url(bob, mine), { range: `bytes=${media.length}-` })).status).toBe(416)

    const list = await (await get(await url(alice, ''))).json() as { recordings: Array<{ id: string, encrypted: boolean }> }
    expect(list.recordings.map((r) => [r.id, r.encrypted]).sort()).toEqual([[mine, false], [sealed, true]].sort())

    // eve: not in it (403), signing as alice with her own key, or alice's signature for another recording, time or relay
    expect((await get(await url(eve, mine))).status).toBe(403)
    const forged = new URL(await url(eve, mine))
    forged.searchParams.set('peer', alice.id.toString())
    expect((await get(forged.toString())).status).toBe(401)
    expect((await get(await url(alice, mine, theirs))).status).toBe(401)
    const stretched = new URL(await url(alice, mine))
    stretched.searchParams.set('expires', String(Number(stretched.searchParams.get('expires')) + 60_000))
    expect((await get(stretched.toString())).status).toBe(401)
    expect((await get(`${relay.httpUrl}/recordings/${mine}`)).status).toBe(401)
    expect((await get(await url(alice, mine, mine, { now: Date.now() - 6 * 60_000 }))).status).toBe(401)
    expect((await get(await url(alice, theirs))).status).toBe(403)
    expect((await get(await url(alice, sealed))).status).toBe(409)
    expect((await get(await url(alice, hex()))).status).toBe(404)
    expect((await get(`${relay.httpUrl}/recordings/..%2F..%2Frelay.key`)).status).toBe(400)
    const eveList = await (await get(await url(eve, ''))).json() as { recordings: Array<{ id: string }> }
    expect(eveList.recordings.map((r) => r.id)).toEqual([theirs])
    expect(await metric(relay, 'auralink_recordings_served_total', { result: 'unauthorized' })).toBe(5)
    expect(await metric(relay, 'auralink_recordings_served_total', { result: 'file' })).toBe(2)
  })

  it('stopping the relay ends every upload, telling each participant why', async () => {
    const { relay, addr } = await startRelay({ recording: true, recordingsMinFreeBytes: 0 })
    const [alice, bob] = [await party(), await party()]
    const a = await stockPeer({ privateKey: alice.key })
    const up = await ask(a, addr, request(await consents([alice, bob], relay.libp2p.peerId)))
    expect(up.response).toMatchObject({ result: 'ok' })
    const told = up.next()
    await relay.stop()
    expect(await told).toMatchObject({ result: 'failed', message: 'the relay is stopping' })
  })
})
