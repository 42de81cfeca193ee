/**
 * The relay's media endpoint for recording (issue 17, first part): one WebRTC peer connection in
 * Node that answers a participant's offer and writes every track it receives (VP8 or VP9 video,
 * Opus audio) into one WebM file as it comes, in clusters, through werift's recorder (werift: a
 * WebRTC stack in TypeScript, no native build; docs/dependencies.md says why it was chosen).
 *
 * Loaded only by relays that record (the module imports werift; the relay's own entry does not):
 * nothing here is reachable from the network yet; the call protocol, consent and limits come next
 * (relay-node/README.md "Recording").
 */
import { stat } from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import { Event, RTCPeerConnection } from 'werift'
import { MediaRecorder } from 'werift/nonstandard'
import type { Readable } from 'node:stream'
import type { MediaStreamTrack } from 'werift'
import type { StreamEvent } from 'werift/nonstandard'

/** Options of one recording. */
export interface RecordingInit {
  /** The WebM file written (created or replaced); none for a stream, which reads liveWebm() instead. */
  file?: string
  /** The tracks the offer sends (audio and video: 2); the file starts once all have arrived. */
  tracks: number
  /** How long the tracks may take to arrive once the answer is made. @default 15000 */
  timeoutMs?: number
  /** The size the video track is declared at in the file (players take the frames' own). @default 640 x 360 */
  width?: number
  height?: number
}

/** What a stopped recording wrote. */
export interface RecordingSummary {
  file: string | undefined
  bytes: number
  /** From the recorder's start to stop(). */
  ms: number
  /**
   * When the file starts, by the relay's clock (Date.now() when every track had arrived and
   * writing began): what lines this participant's file up with the others' (mergeRecordings()).
   */
  startedAtMs: number
  tracks: Array<{ kind: string, codec: string }>
  /** RTP packets received on the recorded tracks: 0 means the file holds no media (the participant never connected). */
  packets: number
}

type Description = { type: 'offer', sdp: string }

/** One participant's media into one WebM file. */
export class MediaRecording {
  private recorder: MediaRecorder | undefined
  /** The live WebM being read (a stream's encoder input), and its end. */
  private live: { recorder: MediaRecorder, out: PassThrough } | undefined
  private startedAt = 0
  private startedAtMs_ = 0
  private stopped: Promise<RecordingSummary> | undefined
  private readonly ready: Promise<void>

  private constructor (private readonly pc: RTCPeerConnection, readonly answer: { type: 'answer', sdp: string }, private readonly init: RecordingInit, tracks: Promise<MediaStreamTrack[]>, private readonly arrived: readonly MediaStreamTrack[], private readonly received: { packets: number }, private readonly cancel: () => void) {
    this.ready = tracks.then(async (t) => { await this.begin(t) })
    this.ready.catch(() => {})
  }

