/**
 * The relay's recording service (issue 17; docs/recording.md): `/auralink/record/1.0.0`, served
 * only by a relay started with `--recording`. Each participant of a call opens one stream, sends
 * one RecordRequest (every participant's signed consent and its own WebRTC offer) and, when the
 * relay takes it, gets a RecordResponse with the relay's answer; its audio and video then go into
 * a WebM file of its own (`<recordingsDir>/<recordingId>/<peer>-<n>.webm`) for as long as the
 * stream stays open. When every participant's upload has ended, ffmpeg merges the parts into
 * `<recordingsDir>/<recordingId>.webm`, each shifted by when it started (mergeRecordings()), and
 * `<recordingId>.json` beside it (the sidecar) says who, when, with which consents, how big.
 *
 * The relay ends an upload itself when the consents lapse or `maxRecordingDurationMs` passes,
 * past `maxRecordingBytes`, when the disk falls under `recordingsMinFreeBytes`, or when it stops;
 * it then sends a second RecordResponse saying why (`ok` for the agreed end, `limit` for a cap,
 * `failed` for a fault) and closes the stream. Anything else the participant sends after its
 * request is a protocol violation: the upload ends and the stream is reset.
 *
 * This module imports werift (through recorder.ts): node.ts loads it only when `recording` is on.
 */
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeRecordResponse, MAX_RECORD_REQUEST_BYTES, RECORD_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { joinParts, mergeRecordings } from './merge.js'
import { MediaRecording } from './recorder.js'
import { checkRecordRequest } from './record-request.js'
import { END_WORDS, UploadSession } from './upload-session.js'
import type { RecordDecision, RecordLimits } from './record-request.js'
import type { RecordingPart } from './merge.js'
import type { RecordingSummary } from './recorder.js'
import type { StreamService } from './stream-service.js'
import type { UploadStopReason } from './upload-session.js'
import type { AgreedRecording } from '@auralink/identity'
import type { RecordResult } from '@auralink/protocol'
import type { Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Logger } from 'pino'

export type { UploadStopReason } from './upload-session.js'

/** A request's outcome, as `auralink_recordings_requests_total{result}` counts it. */
export type RecordRequestOutcome = 'ok' | 'bad_request' | 'no_consent' | 'limit' | 'failed'

/** The sidecar beside each recording (`<recordingId>.json`): what a relay operator and a participant can check. */
export interface RecordingSidecar {
  version: 1
  recordingId: string
  callId: string
  relay: string
  /** 'recording' while uploads run or the file is being made; 'complete' once it is; 'failed' when no file could be made (`error` says why; the parts stay). */
  status: 'recording' | 'complete' | 'failed'
  participants: string[]
  /** ISO 8601, by the relay's clock: the first upload's start, the last one's end. */
  startedAt: string
  endedAt: string | null
  /** The merged file, relative to the sidecar's folder, and its size; null until it exists. */
  file: string | null
  bytes: number
  /** 'age' when the file is encrypted (`<id>.webm.age`, to the relay's `--recordings-recipient`). */
  encrypted?: 'age'
  /** Every participant's signed consent, as it came (base64), with what it says. */
  consents: Array<{ signer: string, issuedAt: string, expiresAt: string, signed: string }>
  parts: Array<{ participant: string, file: string, startedAt: string, endedAt: string | null, bytes: number, tracks: Array<{ kind: string, codec: string }>, stopped: UploadStopReason | null }>
  error?: string
  /** Set when the relay stopped without finishing it (a crash, a kill) and finished it at its next start: the parts as they were on disk (their end is the file's last write; `stopped` 'interrupted'). */
  recovered?: true
}

/** The service's limits: the request check's and the running uploads' caps. */
export interface RecordServiceLimits extends RecordLimits {
  /** Bytes one upload may write. */
  maxBytes: number
  /** Free bytes the recordings' disk keeps. */
  minFreeBytes: number
}

