import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRecordingConsent, generateIdentityKey } from '@auralink/identity'
import { decodeRecordResponse, encodeRecordRequest, MAX_RECORD_RESPONSE_BYTES, RECORD_PROTOCOL } from '@auralink/protocol'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mergeRecordings } from '../relay-node/src/media/merge.js'
import { MediaRecording } from '../relay-node/src/media/recorder.js'
import { launchBrowser } from './harness/browser.js'
import { ffprobe } from './harness/ffprobe.js'
import { startRelay } from './harness/relay.js'
import { removeDir, startRelayProcess } from '../test-utils/relay-process.js'
import { until } from './harness/aic.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { RecordingSidecar } from '../relay-node/src/index.js'
import type { RecordResponseMessage } from '@auralink/protocol'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Server } from 'node:http'

// The relay's media endpoint for recording (issue 17, first part): a Chromium page with the fake
// camera and microphone offers its audio and video, the relay's recorder (werift, in this Node
// process) answers and writes WebM; ffprobe, which no one here wrote, reads the file back. The
// page and the recorder meet on the test namespace's own addresses (iceServers: []).

const CLI = resolve(import.meta.dirname, '../relay-node/dist/cli.js')

describe('the relay\'s recorder: a Chromium participant\'s audio and video into WebM', () => {
  let browser: E2eBrowser | undefined
  let server: Server | undefined
  let dir = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-recording-'))
    // a secure origin (localhost) for getUserMedia
    server = createServer((_req, res) => { res.setHeader('content-type', 'text/html').end('<!doctype html><title>recording</title>') })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A page with the fake camera and microphone, its offer (ICE gathered), and a way to take the answer. */
  async function participant (label: string): Promise<{ offer: { type: 'offer', sdp: string }, answer: (a: { type: 'answer', sdp: string }) => Promise<void> }> {
    const page = await browser!.newPage(label)
    const { port } = server!.address() as { port: number }
    await page.goto(`http://127.0.0.1:${port}/`)
    const offer = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } })
      const pc = new RTCPeerConnection({ iceServers: [] })
      ;(window as unknown as { pc: RTCPeerConnection }).pc = pc
      for (const t of stream.getTracks()) pc.addTrack(t, stream)
      await pc.setLocalDescription(await pc.createOffer())
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve()
        pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
      })
      return { type: 'offer' as const, sdp: pc.localDescription!.sdp }
    })
    return { offer, answer: async (a) => { await page.evaluate(async (x) => { await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription(x) }, a) } }
  }

  /** A participant's own libp2p node (stock js-libp2p: WebSockets, Noise, yamux) with its identity key. */
  const libp2pNode = async (privateKey: Awaited<ReturnType<typeof generateIdentityKey>>): Promise<Libp2p> =>
    createLibp2p({ privateKey, transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })

  /**
   * One upload on /auralink/record/1.0.0: the page's offer with `consents`, the relay's answer given
   * to the page, then its "recording" (first media written). `next()` reads the relay's next message.
   */
  async function upload (node: Libp2p, relayAddr: string, consents: Uint8Array[], label: string): Promise<{ stream: Stream, next: () => Promise<RecordResponseMessage>, at: number }> {
    const page = await participant(label)
    const signal = AbortSignal.timeout(30_000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), RECORD_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_RECORD_RESPONSE_BYTES })
    const next = async (): Promise<RecordResponseMessage> => decodeRecordResponse((await lp.read({ signal: AbortSignal.timeout(30_000) })).subarray())
    await lp.write(encodeRecordRequest({ consents, offerSdp: page.offer.sdp, tracks: 2 }), { signal })
    const response = await next()
    expect(response).toMatchObject({ result: 'ok', message: '' })
    await page.answer({ type: 'answer', sdp: response.answerSdp })
    // the relay says when this participant's first media is written: the recording has begun
    const started = await next()
    expect(started).toMatchObject({ result: 'ok', message: 'recording' })
    expect(Math.abs(started.startedAt - Date.now())).toBeLessThan(5_000)
    return { stream, next, at: performance.now() }
  }

  /** The sidecar once the recording has ended (complete or failed), polled; bounded at 30 s. */
  const endedSidecar = async (dir: string, recordingId: string): Promise<Partial<RecordingSidecar>> =>
    until('the sidecar says the recording ended', async () => JSON.parse(await readFile(join(dir, `${recordingId}.json`), 'utf8').catch(() => '{}')) as Partial<RecordingSidecar>,
      (s) => s.status === 'complete' || s.status === 'failed', 30_000)

  /**
   * Two participants of one new recording at the relay `relayAddr`: their libp2p nodes (also
   * pushed to `nodes`, for the test's finally), the recording's id and call id, and both consents.
   */
  async function twoParticipants (relayAddr: string, nodes: Libp2p[]): Promise<{ recordingId: string, callId: string, participants: PeerId[], consents: Uint8Array[], nodes: Libp2p[] }> {
    const relay = peerIdFromString(relayAddr.split('/p2p/')[1]!)
    const keys = [await generateIdentityKey(), await generateIdentityKey()]
    const mine: Libp2p[] = []
    for (const k of keys) mine.push(await libp2pNode(k))
    nodes.push(...mine)
    const init = { recordingId: randomBytes(16).toString('hex'), callId: randomBytes(16).toString('hex'), participants: mine.map((n) => n.peerId), relay }
    const consents = await Promise.all(keys.map(async (k) => (await createRecordingConsent(k, init)).bytes))
    return { ...init, consents, nodes: mine }
  }

  it('two participants, the second 2 s after the first, each in its own file: mergeRecordings() makes one WebM of their four streams, the second pair starting when it joined', async () => {
    const rec = async (label: string, file: string): Promise<MediaRecording> => {
      const p = await participant(label)
      const r = await MediaRecording.answer(p.offer, { file, tracks: 2 })
      await p.answer(r.answer)
      await r.whenRecording()
      return r
    }
    const first = await rec('first', join(dir, 'first.webm'))
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const second = await rec('second', join(dir, 'second.webm'))
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const [a, b] = await Promise.all([first.stop(), second.stop()])
    const out = join(dir, 'call.webm')
    await mergeRecordings([{ file: a.file!, startedAtMs: a.startedAtMs }, { file: b.file!, startedAtMs: b.startedAtMs }], out)
    const probe = ffprobe(out)
    const gap = (b.startedAtMs - a.startedAtMs) / 1000
    console.log('[recording] merged', JSON.stringify({ gap, probe }))
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
    const starts = probe.streams.map((s) => Number(s.start_time))
    // the first participant's streams start at 0 (give or take its first frame), the second's when it joined
    expect(starts.slice(0, 2).every((t) => t < 0.5)).toBe(true)
    for (const t of starts.slice(2)) expect(Math.abs(t - gap)).toBeLessThan(0.5)
    expect(gap).toBeGreaterThan(1.5)
    const duration = Number(probe.format.duration)
    // the call's span: the first participant's file (about 5 s; its first half second goes by before the key frame)
    expect(duration).toBeGreaterThan(gap + 2)
    expect(duration).toBeLessThan(a.ms / 1000 + 1)
    for (const v of probe.streams.filter((s) => s.codec_type === 'video')) expect(Number(v.nb_read_frames)).toBeGreaterThan(20)
    await expect(mergeRecordings([{ file: a.file!, startedAtMs: 0 }], join(dir, 'x.webm'), { ffmpeg: 'no-such-ffmpeg' })).rejects.toThrow(/needs ffmpeg \(Debian package ffmpeg\)/)
  })

  it('records 5 s of a fake camera (640x360, 30 fps) and microphone: ffprobe reads one VP8 and one Opus stream, about 5 s long, with about 30 frames a second', async () => {
    const p = await participant('participant')
    const file = join(dir, 'one.webm')
    const recording = await MediaRecording.answer(p.offer, { file, tracks: 2 })
    try {
      await p.answer(recording.answer)
      await recording.whenRecording()
      await new Promise((resolve) => setTimeout(resolve, 5_000))
    } finally {
      const summary = await recording.stop()
      console.log('[recording]', JSON.stringify(summary))
    }
    const probe = ffprobe(file)
    console.log('[recording] ffprobe', JSON.stringify(probe))
    const video = probe.streams.find((s) => s.codec_type === 'video')
    const audio = probe.streams.find((s) => s.codec_type === 'audio')
    expect(video).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 })
    expect(audio).toMatchObject({ codec_name: 'opus' })
    const duration = Number(probe.format.duration)
    // the file starts with the first packet (whenRecording() resolves then): 4.74 s of the 5 s on a
    // busy machine (the video's first frame waits for the key frame the recorder asks for)
    expect(duration).toBeGreaterThan(3)
    expect(duration).toBeLessThan(6)
    const frames = Number(video!.nb_read_frames)
    // the fake camera asked for 30 fps; a loaded machine's encoder may send fewer
    expect(frames).toBeGreaterThan(duration * 10)
    expect(frames).toBeLessThanOrEqual(duration * 31)
  })

  it('through a relay started with --recording: two participants upload 10 s each over /auralink/record/1.0.0 with both consents; the relay merges one WebM (ffprobe: two VP8 and two Opus streams, the span within 0.5 s) and writes its sidecar', async () => {
    let relay: E2eRelay | undefined
    const nodes: Libp2p[] = []
    try {
      relay = await startRelay({ args: ['--recording', '--recordings-min-free-bytes', '0'] })
      const relayId = peerIdFromString(relay.addr.split('/p2p/')[1]!)
      const { recordingId, callId, participants, consents } = await twoParticipants(relay.addr, nodes)
      const uploads = await Promise.all(nodes.map(async (node, i) => upload(node, relay!.addr, consents, `uploader-${i}`)))
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      // the recorded span: from the first participant's "recording" to the stop
      const span = (performance.now() - Math.min(...uploads.map((u) => u.at))) / 1000
      const ends = await Promise.all(uploads.map(async ({ stream, next }) => {
        // closing our end is how a participant stops: the relay answers why it ended, then closes
        await stream.close({ signal: AbortSignal.timeout(5_000) })
        return next()
      }))
      for (const end of ends) expect(end).toMatchObject({ result: 'ok', message: 'stopped by the participant' })

      const dir = join(relay.process.dataDir, 'recordings')
      const sidecar = await endedSidecar(dir, recordingId)
      console.log('[recording] sidecar', JSON.stringify({ ...sidecar, consents: sidecar.consents?.length }))
      expect(sidecar).toMatchObject({ version: 1, status: 'complete', recordingId, callId, relay: relayId.toString(), file: `${recordingId}.webm` })
      expect(sidecar.participants!.sort()).toEqual(participants.map(String).sort())
      expect(sidecar.consents!.map((c) => c.signer).sort()).toEqual(participants.map(String).sort())
      expect(sidecar.parts!.map((p) => p.stopped)).toEqual(['participant', 'participant'])
      const probe = ffprobe(join(dir, `${recordingId}.webm`))
      console.log('[recording] relay file', JSON.stringify({ span, probe }))
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
      const duration = Number(probe.format.duration)
      // never longer than the span; shorter by what the recorder is known to leave out
      // (relay-node/README.md "Recording"): the frames before the first key frame after it began
      // writing, and the last half second werift's writer still held at the stop. Bounded at 0.5 s
      // in all, this missed by 0.8 ms in one fresh-clone CI run of 5
      expect(duration).toBeLessThan(span + 0.25)
      expect(duration).toBeGreaterThan(span - 1)
      // the fake camera asked for 30 fps; a loaded machine's encoder may send fewer (figures in the log)
      for (const v of probe.streams.filter((s) => s.codec_type === 'video')) expect(Number(v.nb_read_frames)).toBeGreaterThan(span * 10)
      expect(sidecar.bytes).toBeGreaterThan(0)
      const http = /auralink-relay http (\S+)/.exec(relay.output())?.[1]
      const metrics = await (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
      expect(metrics).toMatch(/^auralink_recordings_finished_total\{status="complete"\} 1$/m)
      expect(metrics).toMatch(/^auralink_recordings_requests_total\{result="ok"\} 2$/m)
    } finally {
      await Promise.all(nodes.map(async (n) => n.stop()))
      await relay?.stop()
    }
  })

  it('--max-recording-bytes 100000: an upload past it is stopped by the relay, which says why (limit); the other participant never uploads, so the file is made after --recording-grace-ms; with --recordings-recipient only an age file is kept, which ffprobe cannot read until `recordings decrypt`', async () => {
    let relay: E2eRelay | undefined
    let node: Libp2p | undefined
    try {
      const keyDir = await mkdtemp(join(tmpdir(), 'auralink-recording-key-'))
      const ageKey = join(keyDir, 'key.txt')
      const keygen = spawnSync(process.execPath, [CLI, 'recordings', 'keygen', '--out', ageKey], { encoding: 'utf8' })
      const recipient = /Public key: (age1\S+)/.exec(keygen.stderr)?.[1]
      expect(recipient).toBeDefined()
      relay = await startRelay({ args: ['--recording', '--recordings-min-free-bytes', '0', '--max-recording-bytes', '100000', '--recording-grace-ms', '500', '--recordings-recipient', recipient!] })
      const relayId = peerIdFromString(relay.addr.split('/p2p/')[1]!)
      const [key, other] = [await generateIdentityKey(), await generateIdentityKey()]
      node = await libp2pNode(key)
      const participants = [node.peerId, peerIdFromPrivateKey(other)]
      const recordingId = randomBytes(16).toString('hex')
      const init = { recordingId, callId: randomBytes(16).toString('hex'), participants, relay: relayId }
      const consents = [(await createRecordingConsent(key, init)).bytes, (await createRecordingConsent(other, init)).bytes]
      const { next } = await upload(node, relay.addr, consents, 'over-the-cap')
      // 100 kB is under a second of the fake camera at 640x360: the relay's check (every second) stops it
      expect(await next()).toMatchObject({ result: 'limit', message: 'this upload reached the relay\'s size cap' })
      const dir = join(relay.process.dataDir, 'recordings')
      const sidecar = await endedSidecar(dir, recordingId)
      expect(sidecar).toMatchObject({ status: 'complete', file: `${recordingId}.webm.age`, encrypted: 'age' })
      expect(sidecar.parts!.map((p) => p.stopped)).toEqual(['bytes'])
      // nothing in the clear is left: no merged file, no parts
      expect((await readdir(dir)).sort()).toEqual([`${recordingId}.json`, `${recordingId}.webm.age`])
      expect(() => ffprobe(join(dir, `${recordingId}.webm.age`))).toThrow(/ffprobe failed/)
      const decrypt = spawnSync(process.execPath, [CLI, 'recordings', 'decrypt', '--identity', ageKey, join(dir, `${recordingId}.webm.age`), '--out', join(keyDir, 'clear.webm')], { encoding: 'utf8' })
      expect(decrypt.status, decrypt.stderr).toBe(0)
      // the check runs once a second: the file may pass the cap by what a second brings, no more
      expect(sidecar.parts![0]!.bytes).toBeGreaterThan(100_000)
      expect(sidecar.parts![0]!.bytes).toBeLessThan(100_000 + 1_000_000)
      expect(ffprobe(join(keyDir, 'clear.webm')).streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'vp8'])
      await rm(keyDir, { recursive: true, force: true })
    } finally {
      await node?.stop()
      await relay?.stop()
    }
  })

  it('SIGKILL 5 s into a recording: at the next start the relay finishes it from what reached the disk (sidecar "recovered"); ffprobe reads both participants, at least 4 s', async () => {
    const args = ['--recording', '--recordings-min-free-bytes', '0']
    let relay = await startRelayProcess({ args })
    const dataDir = relay.dataDir
    const nodes: Libp2p[] = []
    try {
      const { recordingId, consents } = await twoParticipants(relay.addr, nodes)
      const addr = relay.addr
      await Promise.all(nodes.map(async (node, i) => upload(node, addr, consents, `crash-${i}`)))
      await new Promise((resolve) => setTimeout(resolve, 5_000))
      relay.child.kill('SIGKILL')
      expect(await relay.stop()).toBeNull()
      const dir = join(dataDir, 'recordings')
      expect(JSON.parse(await readFile(join(dir, `${recordingId}.json`), 'utf8'))).toMatchObject({ status: 'recording' })
      // the same data folder: the relay finds the unfinished recording and finishes it
      relay = await startRelayProcess({ dataDir, args })
      const sidecar = await endedSidecar(dir, recordingId)
      console.log('[recording] recovered', JSON.stringify({ ...sidecar, consents: sidecar.consents?.length }))
      expect(sidecar).toMatchObject({ status: 'complete', recovered: true, file: `${recordingId}.webm` })
      expect(sidecar.parts!.map((p) => p.stopped)).toEqual(['interrupted', 'interrupted'])
      // written when the media began, so known after a crash too
      for (const p of sidecar.parts!) expect(p.tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video'])
      const probe = ffprobe(join(dir, `${recordingId}.webm`))
      console.log('[recording] recovered file', JSON.stringify(probe))
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
      expect(Number(probe.format.duration)).toBeGreaterThanOrEqual(4)
      expect(relay.output()).toContain('finishing a recording the relay did not finish')
    } finally {
      await Promise.all(nodes.map(async (n) => n.stop()))
      await relay.stop()
      await removeDir(dataDir)
    }
  })

  it('a participant that drops for 5 s and uploads again: its two parts become one track with a 5 s gap at the right place (a held frame and silence), never a shift; the other track runs through', async () => {
    let relay: E2eRelay | undefined
    const nodes: Libp2p[] = []
    try {
      relay = await startRelay({ args: ['--recording', '--recordings-min-free-bytes', '0'] })
      const { recordingId, consents } = await twoParticipants(relay.addr, nodes)
      const [a, b] = await Promise.all(nodes.map(async (node, i) => upload(node, relay!.addr, consents, `rejoin-${i}`)))
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      // a drops: its upload ends, b goes on
      await a!.stream.close({ signal: AbortSignal.timeout(5_000) })
      expect(await a!.next()).toMatchObject({ result: 'ok', message: 'stopped by the participant' })
      const dropped = performance.now()
      await new Promise((resolve) => setTimeout(resolve, 5_000))
      // a comes back: a new connection and upload, the same consents
      const again = await upload(nodes[0]!, relay.addr, consents, 'rejoin-0-again')
      const gap = (again.at - dropped) / 1000
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      for (const u of [again, b!]) {
        await u.stream.close({ signal: AbortSignal.timeout(5_000) })
        await u.next()
      }
      const dir = join(relay.process.dataDir, 'recordings')
      const sidecar = await endedSidecar(dir, recordingId)
      expect(sidecar).toMatchObject({ status: 'complete' })
      expect(sidecar.parts).toHaveLength(3)
      const file = join(dir, `${recordingId}.webm`)
      expect(ffprobe(file).streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
      // each video stream's largest pause between frames: a's is the drop, b's is none
      const packets = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=stream_index,pts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' }).stdout
      const byStream = new Map<string, number[]>()
      for (const line of packets.trim().split('\n')) {
        const [stream, t] = line.split(',')
        byStream.set(stream!, [...(byStream.get(stream!) ?? []), Number(t)])
      }
      const pauses = [...byStream.values()].map((ts) => {
        const sorted = ts.sort((x, y) => x - y)
        let most = 0
        let at = 0
        for (let i = 1; i < sorted.length; i++) if (sorted[i]! - sorted[i - 1]! > most) { most = sorted[i]! - sorted[i - 1]!; at = sorted[i - 1]! }
        return { most, at }
      }).sort((x, y) => y.most - x.most)
      console.log('[recording] rejoin', JSON.stringify({ gap, pauses }))
      expect(pauses).toHaveLength(2)
      // the drop, where it happened (about 3 s in), as long as it was (the new upload's setup included)
      expect(Math.abs(pauses[0]!.most - gap)).toBeLessThan(1.5)
      expect(pauses[0]!.at).toBeGreaterThan(2)
      expect(pauses[0]!.at).toBeLessThan(4.5)
      expect(pauses[1]!.most).toBeLessThan(1)
    } finally {
      await Promise.all(nodes.map(async (n) => n.stop()))
      await relay?.stop()
    }
  })
})

