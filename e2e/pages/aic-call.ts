// bench/aic/call's page: one AuraLink client per page, driven from Node through
// page.evaluate(() => window.aicCallPage.xxx(...)). The sender's camera is Chromium's fake
// capture of a y4m file whose frames carry a number (./frame-stamp.ts); the sender reads the
// number of each frame of its own local track, the receiver the number of each frame of the
// track the call's `track` event handed it (the enhanced one when AIC runs), both with the
// time (Date.now(), one clock for both pages of one browser). In a measured window the
// receiver also keeps each frame's luma at the source size: drawn onto a canvas of that size
// (bilinear, as a <video> element scales), then BT.601 luma by @auralink/aic's lumaOf.
//
// AIC options (`aic` in AuraLink.create, call() and accept(), `stats().aic`, the `aic` event)
// are passed and read whether or not the SDK of this build knows them yet: an SDK without AIC
// ignores them, and the figures then say that `aic` was absent.
import { lumaOf } from '@auralink/aic'
import { AuraLink } from '@auralink/sdk'
import { readStamp } from './frame-stamp.js'
import type { StampLayout } from './frame-stamp.js'
import type { Call, CallStats } from '@auralink/sdk'

export type AicMode = 'off' | 'conservative' | 'adaptive' | 'aggressive'
export interface PageError { name: string, message: string }
/** One frame seen: its stamp (-1 unreadable), when, its size before scaling, whether its luma was kept. */
export interface FrameRecord { n: number, t: number, w: number, h: number, kept: boolean }
/** The figures of the call's video RTP streams (getStats), summed over streams of a kind. */
export interface RtpSnapshot {
  at: number
  outbound?: Record<string, number | string>
  inbound?: Record<string, number | string>
  pair?: Record<string, number | string>
}

export interface AicCallPage {
  /** AuraLink.create({ relays: [relay], iceServers: [], aic: { mode } }), register(name); the PeerId. */
  start(relay: string, name: string, aicMode: AicMode, table?: unknown, threads?: number): Promise<string>
  /** The stamp layout of the clip (the sender's camera). */
  configure(layout: StampLayout): void
  /** Incoming calls are accepted with no media of our own (receive only) and this AIC mode. */
  answer(aic: AicMode): void
  /** Sender: getUserMedia({ video }) once (at `fps` frames a second when given), then call(name, { video, aic, stream }); null or the error. */
  call(name: string, aic: AicMode, fps?: number): Promise<PageError | null>
  /** Resolves when the current call is connected and (receiver) frames arrive on its video track. */
  waitReady(timeoutMs: number, needFrames: boolean): Promise<PageError | null>
  /** Starts (true) or stops recording frames: every frame's stamp and time, and every `every`-th frame's luma (receiver). */
  record(on: boolean, every?: number): void
  /** Frames recorded so far (this page's role: local frames on the sender, remote ones on the receiver). */
  records(): FrameRecord[]
  /** Kept luma planes from `from`, at most `count`, base64 (layout.width x layout.height bytes each). */
  takeLuma(from: number, count: number): Promise<string[]>
  /** Keeps the luma of the next `count` local frames (sender), to check the capture path against the source. */
  probeLocal(count: number, timeoutMs: number): Promise<string[] | PageError>
  clear(): void
  rtp(): Promise<RtpSnapshot>
  stats(): Promise<(CallStats & { aic?: unknown, ended?: { reason?: string, message?: string } }) | PageError>
  /**
   * Receiver: also watch the video the call's connection decodes, before AIC's pipeline (the
   * receiver of the page's RTCPeerConnection; trackPeerConnections(page) first): while recording,
   * each frame's stamp and its luma at its own (reduced) size are kept, by stamp. False when
   * there is no such track yet.
   */
  tapDecoded(): boolean
  /** The decoded frames' luma kept by tapDecoded() for these stamps (those it has), base64. */
  takeDecoded(stamps: number[]): Array<{ n: number, width: number, height: number, luma: string }>
  /** Every `aic` event of the current call (its detail), in order. */
  aicEvents(): unknown[]
  /** Video tracks the current call's `track` event delivered (the last is the one watched). */
  tracks(): number
  hangup(): Promise<void>
  waitEnded(timeoutMs: number): Promise<PageError | null>
  stop(): Promise<void>
}

export interface AicCallPageWindow { aicCallPage: AicCallPage }

// MediaStreamTrackProcessor is not in TypeScript's DOM library yet
interface TrackProcessor { readable: ReadableStream<VideoFrame> }
type TrackProcessorCtor = new (init: { track: MediaStreamTrack, maxBufferSize?: number }) => TrackProcessor