/** What the relay's recording service is built with (node.ts fills it from the relay's settings). */
export interface RecordServiceInit {
  /** Where recordings go (made if missing, mode 0700). */
  dir: string
  relay: PeerId
  limits: RecordServiceLimits
  log: Logger
  /** How often each upload's size and the disk's free space are checked. @default 1000 */
  checkEveryMs?: number
  /**
   * How long a recording whose uploads have all ended waits for a participant who has not
   * uploaded yet, or one coming back, before its file is made. @default 30000
   */
  graceMs?: number
  /** How long a request may take to arrive once the stream is open. @default 10000 */
  requestTimeoutMs?: number
  /** The ffmpeg that merges the parts. @default 'ffmpeg' */
  ffmpeg?: string
  /** An age recipient (`age1...`): finished files are encrypted to it and kept only as `<id>.webm.age`. */
  recipient?: string
  /** Days a finished recording is kept after it ended (0: kept). @default 0 */
  retentionDays?: number
  /** How often expired recordings are looked for. @default 3600000 (an hour) */
  sweepEveryMs?: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
  /** Called once per recording deleted for its age. */
  onExpired?: () => void
  /** Called once per request with its outcome (the metrics count it). */
  onRequest?: (outcome: RecordRequestOutcome) => void
  /** Called once per upload that ended: why, and the bytes its file holds. */
  onUploadStopped?: (reason: UploadStopReason, bytes: number) => void
  /** Called once per recording finished: its file made, or not. */
  onFinished?: (status: 'complete' | 'failed') => void
  /** Streams out: requests whose consents are for a stream go there (none: refused). Their uploads count against the same limits. */
  streams?: StreamService
}

interface Registrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** One participant's upload under way. */
interface Upload {
  peer: string
  recording: MediaRecording
  file: string
  /** Ends the upload: the first reason given wins. */
  end: (reason: UploadStopReason) => void
}

/** One recording (one call), its parts and the uploads that still run. */
interface CallRecording {
  agreed: AgreedRecording
  sidecar: RecordingSidecar
  uploads: Set<Upload>
  /** The participants who have uploaded at least once. */
  uploaded: Set<string>
  /** When each part's file starts by the relay's clock (by its path in the sidecar), and whether it holds any media: what mergeRecordings() takes. */
  starts: Map<string, { startedAtMs: number, media: boolean }>
  /** Part files named so far. */
  partsMade: number
  /** The last sidecar write: the next waits for it. */
  writing: Promise<void>
  /** Set while no upload runs and not every participant has uploaded: makes the file when it fires. */
  idle?: ReturnType<typeof setTimeout>
  finishing?: Promise<void>
}

const RESULT_OUTCOME: Record<Exclude<RecordResult, 'ok'>, RecordRequestOutcome> = { 'bad-request': 'bad_request', 'no-consent': 'no_consent', limit: 'limit', failed: 'failed' }

const iso = (ms: number): string => new Date(ms).toISOString()
const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

/** Free bytes for an unprivileged writer on the disk that holds `dir`. */
export async function freeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/** The relay's recording service; `start()` registers the protocol, `stop()` ends every upload and makes every file. */
export class RecordService {
  private readonly calls = new Map<string, CallRecording>()
  private readonly uploads = new Set<Upload>()
  /** Requests being checked, by peer: they count against the limits as uploads do. */
  private readonly pending = new Map<string, number>()
  private pendingTotal = 0
  private watchdog: ReturnType<typeof setInterval> | undefined
  private stopping = false
  private registrar: Registrar | undefined
  /** Every stream being served, from its request to its upload's end (and the file, when it was the last). */
  private readonly serving = new Set<Promise<void>>()
  /** Aborted by stop(): a request still being read is given up at once. */
  private readonly closing = new AbortController()
  private sweeper: ReturnType<typeof setInterval> | undefined

  constructor (private readonly init: RecordServiceInit) {}

  /** Uploads being recorded now. */
  get active (): number {
    return this.uploads.size
  }

