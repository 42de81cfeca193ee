// The SDK test page: one AuraLink client per page, driven from Node through
// page.evaluate(() => window.sdkPage.xxx(...)). Everything it reports is plain data, so it
// crosses the page boundary intact (errors as { name, message }).
import { AuraLink } from '@auralink/sdk'
import { rawChannel } from './rawdc.js'
import type { RawChannel } from './rawdc.js'
import type { AicInit, AicMode, AicStats, Call, CallSetupTimes, CallStats, FileTransfer, ImagesInit, RecordingChange } from '@auralink/sdk'
import type { Stream } from '@libp2p/interface'

export interface PageError { name: string, message: string, ms: number }
export interface StateRecord { state: string, reason?: string, message?: string, at: number }
export interface FileRecord { name: string, size: number, sha256: string, progressEvents: number, lastProgress: number, error?: string }
/** A still sent or received (call.sendImage(), the `image` event); `pixels`: the decoded RGBA, base64. */
export interface ImageRecord {
  codec: string
  mimeType: string
  bytes: number
  width: number
  height: number
  pixels: string
  /** When the `image` event came (received) or sendImage() was called (sent): ms since the epoch, comparable across pages of one machine. */
  at: number
}
export interface ImageFailureRecord { mimeType: string, codec?: string, bytes: number, error: string, reason?: string }
export interface SendResult { sha256: string, progressEvents: number, lastProgress: number, ms: number, error?: string }