let client: AuraLink | undefined
let call: Call | undefined
let layout: StampLayout | undefined
let answerMode: AicMode = 'off'
let localStream: MediaStream | undefined
let recording = false
let every = 1
let seen = 0
const recs: FrameRecord[] = []
const lumas: Uint8Array[] = []
const events: unknown[] = []
let trackCount = 0
let watching: { stop: () => void } | undefined
let localWatch: { stop: () => void } | undefined
let probe: { left: number, out: string[], done: () => void } | undefined
let decodedWatch: { stop: () => void } | undefined
const decodedLumas = new Map<number, { width: number, height: number, luma: Uint8Array }>()
/** At most this many decoded frames kept (oldest dropped first). */
const MAX_DECODED = 600

function errorOf (err: unknown): PageError {
  const e = err as Error
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) }
}

function current (): Call {
  if (call === undefined) throw new Error('no call yet')
  return call
}

function base64 (bytes: Uint8Array): string {
  const withB64 = bytes as Uint8Array & { toBase64?: () => string }
  if (typeof withB64.toBase64 === 'function') return withB64.toBase64()
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** Canvases at the source size (whole frames) and at the plate's size (stamps only). */
function canvases (l: StampLayout): { full: OffscreenCanvasRenderingContext2D, plate: OffscreenCanvasRenderingContext2D } {
  const ctx = (w: number, h: number): OffscreenCanvasRenderingContext2D => {
    const c = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true, alpha: false })
    if (c === null) throw new Error('no 2d context on an OffscreenCanvas')
    c.imageSmoothingEnabled = true
    c.imageSmoothingQuality = 'low' // bilinear
    return c
  }
  return { full: ctx(l.width, l.height), plate: ctx(l.maskWidth, l.maskHeight) }
}

/**
 * Reads every frame of `track` with a MediaStreamTrackProcessor and hands it to `onFrame` (which
 * must not keep it). stop() stops handing frames on; frames still queued are read and closed
 * (a frame left to the garbage collector stalls the decoder's pool) until the track ends, or for
 * a second on a track that stays live, and then the stream is cancelled.
 */
function watch (track: MediaStreamTrack, onFrame: (frame: VideoFrame, t: number) => void): { stop: () => void } {
  const Processor = (globalThis as unknown as { MediaStreamTrackProcessor?: TrackProcessorCtor }).MediaStreamTrackProcessor
  if (Processor === undefined) throw new Error('MediaStreamTrackProcessor is not available in this browser')
  const reader = new Processor({ track, maxBufferSize: 8 }).readable.getReader()
  let stoppedAt: number | undefined
  void (async () => {
    for (;;) {
      const { value: frame, done } = await reader.read()
      if (done || frame === undefined) break
      if (stoppedAt !== undefined) {
        frame.close()
        if (Date.now() - stoppedAt > 1000) { await reader.cancel(); break }
        continue
      }
      try {
        onFrame(frame, Date.now())
      } finally {
        frame.close()
      }
    }
  })().catch(() => {})
  return { stop: () => { stoppedAt ??= Date.now() } }
}

/** The plate of `frame` (scaled to source pixels), read. */
function stampOf (frame: VideoFrame, plate: OffscreenCanvasRenderingContext2D, l: StampLayout): number {
  const sx = frame.displayWidth / l.width
  const sy = frame.displayHeight / l.height
  plate.drawImage(frame, 0, 0, l.maskWidth * sx, l.maskHeight * sy, 0, 0, l.maskWidth, l.maskHeight)
  const img = plate.getImageData(0, 0, l.maskWidth, l.maskHeight)
  return readStamp(lumaOf({ width: l.maskWidth, height: l.maskHeight, data: img.data, channels: 4 }).data, l.maskWidth, l)
}

function fullLuma (frame: VideoFrame, full: OffscreenCanvasRenderingContext2D, l: StampLayout): Uint8Array {
  full.drawImage(frame, 0, 0, l.width, l.height)
  const img = full.getImageData(0, 0, l.width, l.height)
  return lumaOf({ width: l.width, height: l.height, data: img.data, channels: 4 }).data as Uint8Array
}

/** Receiver: watch the newest remote video track. */
function watchRemote (track: MediaStreamTrack): void {
  const l = layout
  if (l === undefined) throw new Error('configure(layout) first')
  watching?.stop()
  trackCount++
  const { full, plate } = canvases(l)
  watching = watch(track, (frame, t) => {
    seen++
    if (!recording) return
    const keep = recs.length % every === 0
    let n: number
    if (keep) {
      const luma = fullLuma(frame, full, l)
      n = readStamp(luma, l.width, l)
      if (n >= 0) lumas.push(luma)
    } else {
      n = stampOf(frame, plate, l)
    }
    recs.push({ n, t, w: frame.displayWidth, h: frame.displayHeight, kept: keep && n >= 0 })
  })
}