  /**
   * Makes the recordings folder, finishes the recordings an earlier run left unfinished (a crash:
   * see recover()), and serves the protocol through `registrar` (the relay's libp2p node).
   */
  async start (registrar: Registrar): Promise<void> {
    await mkdir(this.init.dir, { recursive: true, mode: 0o700 })
    await this.recover()
    if ((this.init.retentionDays ?? 0) > 0) {
      await this.sweep()
      this.sweeper = setInterval(() => { void this.sweep() }, this.init.sweepEveryMs ?? 3_600_000)
      this.sweeper.unref()
    }
    this.registrar = registrar
    await registrar.handle(RECORD_PROTOCOL, (stream, connection) => {
      const served = this.serve(stream, connection).catch((err: unknown) => {
        this.init.log.error({ peer: connection.remotePeer.toString(), reason: (err as Error).message }, 'recording request failed')
        stream.abort(err as Error)
      })
      this.serving.add(served)
      void served.finally(() => this.serving.delete(served))
    }, { maxInboundStreams: 2 })
  }

  /** Ends every upload (reason `relay_stopping`, each told so), then makes every recording's file. */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    clearInterval(this.sweeper)
    this.closing.abort(new Error(END_WORDS.relay_stopping))
    await this.registrar?.unhandle(RECORD_PROTOCOL).catch(() => {})
    for (const u of this.uploads) u.end('relay_stopping')
    const streamsStopped = this.init.streams?.stop()
    // calls waiting for a participant are finished now
    for (const c of this.calls.values()) {
      if (c.idle === undefined) continue
      clearTimeout(c.idle)
      c.idle = undefined
      c.finishing ??= this.finish(c)
    }
    // each stream's upload ends (and the last of a call makes its file); the waiting calls finish
    await Promise.all([...this.serving, streamsStopped, ...[...this.calls.values()].map(async (c) => { await c.finishing })])
    this.stopWatchdog()
  }

  private countFrom (peer: string): number {
    let n = this.pending.get(peer) ?? 0
    for (const u of this.uploads) if (u.peer === peer) n++
    return n
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const who = peer.toString()
    const log = this.init.log
    const lp = lpStream(stream, { maxDataLength: MAX_RECORD_REQUEST_BYTES })
    const refuse = async (result: Exclude<RecordResult, 'ok'>, message: string): Promise<void> => {
      this.init.onRequest?.(RESULT_OUTCOME[result])
      log.debug({ peer: who, result, reason: message }, 'recording refused')
      try {
        await lp.write(encodeRecordResponse({ result, message: message.slice(0, 256) }), { signal: AbortSignal.timeout(5_000) })
        await stream.close({ signal: AbortSignal.timeout(5_000) })
      } catch (err) {
        stream.abort(err as Error)
      }
    }
    let bytes: Uint8Array
    try {
      bytes = (await lp.read({ signal: AbortSignal.any([AbortSignal.timeout(this.init.requestTimeoutMs ?? 10_000), this.closing.signal]) })).subarray()
    } catch (err) {
      // too long, cut short, or too slow: a refusal if the stream can still carry one
      await refuse('bad-request', `no request read: ${(err as Error).message}`)
      return
    }
    if (this.stopping) { await refuse('failed', END_WORDS.relay_stopping); return }
    const streams = this.init.streams
    const active = { total: this.uploads.size + (streams?.active ?? 0) + this.pendingTotal, fromRequester: this.countFrom(who) + (streams?.countFrom(who) ?? 0) }
    this.pending.set(who, (this.pending.get(who) ?? 0) + 1)
    this.pendingTotal++
    let held = true
    /** The request stops counting as pending: refused, or now an upload. */
    const release = (): void => {
      if (!held) return
      held = false
      const left = (this.pending.get(who) ?? 1) - 1
      if (left === 0) this.pending.delete(who)
      else this.pending.set(who, left)
      this.pendingTotal--
    }
    try {
      let decision = await checkRecordRequest(bytes, { relay: this.init.relay, requester: peer, active }, this.init.limits)
      if (decision.ok && decision.agreed.kind === 'stream') {
        // a stream out: its own service (no file, no disk)
        if (this.init.streams === undefined) { release(); await refuse('limit', 'this relay streams nowhere: its operator lists no --stream-host'); return }
        await this.init.streams.serve(stream, lp, who, decision, release, refuse)
        return
      }
      if (decision.ok) {
        const free = await freeBytes(this.init.dir)
        if (free < this.init.limits.minFreeBytes) decision = { ok: false, result: 'limit', message: `the relay's disk has ${free} bytes free, under its floor of ${this.init.limits.minFreeBytes}` }
      }
      if (!decision.ok) { release(); await refuse(decision.result, decision.message); return }
      const call = await this.callFor(decision.agreed)
      if (typeof call === 'string') { release(); await refuse('no-consent', call); return }
      const dir = join(this.init.dir, decision.agreed.recordingId)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      // numbered in the call, taken at once: two uploads at the same moment never share a file
      const name = `${who}-${call.partsMade++}.webm`
      let recording: MediaRecording
      try {
        recording = await MediaRecording.answer(decision.offer, { file: join(dir, name), tracks: decision.tracks })
      } catch (err) {
        release()
        log.warn({ peer: who, recordingId: decision.agreed.recordingId, reason: (err as Error).message }, 'recording could not start')
        await refuse('failed', `the relay could not answer the offer: ${(err as Error).message}`)
        if (call.sidecar.parts.length === 0 && call.uploads.size === 0) this.calls.delete(decision.agreed.recordingId)
        return
      }
      await this.run(new UploadSession(stream, lp, decision.endsAt), who, call, name, recording, decision, release)
    } finally {
      release()
    }
  }

  /** The recording these consents are for, made on the first upload; a string says why it cannot take another. */
  private async callFor (agreed: AgreedRecording): Promise<CallRecording | string> {
    const id = agreed.recordingId
    let call = this.calls.get(id)
    if (call !== undefined) {
      if (call.finishing !== undefined) return `recording ${id} has ended`
      const same = call.agreed.callId === agreed.callId && call.agreed.participants.map(String).join() === agreed.participants.map(String).join()
      return same ? call : `recording ${id} is under way for another call or other participants`
    }
    // a recording that ended here is never written again (its file and sidecar stay as they are)
    if (await stat(join(this.init.dir, `${id}.json`)).then(() => true, () => false)) return `recording ${id} has ended`
    // another upload of it made it meanwhile
    if (this.calls.has(id)) return this.callFor(agreed)
    call = {
      agreed,
      uploads: new Set(),
      uploaded: new Set(),
      starts: new Map(),
      partsMade: 0,
      writing: Promise.resolve(),
      sidecar: {
        version: 1,
        recordingId: id,
        callId: agreed.callId,
        relay: agreed.relay.toString(),
        status: 'recording',
        participants: agreed.participants.map(String),
        startedAt: iso(Date.now()),
        endedAt: null,
        file: null,
        bytes: 0,
        consents: agreed.consents.map((c) => ({ signer: c.signer.toString(), issuedAt: iso(c.issuedAt), expiresAt: iso(c.expiresAt), signed: base64(c.bytes) })),
        parts: []
      }
    }
    this.calls.set(id, call)
    return call
  }

  /** Records one upload until it ends, then tells the participant why and finishes the call's file when it was the last. */
  private async run (session: UploadSession, who: string, call: CallRecording, name: string, recording: MediaRecording, decision: Extract<RecordDecision, { ok: true }>, release: () => void): Promise<void> {
    const log = this.init.log
    const upload: Upload = { peer: who, recording, file: join(this.init.dir, call.agreed.recordingId, name), end: (r) => { session.end(r) } }
    const part: RecordingSidecar['parts'][number] = { participant: who, file: join(call.agreed.recordingId, name), startedAt: iso(Date.now()), endedAt: null, bytes: 0, tracks: [], stopped: null }
    this.uploads.add(upload)
    release()
    if (this.stopping) upload.end('relay_stopping')
    call.uploads.add(upload)
    clearTimeout(call.idle)
    call.idle = undefined
    call.uploaded.add(who)
    call.sidecar.parts.push(part)
    this.startWatchdog()
    recording.whenRecording().then(async () => {
      if (session.reason !== undefined) return
      // from now the participant is being recorded: what its app shows
      part.startedAt = iso(recording.startedAtMs)
      part.tracks = recording.tracks
      await session.say(encodeRecordResponse({ result: 'ok', message: 'recording', startedAt: recording.startedAtMs }))
      await this.writeSidecar(call)
    }, (err: unknown) => {
      if (session.reason !== undefined) return
      log.warn({ peer: who, recordingId: call.agreed.recordingId, reason: (err as Error).message }, 'recording failed')
      upload.end('failed')
    }).catch(() => {})
    await this.writeSidecar(call).catch((err: Error) => { log.warn({ recordingId: call.agreed.recordingId, reason: err.message }, 'sidecar not written') })
    if (await session.answer(encodeRecordResponse({ result: 'ok', answerSdp: recording.answer.sdp, endsAt: decision.endsAt }))) {
      this.init.onRequest?.('ok')
      log.info({ peer: who, recordingId: call.agreed.recordingId, callId: call.agreed.callId, endsAt: iso(decision.endsAt) }, 'recording upload started')
    }
    await session.ended
    session.detach()
    const stopReason = session.reason ?? 'failed'
    let summary: RecordingSummary | undefined
    try {
      summary = await recording.stop()
    } catch (err) {
      log.warn({ peer: who, reason: (err as Error).message }, 'recording stop failed')
    }
    this.uploads.delete(upload)
    call.uploads.delete(upload)
    if (this.uploads.size === 0) this.stopWatchdog()
    part.endedAt = iso(Date.now())
    part.bytes = summary?.bytes ?? 0
    part.tracks = summary?.tracks ?? []
    part.stopped = stopReason
    call.starts.set(part.file, { startedAtMs: summary?.startedAtMs ?? 0, media: (summary?.packets ?? 0) > 0 })
    this.init.onUploadStopped?.(stopReason, part.bytes)
    log.info({ peer: who, recordingId: call.agreed.recordingId, reason: stopReason, bytes: part.bytes }, 'recording upload ended')
    await session.close()
    // the last upload of a call whose every participant has uploaded, or any when the relay stops
    const everyone = call.agreed.participants.every((p) => call.uploaded.has(p.toString()))
    if (call.uploads.size === 0 && (everyone || this.stopping || stopReason === 'lapsed')) {
      call.finishing ??= this.finish(call)
      await call.finishing
      return
    }
    await this.writeSidecar(call)
    if (call.uploads.size === 0 && call.finishing === undefined) {
      // someone has not uploaded yet, or may come back: wait, bounded
      call.idle = setTimeout(() => {
        call.idle = undefined
        if (call.uploads.size === 0) call.finishing ??= this.finish(call)
      }, this.init.graceMs ?? 30_000)
    }
  }

  /**
   * Deletes every finished recording (status 'complete' or 'failed') that ended more than
   * `retentionDays` ago: its file, its parts if any are left, then its sidecar. Sidecars that do
   * not parse are left alone (logged). Returns the recording ids deleted.
   */
  async sweep (): Promise<string[]> {
    const days = this.init.retentionDays ?? 0
    if (days <= 0) return []
    const cutoff = (this.init.now ?? Date.now)() - days * 86_400_000
    const deleted: string[] = []
    for (const name of await readdir(this.init.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{32}\.json$/.test(name)) continue
      const id = name.slice(0, 32)
      try {
        const sidecar = JSON.parse(await readFile(join(this.init.dir, name), 'utf8')) as Partial<RecordingSidecar>
        if (sidecar.status !== 'complete' && sidecar.status !== 'failed') continue
        const ended = Date.parse(sidecar.endedAt ?? '')
        if (!Number.isFinite(ended) || ended > cutoff) continue
        // the file first, the sidecar last: a sweep cut short leaves a sidecar to find again
        for (const f of [`${id}.webm`, `${id}.webm.age`]) await rm(join(this.init.dir, f), { force: true })
        await rm(join(this.init.dir, id), { recursive: true, force: true })
        await rm(join(this.init.dir, name), { force: true })
        deleted.push(id)
        this.init.onExpired?.()
        this.init.log.info({ recordingId: id, endedAt: sidecar.endedAt, retentionDays: days }, 'recording deleted: past its retention')
      } catch (err) {
        this.init.log.warn({ sidecar: name, reason: (err as Error).message }, 'retention: a sidecar could not be read; left as it is')
      }
    }
    return deleted
  }

  /**
   * Finishes every recording whose sidecar still says 'recording': the relay stopped without
   * finishing it (killed, crashed, the machine lost power). Its parts are WebM files written
   * cluster by cluster, so what reached the disk is readable; each part's end is its file's last
   * write, `stopped` is 'interrupted', and the parts are merged as at a normal end (the sidecar
   * says `recovered`). A sidecar that does not parse, or names a part outside its recording's
   * folder, is left as it is and logged.
   */
  private async recover (): Promise<void> {
    const names = await readdir(this.init.dir).catch(() => [] as string[])
    for (const name of names) {
      if (!/^[0-9a-f]{32}\.json$/.test(name)) continue
      const id = name.slice(0, 32)
      let sidecar: RecordingSidecar
      try {
        sidecar = JSON.parse(await readFile(join(this.init.dir, name), 'utf8')) as RecordingSidecar
        if (sidecar?.status !== 'recording') continue
        const partName = new RegExp(`^${id}/[1-9A-HJ-NP-Za-km-z]+-\\d+\\.webm$`)
        if (sidecar.recordingId !== id || !Array.isArray(sidecar.parts) || !sidecar.parts.every((p) => typeof p?.file === 'string' && partName.test(p.file))) throw new Error('its fields are not a sidecar this relay wrote')
      } catch (err) {
        this.init.log.error({ sidecar: name, reason: (err as Error).message }, 'an unfinished recording\'s sidecar could not be read: left as it is')
        continue
      }
      const call: CallRecording = {
        agreed: { recordingId: id } as AgreedRecording,
        sidecar,
        uploads: new Set(),
        uploaded: new Set(),
        starts: new Map(),
        partsMade: sidecar.parts.length,
        writing: Promise.resolve()
      }
      for (const part of sidecar.parts) {
        const st = await stat(join(this.init.dir, part.file)).catch(() => undefined)
        if (part.endedAt === null) {
          part.endedAt = st !== undefined ? st.mtime.toISOString() : part.startedAt
          part.stopped = 'interrupted'
        }
        part.bytes = st?.size ?? 0
        call.starts.set(part.file, { startedAtMs: Date.parse(part.startedAt), media: part.bytes > 0 })
      }
      sidecar.recovered = true
      this.init.log.warn({ recordingId: id, parts: sidecar.parts.length }, 'finishing a recording the relay did not finish (it stopped while recording)')
      await this.finish(call)
    }
  }

  /** Merges a call's parts into `<recordingId>.webm` and writes the sidecar's last state. */
  private async finish (call: CallRecording): Promise<void> {
    const id = call.agreed.recordingId
    const sidecar = call.sidecar
    const parts = sidecar.parts.filter((p) => call.starts.get(p.file)?.media === true)
    // a recovered recording ended when its last part was last written, not now
    const ends = sidecar.parts.map((p) => Date.parse(p.endedAt ?? '')).filter(Number.isFinite)
    sidecar.endedAt = iso(sidecar.recovered === true && ends.length > 0 ? Math.max(...ends) : Date.now())
    const out = join(this.init.dir, `${id}.webm`)
    try {
      if (parts.length === 0) throw new Error('no upload wrote any media')
      // one track set per participant: one who dropped and came back has its parts joined first,
      // each at its own start (a held frame and silence across the gap, never a shift)
      const byParticipant = new Map<string, RecordingPart[]>()
      for (const p of parts) {
        const list = byParticipant.get(p.participant) ?? []
        list.push({ file: join(this.init.dir, p.file), startedAtMs: call.starts.get(p.file)?.startedAtMs ?? 0 })
        byParticipant.set(p.participant, list)
      }
      const joined: RecordingPart[] = []
      for (const [participant, list] of byParticipant) {
        list.sort((a, b) => a.startedAtMs - b.startedAtMs)
        if (list.length === 1) { joined.push(list[0]!); continue }
        const file = join(this.init.dir, id, `${participant}-joined.webm`)
        await joinParts(list, file, { ffmpeg: this.init.ffmpeg })
        joined.push({ file, startedAtMs: list[0]!.startedAtMs })
      }
      await mergeRecordings(joined, out, { ffmpeg: this.init.ffmpeg })
      let file = `${id}.webm`
      if (this.init.recipient !== undefined && this.init.recipient !== '') {
        // only the encrypted file stays (the parts and the clear merge are removed below)
        const { encryptFile } = await import('./encrypt.js')
        await encryptFile(out, `${out}.age`, this.init.recipient)
        await rm(out, { force: true })
        file = `${id}.webm.age`
        sidecar.encrypted = 'age'
      }
      sidecar.file = file
      sidecar.bytes = (await stat(join(this.init.dir, file))).size
      sidecar.status = 'complete'
      await rm(join(this.init.dir, id), { recursive: true, force: true })
      sidecar.parts = sidecar.parts.map((p) => ({ ...p, file }))
    } catch (err) {
      sidecar.status = 'failed'
      // the recordings folder is not named: the sidecar may be shown to participants
      sidecar.error = (err as Error).message.replaceAll(`${this.init.dir}/`, '').slice(0, 1000)
      this.init.log.error({ recordingId: id, reason: sidecar.error }, 'recording could not be finished: its parts are kept')
    }
    await this.writeSidecar(call)
    this.calls.delete(id)
    this.init.onFinished?.(sidecar.status === 'complete' ? 'complete' : 'failed')
    this.init.log.info({ recordingId: id, status: sidecar.status, bytes: sidecar.bytes, file: sidecar.file }, 'recording finished')
  }

  /** The sidecar, replaced whole (written beside, then renamed over), one write at a time per recording, each with the state as it is then. */
  private async writeSidecar (call: CallRecording): Promise<void> {
    const file = join(this.init.dir, `${call.agreed.recordingId}.json`)
    const write = async (): Promise<void> => {
      await writeFile(`${file}.tmp`, `${JSON.stringify(call.sidecar, null, 2)}\n`, { mode: 0o600 })
      await rename(`${file}.tmp`, file)
    }
    const next = call.writing.then(write, write)
    call.writing = next.catch(() => {})
    await next
  }

  private startWatchdog (): void {
    if (this.watchdog !== undefined) return
    this.watchdog = setInterval(() => { void this.check() }, this.init.checkEveryMs ?? 1000)
    this.watchdog.unref()
  }

  private stopWatchdog (): void {
    clearInterval(this.watchdog)
    this.watchdog = undefined
  }

  /** Each upload's size against the cap, the disk's free space against the floor. */
  private async check (): Promise<void> {
    try {
      if (await freeBytes(this.init.dir) < this.init.limits.minFreeBytes) {
        for (const u of this.uploads) u.end('disk')
        return
      }
    } catch {}
    for (const u of this.uploads) {
      const size = await stat(u.file).then((s) => s.size, () => 0)
      if (size > this.init.limits.maxBytes) u.end('bytes')
    }
  }
}