export interface SdkPage {
  /**
   * AuraLink.create with `relay` (and `aic` options when given, and the reconnect limit when
   * given), then register(name). Returns the PeerId. No key store: a new key each time.
   */
  start(relay: string, name: string, aic?: AicInit, reconnectTimeoutMs?: number, images?: ImagesInit): Promise<string>
  /**
   * AuraLink.create({ relays: [relay] }) as the README has it (the default key store: IndexedDB),
   * with `keyLabel` when given, then register(name). The PeerId, or the error either call threw.
   */
  startKept(relay: string, name: string, keyLabel?: string): Promise<{ peerId: string } | PageError>
  /** The client's relay addresses as `relays()` gives them (with the peer id learnt for a ws:// URL). */
  relayAddrs(): string[]
  /** What to do with the next incoming calls: accept with audio+video (and `aic` when given), or reject with a reason. */
  answer(mode: 'accept' | 'reject', reason?: string, aic?: AicMode, media?: { audio: boolean, video: boolean }): void
  /**
   * client.call(name, media): null when the invite went out, else the error. With `camera`, the
   * page gets its own stream from the (fake) camera at that size and frame rate and sends it.
   */
  call(name: string, media: { audio: boolean, video: boolean, aic?: AicMode, camera?: { width: number, height: number, frameRate: number }, abortAfterMs?: number }): Promise<PageError | null>
  /** RTCPeerConnections with audio or video made in this page so far, and those not closed (the libp2p connections' data-only ones are left out). */
  mediaPeerConnections(): { created: number, open: number }
  /** Tracks that getUserMedia gave this page and that are still live (a camera or microphone left on). */
  liveLocalTracks(): number
  /** call.setAicMode(mode) on the current call: null, or the error. */
  setAicMode(mode: AicMode): PageError | null
  /** Every `aic` event of the current call, in order. */
  aicEvents(): AicStats[]
  /** The remote <video> element's frame size now. */
  shownSize(): { width: number, height: number }
  /** Resolves when the current call reaches `state` (or already did); the error if it ends otherwise or time runs out. */
  waitState(state: string, timeoutMs: number): Promise<StateRecord | PageError>
  states(): StateRecord[]
  /** Frames the remote <video> element has presented (getVideoPlaybackQuality). */
  videoFrames(): number
  /** Whether the remote stream has a live audio track and a live video track. */
  remoteTracks(): { audio: number, video: number }
  stats(): Promise<CallStats>
  send(text: string): Promise<void>
  messages(): string[]
  /** Sends `size` random bytes as a file; resolves when the receiver confirmed the checksum. */
  sendFile(size: number): Promise<SendResult>
  files(): FileRecord[]
  /**
   * call.sendImage() of a test card (testCard(width, height)), or of `pixels` (base64 RGBA, for
   * bench/images.mjs), given as ImageData or as a PNG Blob; the SentImage with its decode() (what
   * the other side should see; `decode: false` leaves it out, pixels '') and the ms until
   * sendImage() resolved, or the error.
   */
  sendImage(width: number, height: number, options: { quality?: number, maxSide?: number, as?: 'imagedata' | 'png', pixels?: string, decode?: boolean }): Promise<(ImageRecord & { ms: number }) | PageError>
  /** Every `image` event of the current call. */
  images(): ImageRecord[]
  /** Every `image:failed` event of the current call. */
  imageFailures(): ImageFailureRecord[]
  /** The test card's pixels (base64 RGBA): what sendImage() sends before coding. */
  testCard(width: number, height: number): string
  hangup(): Promise<void>
  stop(): Promise<void>
  /** For bench/call-setup: call(name) with audio and video; ms from the call to the first remote video frame presented. */
  timedCall(name: string, timeoutMs: number): Promise<{ ms: number, invitedMs: number, connectedMs: number, setup: CallSetupTimes } | PageError>
  /** The current call's setup steps (`stats().setup`): for the callee, ms since the invite arrived. */
  setup(): Promise<CallSetupTimes>
  /** For bench/browser-throughput: a data-only call; resolves when connected. */
  dataCall(name: string): Promise<PageError | null>
  /** sendFile of `size` random bytes; ms from sendFile() until the receiver confirmed the checksum. */
  timedSendFile(size: number): Promise<{ ms: number } | PageError>
  /** Adds a canvas track (as a screen share would) to the current call: renegotiation. */
  addCanvasTrack(): string
  /** Every remote track received on the current call, in order. */
  remoteTrackLog(): Array<{ kind: string, stream: string, state: string }>
  /** A raw RTCDataChannel to the other page (the baseline). */
  raw: RawChannel
  /** How this page answers the other side's recording asks from now on: accept, or refuse with a reason. */
  answerRecording(mode: 'accept' | 'refuse', reason?: string): void
  /** call.startRecording({ relay }) on the current call: what it resolved with, or the error. */
  startRecording(relay?: string): Promise<RecordingChange | PageError>
  /** call.stopRecording() on the current call. */
  stopRecording(): Promise<void>
  /** Every `recording` event of the current call, in order. */
  recordingEvents(): RecordingChange[]
  /** call.startStream({ url }) on the current call: what it resolved with, or the error. */
  startStream(url: string): Promise<RecordingChange | PageError>
  /** call.stopStream() on the current call. */
  stopStream(): Promise<void>
  /** Every `stream` event of the current call, in order. */
  streamEvents(): RecordingChange[]
  /** Aborts this client's libp2p connections to its relays (a network drop between it and them; the call's direct path stays): how many. */
  dropRelayConnections(): number
  /** For bench/browser-throughput: `size` bytes pushed on a plain libp2p stream of the call's connection (no file protocol, no hashing); ms until the receiver acknowledged them. */
  timedStreamPush(size: number): Promise<{ ms: number } | PageError>
}

export interface SdkPageWindow { sdkPage: SdkPage }

let client: AuraLink | undefined
let call: Call | undefined
let answerMode: { mode: 'accept' | 'reject', reason: string, media: { audio: boolean, video: boolean, aic?: AicMode } } = { mode: 'accept', reason: '', media: { audio: true, video: true } }
const aicLog: AicStats[] = []
const recordingLog: RecordingChange[] = []
const streamLog: RecordingChange[] = []
let recordingAnswer: { mode: 'accept' | 'refuse', reason: string } = { mode: 'accept', reason: '' }
const stateLog: StateRecord[] = []
const received: string[] = []
const remoteTracks: Array<{ track: MediaStreamTrack, stream: MediaStream }> = []
const files: FileRecord[] = []
const images: ImageRecord[] = []
const imageFailures: ImageFailureRecord[] = []
const video = document.getElementById('remote') as HTMLVideoElement
let firstFrameAt: number | undefined