/** Sender: watch a clone of the local camera track. */
function watchLocal (track: MediaStreamTrack): void {
  const l = layout
  if (l === undefined) throw new Error('configure(layout) first')
  localWatch?.stop()
  const { full, plate } = canvases(l)
  localWatch = watch(track, (frame, t) => {
    seen++
    if (probe !== undefined && probe.left > 0) {
      probe.out.push(base64(fullLuma(frame, full, l)))
      if (--probe.left === 0) probe.done()
    }
    if (!recording) return
    recs.push({ n: stampOf(frame, plate, l), t, w: frame.displayWidth, h: frame.displayHeight, kept: false })
  })
}

function follow (c: Call): void {
  call = c
  events.length = 0
  trackCount = 0
  c.addEventListener('track', (e) => {
    if (e.detail.track.kind === 'video') watchRemote(e.detail.track)
  })
  // the `aic` event of SDKs with AIC; an SDK without it never fires it
  ;(c as unknown as EventTarget).addEventListener('aic', (e) => { events.push({ at: Date.now(), detail: (e as CustomEvent).detail }) })
}

function pick (s: Record<string, unknown>, keys: string[]): Record<string, number | string> {
  const out: Record<string, number | string> = {}
  for (const k of keys) if (typeof s[k] === 'number' || typeof s[k] === 'string') out[k] = s[k]
  return out
}

const OUTBOUND = ['bytesSent', 'headerBytesSent', 'retransmittedBytesSent', 'packetsSent', 'framesEncoded', 'framesSent', 'keyFramesEncoded', 'frameWidth', 'frameHeight', 'framesPerSecond', 'targetBitrate', 'qualityLimitationReason', 'totalEncodeTime', 'qpSum', 'nackCount', 'pliCount', 'encoderImplementation', 'scalabilityMode']
const INBOUND = ['bytesReceived', 'headerBytesReceived', 'packetsReceived', 'packetsLost', 'framesReceived', 'framesDecoded', 'framesDropped', 'keyFramesDecoded', 'frameWidth', 'frameHeight', 'framesPerSecond', 'freezeCount', 'totalFreezesDuration', 'pauseCount', 'totalPausesDuration', 'jitterBufferDelay', 'jitterBufferEmittedCount', 'totalDecodeTime', 'qpSum', 'decoderImplementation']
const PAIR = ['availableOutgoingBitrate', 'currentRoundTripTime', 'bytesSent', 'bytesReceived']

