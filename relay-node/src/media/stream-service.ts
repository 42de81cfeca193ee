/**
 * Streams out (issue 17; docs/recording.md "RTMP out"): the uploads of a call whose consents are
 * for a stream, on the same protocol as recordings (`/auralink/record/1.0.0`; RecordService takes
 * the request and hands it here once it has checked it). Each participant uploads its own media;
 * the relay composes one picture (a tile per participant, in the consents' order: side by side)
 * with the audio mixed, and pushes it to the one RTMP URL the consents bind (rtmp-out.ts).
 *
 * The stream starts once every participant's media arrives, or `joinWaitMs` after the first's; a
 * participant arriving later (or coming back after a drop) restarts the encoder with everyone, the
 * push going on. A participant not there is a black tile and silence. Every upload is told each
 * change of the stream's state (RecordResponse.stream_state); the stream ends when its last upload
 * does, and a stream that fails (the RTMP server never took it, or stayed away) ends every upload
 * with the reason.
 */
import { encodeRecordResponse } from '@auralink/protocol'
import { MediaRecording } from './recorder.js'
import { RtmpOut } from './rtmp-out.js'
import { UploadSession } from './upload-session.js'
import type { RecordDecision } from './record-request.js'
import type { RtmpInput, RtmpState } from './rtmp-out.js'
import type { UploadStopReason } from './upload-session.js'
import type { AgreedRecording } from '@auralink/identity'
import type { RecordResult } from '@auralink/protocol'
import type { Stream } from '@libp2p/interface'
import type { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'

export interface StreamServiceInit {
  log: Logger
  /** Streams at once on this relay. */
  maxStreams: number
  /** @default 'ffmpeg' */
  ffmpeg?: string
  /** How long a stream waits for every participant's media before it starts with those there. @default 3000 */
  joinWaitMs?: number
  /** Called on each stream's state change (metrics). */
  onState?: (state: RtmpState) => void
  /** Called for each reconnect to an RTMP server (metrics). */
  onReconnect?: () => void
  /** Called once per upload that ended, with why (metrics). */
  onUploadStopped?: (reason: UploadStopReason) => void
}

/** A refusal, as the relay sends it (RecordService's `refuse`). */
type Refuse = (result: Exclude<RecordResult, 'ok'>, message: string) => Promise<void>

interface StreamUpload {
  peer: string
  recording: MediaRecording
  session: UploadSession
  /** Its media arrives: it is in the picture. */
  joined: boolean
}

/** One call's stream out. */
interface CallStream {
  agreed: AgreedRecording
  url: string
  uploads: Set<StreamUpload>
  out: RtmpOut | undefined
  /** Waiting for the others before the first start. */
  wait?: ReturnType<typeof setTimeout>
  /** A (re)start is being made: joins meanwhile make another. */
  starting?: Promise<void>
  again?: boolean
  /** The stream failed or was stopped: no more uploads. */
  ended: boolean
  /** Why it failed, for the uploads' last message. */
  failure?: string
}

const STREAM_STATE: Partial<Record<RtmpState, 'connecting' | 'live' | 'reconnecting'>> = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting' }

export class StreamService {
  private readonly streams = new Map<string, CallStream>()
  /** Recording ids of streams that ended, until their consents lapse: never streamed again. */
  private readonly ended = new Map<string, number>()
  private uploadsNow = 0
  private stopping = false

  constructor (private readonly init: StreamServiceInit) {}

  /** Uploads streamed now. */
  get active (): number {
    return this.uploadsNow
  }

  /** Streams out now. */
  get streamsNow (): number {
    return this.streams.size
  }

  /** Uploads from `peer` now (the per-peer limit counts them with recordings). */
  countFrom (peer: string): number {
    let n = 0
    for (const s of this.streams.values()) for (const u of s.uploads) if (u.peer === peer) n++
    return n
  }

  /**
   * A checked request for a stream: answered and streamed until it ends, or refused (`refuse`).
   * `release` frees the request's place among the pending ones once it is an upload or refused.
   */
  async serve (stream: Stream, lp: ReturnType<typeof lpStream<Stream>>, who: string, decision: Extract<RecordDecision, { ok: true }>, release: () => void, refuse: Refuse): Promise<void> {
    const log = this.init.log
    const agreed = decision.agreed
    const id = agreed.recordingId
    for (const [k, until] of this.ended) if (until < Date.now()) this.ended.delete(k)
    if (this.stopping) { release(); await refuse('failed', 'the relay is stopping'); return }
    if (this.ended.has(id)) { release(); await refuse('no-consent', `stream ${id} has ended`); return }
    let call = this.streams.get(id)
    if (call === undefined) {
      if (this.streams.size >= this.init.maxStreams) { release(); await refuse('limit', `this relay streams ${this.init.maxStreams} call(s) out at once, all taken`); return }
      call = { agreed, url: decision.streamUrl, uploads: new Set(), out: undefined, ended: false }
      this.streams.set(id, call)
    } else if (call.ended) {
      release(); await refuse('no-consent', `stream ${id} has ended`); return
    } else if (call.agreed.callId !== agreed.callId || call.agreed.participants.map(String).join() !== agreed.participants.map(String).join()) {
      release(); await refuse('no-consent', `stream ${id} is under way for another call or other participants`); return
    }
    let recording: MediaRecording
    try {
      recording = await MediaRecording.answer(decision.offer, { tracks: decision.tracks })
    } catch (err) {
      release()
      log.warn({ peer: who, recordingId: id, reason: (err as Error).message }, 'stream upload could not start')
      await refuse('failed', `the relay could not answer the offer: ${(err as Error).message}`)
      if (call.uploads.size === 0 && call.out === undefined) this.streams.delete(id)
      return
    }
    const session = new UploadSession(stream, lp, decision.endsAt)
    const upload: StreamUpload = { peer: who, recording, session, joined: false }
    call.uploads.add(upload)
    this.uploadsNow++
    release()
    recording.whenRecording().then(async () => {
      if (session.reason !== undefined) return
      await session.say(encodeRecordResponse({ result: 'ok', message: 'streaming', startedAt: recording.startedAtMs }))
      const state = STREAM_STATE[call.out?.current ?? 'connecting']
      if (state !== undefined) await session.say(encodeRecordResponse({ result: 'ok', streamState: state }))
      upload.joined = true
      this.joined(call)
    }, (err: unknown) => {
      if (session.reason !== undefined) return
      log.warn({ peer: who, recordingId: id, reason: (err as Error).message }, 'stream upload failed')
      session.end('failed')
    }).catch(() => {})
    if (await session.answer(encodeRecordResponse({ result: 'ok', answerSdp: recording.answer.sdp, endsAt: decision.endsAt }))) {
      log.info({ peer: who, recordingId: id, callId: agreed.callId }, 'stream upload started')
    }
    await session.ended
    session.detach()
    call.uploads.delete(upload)
    this.uploadsNow--
    await recording.stop().catch(() => {})
    const reason = session.reason ?? 'failed'
    this.init.onUploadStopped?.(reason)
    log.info({ peer: who, recordingId: id, reason }, 'stream upload ended')
    await session.close()
    if (call.uploads.size === 0) await this.end(call, agreed.expiresAt)
  }

  /** Ends every stream (each upload told the relay is stopping). */
  async stop (): Promise<void> {
    this.stopping = true
    for (const call of this.streams.values()) for (const u of call.uploads) u.session.end('relay_stopping')
    await Promise.all([...this.streams.values()].map(async (c) => { await this.end(c, 0) }))
  }

  /** An upload's media arrives: the stream starts (everyone is there, or after joinWaitMs), or restarts with it. */
  private joined (call: CallStream): void {
    if (call.ended) return
    const there = [...call.uploads].filter((u) => u.joined).map((u) => u.peer)
    const everyone = call.agreed.participants.every((p) => there.includes(p.toString()))
    if (call.out === undefined && !everyone) {
      call.wait ??= setTimeout(() => { this.startOrRestart(call) }, this.init.joinWaitMs ?? 3_000)
      return
    }
    clearTimeout(call.wait)
    this.startOrRestart(call)
  }

  private startOrRestart (call: CallStream): void {
    if (call.ended) return
    if (call.starting !== undefined) { call.again = true; return }
    call.starting = (async () => {
      // one tile per participant, in the consents' order; one not there is black and silent
      const inputs: RtmpInput[] = []
      for (const p of call.agreed.participants) {
        const u = [...call.uploads].find((x) => x.joined && x.peer === p.toString() && x.session.reason === undefined)
        if (u === undefined) { inputs.push({ video: false, audio: false }); continue }
        try {
          const kinds = u.recording.tracks.map((t) => t.kind)
          const recording = u.recording
          inputs.push({ webm: await recording.liveWebm(), video: kinds.includes('video'), audio: kinds.includes('audio'), keyFrame: async () => { await recording.requestKeyFrame() } })
        } catch {
          inputs.push({ video: false, audio: false })
        }
      }
      if (call.ended) return
      if (call.out === undefined) {
        call.out = new RtmpOut({
          url: call.url,
          log: this.init.log.child({ recordingId: call.agreed.recordingId }),
          ...(this.init.ffmpeg !== undefined ? { ffmpeg: this.init.ffmpeg } : {}),
          onState: (state, why) => { this.stateChanged(call, state, why) },
          onReconnect: () => { this.init.onReconnect?.() }
        })
        this.init.onState?.('connecting')
        call.out.start(inputs)
        this.init.log.info({ recordingId: call.agreed.recordingId, participants: inputs.filter((i) => i.webm !== undefined).length }, 'stream started')
      } else {
        call.out.restart(inputs)
        this.init.log.info({ recordingId: call.agreed.recordingId, participants: inputs.filter((i) => i.webm !== undefined).length }, 'stream encoder restarted: a participant joined')
      }
    })().finally(() => {
      call.starting = undefined
      if (call.again === true) { call.again = false; this.startOrRestart(call) }
    })
  }

  private stateChanged (call: CallStream, state: RtmpState, why?: string): void {
    this.init.onState?.(state)
    const s = STREAM_STATE[state]
    if (s !== undefined) {
      for (const u of call.uploads) if (u.joined) void u.session.say(encodeRecordResponse({ result: 'ok', streamState: s }))
      return
    }
    // ended: stopped by us (nothing to say), or failed: every upload ends with why
    if (!call.ended) {
      call.failure = why
      for (const u of call.uploads) u.session.end('failed', `the stream failed: ${why ?? 'unknown'}`)
    }
  }

  private async end (call: CallStream, until: number): Promise<void> {
    if (!call.ended) {
      call.ended = true
      clearTimeout(call.wait)
      this.ended.set(call.agreed.recordingId, until)
      this.streams.delete(call.agreed.recordingId)
    }
    await call.starting
    await call.out?.stop()
  }
}