// every peer connection the SDK's media sessions make, and every stream getUserMedia gives, so that
// a test can tell that none is left open after a call that failed
const peerConnections: RTCPeerConnection[] = []
const NativePeerConnection = window.RTCPeerConnection
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor (config?: RTCConfiguration) {
    super(config)
    peerConnections.push(this)
  }
}
const localStreams: MediaStream[] = []
const nativeGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices)
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await nativeGetUserMedia(constraints)
  localStreams.push(stream)
  return stream
}

function errorOf (err: unknown, t0: number): PageError {
  const e = err as Error
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), ms: Math.round(performance.now() - t0) }
}

function hex (b: ArrayBuffer): string {
  return Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('')
}

function current (): Call {
  if (call === undefined) throw new Error('no call yet')
  return call
}

function follow (c: Call): void {
  call = c
  stateLog.length = 0
  remoteTracks.length = 0
  aicLog.length = 0
  recordingLog.length = 0
  streamLog.length = 0
  // a stream is answered as recordings are (answerRecording())
  c.addEventListener('stream', (e) => {
    streamLog.push(e.detail)
    if (e.detail.state !== 'asked') return
    if (recordingAnswer.mode === 'accept') void c.acceptStream().catch(() => {})
    else void c.refuseStream(recordingAnswer.reason)
  })
  c.addEventListener('aic', (e) => { aicLog.push(e.detail) })
  c.addEventListener('recording', (e) => {
    recordingLog.push(e.detail)
    if (e.detail.state !== 'asked') return
    if (recordingAnswer.mode === 'accept') void c.acceptRecording().catch(() => {})
    else void c.refuseRecording(recordingAnswer.reason)
  })
  stateLog.push({ state: c.state, at: performance.now() })
  c.addEventListener('state', (e) => {
    stateLog.push({ ...e.detail, at: performance.now() })
  })
  c.addEventListener('track', (e) => {
    remoteTracks.push(e.detail)
    if (video.srcObject !== e.detail.stream) {
      video.srcObject = e.detail.stream
      void video.play().catch(() => {})
      // the first frame of this stream presented: bench/call-setup's end point
      video.requestVideoFrameCallback(() => { firstFrameAt = performance.now() })
    }
  })
  c.addEventListener('message', (e) => { received.push(e.detail.text ?? `<${e.detail.data?.byteLength ?? 0} bytes>`) })
  c.addEventListener('file', (e) => { void receive(e.detail.transfer) })
  images.length = 0
  imageFailures.length = 0
  c.addEventListener('image', (e) => {
    const at = performance.timeOrigin + performance.now()
    const { codec, mimeType, bytes, width, height, image } = e.detail
    images.push({ codec, mimeType, bytes, width, height, pixels: base64(image.data), at })
  })
  c.addEventListener('image:failed', (e) => {
    const { mimeType, codec, bytes, error } = e.detail
    imageFailures.push({ mimeType, ...(codec !== undefined ? { codec } : {}), bytes, error: error.message, ...('reason' in error ? { reason: String(error.reason) } : {}) })
  })
}

function base64 (b: Uint8Array | Uint8ClampedArray): string {
  let s = ''
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000))
  return btoa(s)
}

/** A test card: gradients, a bright square, stripes; the same in every page. */
function testCard (width: number, height: number): ImageData {
  const data = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4
      const inSquare = x > width * 0.3 && x < width * 0.6 && y > height * 0.2 && y < height * 0.65
      data[i] = inSquare ? 240 : Math.round((255 * x) / width)
      data[i + 1] = inSquare ? 230 : Math.round((255 * y) / height)
      data[i + 2] = (x >> 3) % 2 === 0 ? 40 : 200
      data[i + 3] = 255
    }
  }
  return new ImageData(data, width, height)
}