const page: AicCallPage = {
  async start (relay, name, aicMode, table, threads) {
    // `aic` is AIC's option; an SDK without AIC ignores it (a variable, not a literal: no excess-property check)
    const init = { relays: [relay], iceServers: [], keyStore: null, aic: { mode: aicMode, ...(table !== undefined ? { table } : {}), ...(threads !== undefined ? { threads } : {}) } }
    client = await AuraLink.create(init)
    await client.register(name)
    client.addEventListener('incoming', (e) => {
      const c = e.detail.call
      follow(c)
      const media = { audio: false, video: false, aic: answerMode }
      void c.accept(media).catch((err: unknown) => { events.push({ at: Date.now(), acceptError: errorOf(err) }) })
    })
    return client.peerId.toString()
  },
  configure (l) { layout = l },
  answer (aic) { answerMode = aic },
  async call (name, aic, fps) {
    try {
      if (localStream === undefined) {
        localStream = await navigator.mediaDevices.getUserMedia({ video: fps !== undefined ? { frameRate: { exact: fps } } : true, audio: false })
        watchLocal(localStream.getVideoTracks()[0]!.clone())
      }
      const media = { audio: false, video: true, data: true, stream: localStream, aic }
      follow(await client!.call(name, media))
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  async waitReady (timeoutMs, needFrames) {
    const t0 = Date.now()
    try {
      // the receiver's call arrives some time after the sender's call() returned
      while (call === undefined || call.state === 'ended') {
        if (Date.now() - t0 > timeoutMs) throw new Error(`no call within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const c = current()
      await c.whenConnected({ signal: AbortSignal.timeout(Math.max(1, timeoutMs - (Date.now() - t0))) })
      const seen0 = seen
      while (needFrames && seen < seen0 + 5) {
        if (c.state === 'ended') throw new Error(`the call ended (${c.ended?.reason ?? '?'})`)
        if (Date.now() - t0 > timeoutMs) throw new Error(`no remote video frames within ${timeoutMs} ms (${trackCount} video tracks)`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  record (on, n = 1) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`record(on, every): every must be a whole number >= 1, got ${n}`)
    every = n
    recording = on
  },
  records: () => recs.slice(),
  async takeLuma (from, count) { return lumas.slice(from, from + count).map(base64) },
  async probeLocal (count, timeoutMs) {
    if (localWatch === undefined) return errorOf(new Error('no local track yet: call() first'))
    const out: string[] = []
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { probe = undefined; reject(new Error(`${count} local frames not seen within ${timeoutMs} ms`)) }, timeoutMs)
        probe = { left: count, out, done: () => { clearTimeout(timer); probe = undefined; resolve() } }
      })
      return out
    } catch (err) {
      return errorOf(err)
    }
  },
  clear () { recs.length = 0; lumas.length = 0; decodedLumas.clear() },
  async rtp () {
    const made = (globalThis as unknown as { __auralinkPeerConnections?: Set<RTCPeerConnection> }).__auralinkPeerConnections
    if (made === undefined) throw new Error('trackPeerConnections(page) was not called before the page loaded')
    const snap: RtpSnapshot = { at: Date.now() }
    for (const pc of made) {
      if (pc.connectionState === 'closed') continue
      const report = await pc.getStats()
      const byId = new Map<string, Record<string, unknown>>()
      report.forEach((s: Record<string, unknown>) => { byId.set(s.id as string, s) })
      for (const s of byId.values()) {
        if (s.kind !== 'video') continue
        if (s.type === 'outbound-rtp') snap.outbound = pick(s, OUTBOUND)
        if (s.type === 'inbound-rtp') snap.inbound = pick(s, INBOUND)
        if ((s.type === 'outbound-rtp' || s.type === 'inbound-rtp') && snap.pair === undefined) {
          const transport = byId.get(s.transportId as string)
          const pair = transport !== undefined ? byId.get(transport.selectedCandidatePairId as string) : undefined
          if (pair !== undefined) snap.pair = pick(pair, PAIR)
        }
      }
    }
    return snap
  },
  async stats () {
    try {
      const c = current()
      const st = await c.stats()
      // an ended call still has stats: say that it ended, and why
      return c.ended !== undefined ? { ...st, ended: { reason: c.ended.reason, message: c.ended.message } } : st
    } catch (err) {
      return errorOf(err)
    }
  },
  tapDecoded () {
    const l = layout
    if (l === undefined) throw new Error('configure(layout) first')
    const made = (globalThis as unknown as { __auralinkPeerConnections?: Set<RTCPeerConnection> }).__auralinkPeerConnections
    if (made === undefined) throw new Error('trackPeerConnections(page) was not called before the page loaded')
    let track: MediaStreamTrack | undefined
    for (const pc of made) {
      if (pc.connectionState === 'closed') continue
      for (const r of pc.getReceivers()) if (r.track.kind === 'video' && r.track.readyState === 'live') track = r.track
    }
    if (track === undefined) return false
    decodedWatch?.stop()
    const { plate } = canvases(l)
    let own: OffscreenCanvasRenderingContext2D | undefined
    decodedWatch = watch(track, (frame) => {
      if (!recording) return
      const n = stampOf(frame, plate, l)
      if (n < 0 || decodedLumas.has(n)) return
      const w = frame.displayWidth
      const h = frame.displayHeight
      if (own?.canvas.width !== w || own.canvas.height !== h) own = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true, alpha: false }) ?? undefined
      if (own === undefined) return
      own.drawImage(frame, 0, 0)
      decodedLumas.set(n, { width: w, height: h, luma: lumaOf({ width: w, height: h, data: own.getImageData(0, 0, w, h).data, channels: 4 }).data as Uint8Array })
      if (decodedLumas.size > MAX_DECODED) decodedLumas.delete(decodedLumas.keys().next().value as number)
    })
    return true
  },
  takeDecoded (stamps) {
    return stamps.flatMap((n) => {
      const d = decodedLumas.get(n)
      return d === undefined ? [] : [{ n, width: d.width, height: d.height, luma: base64(d.luma) }]
    })
  },
  aicEvents: () => events.slice(),
  tracks: () => trackCount,
  async hangup () {
    const c = current()
    await c.hangup()
    if (call === c) call = undefined
  },
  async waitEnded (timeoutMs) {
    try {
      const c = current()
      await Promise.race([c.whenEnded(), new Promise((_resolve, reject) => setTimeout(() => { reject(new Error(`the call did not end within ${timeoutMs} ms`)) }, timeoutMs))])
      watching?.stop()
      watching = undefined
      if (call === c) call = undefined
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  async stop () {
    watching?.stop()
    localWatch?.stop()
    for (const t of localStream?.getTracks() ?? []) t.stop()
    await client?.stop()
  }
}

;(window as unknown as AicCallPageWindow).aicCallPage = page