  /**
   * Answers `offer` (the relay's host candidates in the answer: ICE-lite, no trickle), and starts
   * writing `init.file` once `init.tracks` tracks have arrived.
   */
  static async answer (offer: Description, init: RecordingInit): Promise<MediaRecording> {
    if (offer?.type !== 'offer' || typeof offer.sdp !== 'string' || offer.sdp.length === 0) throw new TypeError('offer must be an SDP offer { type: \'offer\', sdp }')
    if (!Number.isInteger(init.tracks) || init.tracks < 1 || init.tracks > 8) throw new RangeError(`tracks must be a whole number from 1 to 8, got ${String(init.tracks)}`)
    // ICE-lite, as media servers run: the relay answers on its own addresses and gathers nothing
    // else. Not only faster (full ICE waited 5 s for a server-reflexive candidate): werift 0.25's
    // full ICE asks a public STUN server (stun.l.google.com) whenever none is configured, even with
    // iceServers: [], and a relay run by strangers must not talk to third parties unasked
    const pc = new RTCPeerConnection({ iceServers: [], iceLite: true })
    const timeoutMs = init.timeoutMs ?? 15_000
    const got: MediaStreamTrack[] = []
    const received = { packets: 0 }
    let cancel = (): void => {}
    // werift gives the tracks when it reads the offer; the file starts with the first packet, so
    // that an upload that never connects writes nothing (and its start time is its media's)
    const tracks = new Promise<MediaStreamTrack[]>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${got.length} of ${init.tracks} tracks arrived, ${received.packets > 0 ? 'with' : 'no'} media, within ${timeoutMs} ms`)) }, timeoutMs)
      cancel = () => { clearTimeout(timer); reject(new Error('stopped before any media arrived')) }
      const ready = (): void => {
        if (got.length === init.tracks && received.packets > 0) { clearTimeout(timer); resolve(got) }
      }
      pc.onTrack.subscribe((track) => {
        got.push(track)
        track.onReceiveRtp.subscribe(() => {
          if (received.packets++ === 0) ready()
        })
        ready()
      })
    })
    tracks.catch(() => {})
    try {
      await pc.setRemoteDescription(offer)
      await pc.setLocalDescription(await pc.createAnswer())
      await gathered(pc, timeoutMs)
    } catch (err) {
      await pc.close()
      throw err
    }
    const local = pc.localDescription
    if (local == null) { await pc.close(); throw new Error('no local description after the answer') }
    return new MediaRecording(pc, { type: 'answer', sdp: local.sdp }, init, tracks, got, received, cancel)
  }

  /** When the file starts by the relay's clock (Date.now() as the first media was written); 0 before. */
  get startedAtMs (): number {
    return this.startedAtMs_
  }

  /** The tracks that arrived: kind and codec. */
  get tracks (): Array<{ kind: string, codec: string }> {
    return this.arrived.map((t) => ({ kind: t.kind, codec: t.codec?.mimeType ?? '' }))
  }

  /** Resolves once the file is being written (every track arrived, media flowing, a key frame asked for). */
  async whenRecording (): Promise<void> {
    await this.ready
  }

  private async begin (tracks: MediaStreamTrack[]): Promise<void> {
    if (this.stopped !== undefined) return
    if (this.init.file !== undefined) {
      this.recorder = new MediaRecorder({
        path: this.init.file,
        numOfTracks: tracks.length,
        width: this.init.width ?? 640,
        height: this.init.height ?? 360,
        // the browser's RTCP sender reports are not waited for: timestamps start from the first packets
        disableNtp: true
      })
      for (const t of tracks) await this.recorder.addTrack(t)
    }
    this.startedAt = performance.now()
    this.startedAtMs_ = Date.now()
    // the browser's first key frame went by before the recorder was there: ask for another
    await this.requestKeyFrame()
  }

  /** Asks the sender for a key frame on every video track (RTCP PLI). */
  async requestKeyFrame (): Promise<void> {
    for (const t of this.arrived) {
      if (t.kind !== 'video' || t.ssrc === undefined) continue
      const receiver = this.pc.getTransceivers().find((tr) => tr.receiver.tracks.includes(t))?.receiver
      await receiver?.sendRtcpPLI(t.ssrc)
    }
  }

  /**
   * This participant's tracks as a live WebM byte stream from now on (for a stream's encoder): a
   * fresh header, then each frame as it comes; a key frame is asked for. A second call ends the
   * first one's stream (the encoder was restarted). Rejects before whenRecording() has resolved.
   */
  async liveWebm (): Promise<Readable> {
    if (this.startedAtMs_ === 0 || this.stopped !== undefined) throw new Error('liveWebm(): the participant\'s media is not arriving')
    await this.endLive()
    const out = new PassThrough({ highWaterMark: 1 << 20 })
    const stream: StreamEvent = new Event()
    stream.subscribe((o) => {
      // a reader that stopped reading loses frames, never the relay's memory
      if (o.saveToFile !== undefined && out.writableLength < 8 << 20) out.write(o.saveToFile)
    })
    const recorder = new MediaRecorder({ stream, numOfTracks: this.arrived.length, width: this.init.width ?? 640, height: this.init.height ?? 360, disableNtp: true })
    this.live = { recorder, out }
    for (const t of this.arrived) await recorder.addTrack(t)
    await this.requestKeyFrame()
    return out
  }

  private async endLive (): Promise<void> {
    const live = this.live
    this.live = undefined
    if (live === undefined) return
    await live.recorder.stop().catch(() => {})
    live.out.end()
  }

  /** Stops writing, closes the connection; what was written. Idempotent. */
  async stop (): Promise<RecordingSummary> {
    this.stopped ??= (async () => {
      // tracks still awaited are not waited for: the recording never began
      this.cancel()
      const tracks = this.tracks
      await this.ready.catch(() => {})
      await this.recorder?.stop()
      await this.endLive()
      const ms = this.startedAt > 0 ? performance.now() - this.startedAt : 0
      await this.pc.close()
      const bytes = this.init.file === undefined ? 0 : await stat(this.init.file).then((s) => s.size, () => 0)
      return { file: this.init.file, bytes, ms, startedAtMs: this.startedAtMs_, tracks, packets: this.received.packets }
    })()
    return this.stopped
  }
}

/** Resolves once `pc`'s ICE gathering is complete (the answer then holds every candidate); rejects after `timeoutMs`. */
export async function gathered (pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { sub.unSubscribe(); reject(new Error(`ICE gathering did not complete within ${timeoutMs} ms`)) }, timeoutMs)
    const sub = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') { clearTimeout(timer); sub.unSubscribe(); resolve() }
    })
  })
}