async function receive (t: FileTransfer): Promise<void> {
  const rec: FileRecord = { name: t.name, size: t.size, sha256: '', progressEvents: 0, lastProgress: 0 }
  files.push(rec)
  t.addEventListener('progress', (e) => { rec.progressEvents++; rec.lastProgress = e.detail.bytes })
  try {
    const file = await t.done
    // hash what arrived independently of the SDK's own check
    rec.sha256 = hex(await crypto.subtle.digest('SHA-256', await file!.blob!.arrayBuffer()))
  } catch (err) {
    rec.error = (err as Error).message
  }
}

/** bench/browser-throughput's plain stream: an 8-byte size, then that many bytes; the receiver answers one byte. */
const PUSH_PROTOCOL = '/auralink-bench/push/1.0.0'

function receivePush (stream: Stream): void {
  let expected = -1
  let got = 0
  let head = new Uint8Array(0)
  stream.addEventListener('message', (e) => {
    let data = e.data.subarray()
    if (expected < 0) {
      const joined = new Uint8Array(head.byteLength + data.byteLength)
      joined.set(head)
      joined.set(data, head.byteLength)
      if (joined.byteLength < 8) { head = joined; return }
      expected = Number(new DataView(joined.buffer, joined.byteOffset, 8).getBigUint64(0))
      data = joined.subarray(8)
    }
    got += data.byteLength
    if (got === expected) {
      stream.send(new Uint8Array([1]))
      void stream.close().catch(() => {})
    }
  })
}

const sdkPage: SdkPage = {
  async start (relay, name, aic, reconnectTimeoutMs, images) {
    client = await AuraLink.create({
      relays: [relay],
      iceServers: [],
      keyStore: null,
      ...(aic !== undefined ? { aic } : {}),
      ...(images !== undefined ? { images } : {}),
      ...(reconnectTimeoutMs !== undefined ? { reconnect: { timeoutMs: reconnectTimeoutMs } } : {})
    })
    await client.register(name)
    await client.mesh.handle(PUSH_PROTOCOL, (stream) => { receivePush(stream) })
    client.addEventListener('incoming', (e) => {
      const c = e.detail.call
      follow(c)
      if (answerMode.mode === 'reject') void c.reject(answerMode.reason)
      else void c.accept(c.requested.audio || c.requested.video ? answerMode.media : { audio: false, video: false })
    })
    return client.peerId.toString()
  },
  answer (mode, reason = '', aic, media = { audio: true, video: true }) {
    answerMode = { ...answerMode, mode, reason, media: { ...media, ...(aic !== undefined ? { aic } : {}) } }
  },
  setAicMode (mode) {
    try {
      current().setAicMode(mode)
      return null
    } catch (err) {
      return errorOf(err, performance.now())
    }
  },
  aicEvents: () => aicLog.slice(),
  async sendImage (width, height, options) {
    const t0 = performance.now()
    try {
      const card = options.pixels !== undefined ? new ImageData(Uint8ClampedArray.from(atob(options.pixels), (c) => c.charCodeAt(0)), width, height) : testCard(width, height)
      let input: ImageData | Blob = card
      if (options.as === 'png') {
        const canvas = new OffscreenCanvas(width, height)
        canvas.getContext('2d')!.putImageData(card, 0, 0)
        input = await canvas.convertToBlob({ type: 'image/png' })
      }
      const t1 = performance.now()
      const at = performance.timeOrigin + t1
      const sent = await current().sendImage(input, { ...(options.quality !== undefined ? { quality: options.quality } : {}), ...(options.maxSide !== undefined ? { maxSide: options.maxSide } : {}) })
      const ms = performance.now() - t1
      const pixels = options.decode === false ? '' : base64((await sent.decode()).data)
      return { codec: sent.codec, mimeType: sent.mimeType, bytes: sent.bytes, width: sent.width, height: sent.height, pixels, ms, at }
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  images: () => images.slice(),
  imageFailures: () => imageFailures.slice(),
  testCard: (width, height) => base64(testCard(width, height).data),
  answerRecording (mode, reason = '') {
    recordingAnswer = { mode, reason }
  },
  async startRecording (relay) {
    const t0 = performance.now()
    try {
      return await current().startRecording(relay !== undefined ? { relay } : {})
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  async stopRecording () {
    await current().stopRecording()
  },
  recordingEvents: () => recordingLog.slice(),
  async startStream (url) {
    const t0 = performance.now()
    try {
      return await current().startStream({ url })
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  async stopStream () {
    await current().stopStream()
  },
  streamEvents: () => streamLog.slice(),
  dropRelayConnections () {
    let n = 0
    for (const r of client!.relays()) {
      for (const c of client!.mesh.libp2p.getConnections(r.peerId)) { c.abort(new Error('the test dropped the relay connection')); n++ }
    }
    return n
  },
  shownSize: () => ({ width: video.videoWidth, height: video.videoHeight }),
  async call (name, media) {
    const t0 = performance.now()
    try {
      const { camera, abortAfterMs, ...rest } = media
      const stream = camera !== undefined ? await navigator.mediaDevices.getUserMedia({ audio: media.audio, video: { width: { exact: camera.width }, height: { exact: camera.height }, frameRate: { exact: camera.frameRate } } }) : undefined
      const options = abortAfterMs !== undefined ? { signal: AbortSignal.timeout(abortAfterMs) } : {}
      follow(await client!.call(name, { ...rest, data: true, ...(stream !== undefined ? { stream } : {}) }, options))
      return null
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  async waitState (state, timeoutMs) {
    const t0 = performance.now()
    const c = current()
    const seen = (): StateRecord | undefined => stateLog.find((s) => s.state === state)
    while (performance.now() - t0 < timeoutMs) {
      const s = seen()
      if (s !== undefined) return s
      if (c.state === 'ended') return errorOf(new Error(`the call ended (${c.ended?.reason ?? '?'} ${c.ended?.message ?? ''}) before it was ${state}`), t0)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return errorOf(new Error(`the call was not ${state} within ${timeoutMs} ms (it is ${c.state})`), t0)
  },
  states: () => stateLog.slice(),
  videoFrames: () => video.getVideoPlaybackQuality().totalVideoFrames,
  remoteTracks () {
    const s = video.srcObject as MediaStream | null
    const live = (kind: string): number => s?.getTracks().filter((t) => t.kind === kind && t.readyState === 'live').length ?? 0
    return { audio: live('audio'), video: live('video') }
  },
  stats: async () => current().stats(),
  setup: async () => (await current().stats()).setup ?? {},
  async send (text) { await current().send(text) },
  messages: () => received.slice(),
  async sendFile (size) {
    const t0 = performance.now()
    const data = new Uint8Array(size)
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)))
    const sha256 = hex(await crypto.subtle.digest('SHA-256', data))
    const t = current().sendFile(new File([data], 'e2e.bin', { type: 'application/octet-stream' }))
    let progressEvents = 0
    let lastProgress = 0
    t.addEventListener('progress', (e) => { progressEvents++; lastProgress = e.detail.bytes })
    try {
      await t.done
      return { sha256, progressEvents, lastProgress, ms: Math.round(performance.now() - t0) }
    } catch (err) {
      return { sha256, progressEvents, lastProgress, ms: Math.round(performance.now() - t0), error: (err as Error).message }
    }
  },
  files: () => files.map((f) => ({ ...f })),
  async hangup () { await current().hangup() },
  async startKept (relay, name, keyLabel) {
    const t0 = performance.now()
    let created: AuraLink | undefined
    try {
      created = await AuraLink.create({ relays: [relay], ...(keyLabel !== undefined ? { keyLabel } : {}) })
      await created.register(name)
      client = created
      return { peerId: created.peerId.toString() }
    } catch (err) {
      await created?.stop()
      return { name: (err as Error).name, message: (err as Error).message, ms: performance.now() - t0 }
    }
  },
  relayAddrs () { return client?.relays().map((r) => r.addr.toString()) ?? [] },
  async stop () { await client?.stop() },
  async timedCall (name, timeoutMs) {
    const t0 = performance.now()
    try {
      firstFrameAt = undefined
      video.srcObject = null
      const c = await client!.call(name, { audio: true, video: true, data: true })
      const invitedMs = performance.now() - t0
      follow(c)
      while (firstFrameAt === undefined) {
        if (c.state === 'ended') throw new Error(`call ended: ${c.ended?.reason ?? '?'} ${c.ended?.message ?? ''}`)
        if (performance.now() - t0 > timeoutMs) throw new Error(`no remote frame within ${timeoutMs} ms (call ${c.state})`)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const connected = stateLog.find((r) => r.state === 'connected')
      const ms = firstFrameAt - t0
      return { ms, invitedMs, connectedMs: connected !== undefined ? connected.at - t0 : NaN, setup: (await c.stats()).setup ?? {} }
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  async dataCall (name) {
    const t0 = performance.now()
    try {
      const c = await client!.call(name, { audio: false, video: false, data: true })
      follow(c)
      await c.whenConnected({ signal: AbortSignal.timeout(20_000) })
      return null
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  async timedSendFile (size) {
    const data = new Uint8Array(size)
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)))
    const file = new File([data], 'bench.bin')
    const t0 = performance.now()
    try {
      await current().sendFile(file).done
      return { ms: performance.now() - t0 }
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  addCanvasTrack () {
    const canvas = document.createElement('canvas')
    canvas.width = 320
    canvas.height = 180
    const g = canvas.getContext('2d')!
    let n = 0
    setInterval(() => {
      g.fillStyle = `hsl(${(n++ * 7) % 360} 70% 50%)`
      g.fillRect(0, 0, canvas.width, canvas.height)
    }, 50)
    const stream = canvas.captureStream(20)
    const track = stream.getVideoTracks()[0]!
    current().addTrack(track, stream)
    return stream.id
  },
  async timedStreamPush (size) {
    const chunk = new Uint8Array(64 * 1024)
    crypto.getRandomValues(chunk)
    const header = new Uint8Array(8)
    new DataView(header.buffer).setBigUint64(0, BigInt(size))
    const t0 = performance.now()
    try {
      const remote = current().remotePeer
      const conn = client!.mesh.libp2p.getConnections(remote).find((c) => c.status === 'open' && c.direct && c.limits == null)
      if (conn === undefined) throw new Error('no direct connection to the other page')
      const stream = await conn.newStream(PUSH_PROTOCOL)
      const acked = new Promise<void>((resolve, reject) => {
        stream.addEventListener('message', () => { resolve() }, { once: true })
        stream.addEventListener('close', (e) => { reject(e.error ?? new Error('stream closed before the acknowledgement')) }, { once: true })
      })
      stream.send(header)
      for (let sent = 0; sent < size; sent += chunk.byteLength) {
        if (!stream.send(sent + chunk.byteLength <= size ? chunk : chunk.subarray(0, size - sent))) await stream.onDrain()
      }
      await acked
      const ms = performance.now() - t0
      void stream.close().catch(() => {})
      return { ms }
    } catch (err) {
      return errorOf(err, t0)
    }
  },
  mediaPeerConnections () {
    const media = peerConnections.filter((pc) => pc.getTransceivers().length > 0)
    return { created: media.length, open: media.filter((pc) => pc.signalingState !== 'closed').length }
  },
  liveLocalTracks: () => localStreams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length,
  remoteTrackLog: () => remoteTracks.map((t) => ({ kind: t.track.kind, stream: t.stream.id, state: t.track.readyState })),
  raw: rawChannel()
}

;(window as unknown as SdkPageWindow).sdkPage = sdkPage
