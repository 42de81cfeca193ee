/**
 * Recording a call at a relay, the call's side (issue 17; docs/recording.md). One side asks
 * (`call.startRecording()`): it signs its consent to this recording (this call, these two
 * participants, this relay, a file) and sends it in a RecordingAsk on the call stream. The other
 * side's app hears `recording` with state 'asked' and answers: `call.acceptRecording()` signs its
 * own consent and sends it back; `call.refuseRecording()` says no, and nothing is recorded. Once
 * both consents are held, each side uploads its own audio and video to the relay
 * (`/auralink/record/1.0.0`: one RTCPeerConnection to the relay, send-only), and is told when its
 * media is being written ('recording') and, at the end, why it stopped. Either side may stop it;
 * the other stops too.
 *
 * Every consent from the other side is checked before it is used: signed by the other side's key,
 * for this recording id, this call, exactly these two participants, the relay named, a file.
 */
import { RecordingFailedError, RecordingRefusedError, InvalidStateError, MediaUnsupportedError } from '@auralink/core'
import { createRecordingConsent, streamDestination, verifyRecordingConsent } from '@auralink/identity'
import { decodeRecordResponse, encodeRecordRequest, MAX_RECORD_RESPONSE_BYTES, MAX_STREAM_URL_CHARS } from '@auralink/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { RecordingSignal } from './call-machine.js'
import type { SignalMessageFields, StreamState } from '@auralink/protocol'
import type { AbortOptions, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'

/**
 * Where a recording or a stream stands, for this side: 'asking' (we asked; waiting for the other
 * side), 'asked' (the other side asked; accept or refuse), 'starting' (both agreed; our upload is
 * connecting; for a stream, also until the RTMP server takes it), 'recording' (a file: the relay
 * is writing our media), 'live' (a stream: the RTMP server takes it), 'reconnecting' (a stream:
 * the RTMP server dropped it and the relay connects again), then one of 'stopped', 'refused',
 * 'failed'.
 */
export type RecordingState = 'asking' | 'asked' | 'starting' | 'recording' | 'live' | 'reconnecting' | 'stopped' | 'refused' | 'failed'

/** What is asked for: a file on the relay, or a stream out over RTMP. */
export type RecordingKind = 'file' | 'stream'

/** The payload of a call's `recording` event, and what `call.recording` says. */
export interface RecordingChange {
  /** The recording's id (32 hex characters): the relay names its file `<id>.webm`. */
  id: string
  /** 'file' (the `recording` event) or 'stream' (the `stream` event). */
  kind: RecordingKind
  /** A stream's RTMP URL (its stream key included: show only its host to the user). */
  url?: string
  state: RecordingState
  /** Who asked for it. */
  askedBy: 'local' | 'remote'
  /** The relay's multiaddr (ending in /p2p/<relay peer id>). */
  relay: string
  /** From 'recording' on: when the relay began writing this side's media (ms since the epoch, the relay's clock). */
  startedAt?: number
  /** On 'stopped', 'refused' and 'failed': who ended it (the relay: a cap of its, a fault, or it stopped). */
  by?: 'local' | 'remote' | 'relay'
  /** On 'stopped', 'refused' and 'failed': why, in words. */
  reason?: string
}

/** Options of `call.startRecording()`. */
export interface StartRecordingOptions extends AbortOptions {
  /**
   * The relay that records: its multiaddr, ending in /p2p/<relay peer id>; it must run with
   * `--recording`. @default this client's best relay holding a reservation
   */
  relay?: string
  /** How long the other side has to answer (its user is asked). @default 60000 */
  answerTimeoutMs?: number
}

/** Options of `call.startStream()`. */
export interface StartStreamOptions extends StartRecordingOptions {
  /**
   * Where the relay pushes the call: an rtmp:// or rtmps:// URL, stream key included (YouTube:
   * `rtmp://a.rtmp.youtube.com/live2/<key>`; Twitch: `rtmp://<ingest>.contribute.live-video.net/app/<key>`).
   * The relay must list its host (`--stream-host`). The other side sees the URL: it consents to it.
   */
  url: string
}

/** @internal what the recorder needs from the client */
export interface RecordingComponents {
  /** The client's identity key: it signs this side's consents. */
  key: PrivateKey
  /** The client's PeerId (the key's). */
  self: PeerId
  /** Multiaddrs (each ending in /p2p/<relay peer id>) of the relays this client holds, best first. */
  relayAddrs(): string[]
  /** A stream on `/auralink/record/1.0.0` to the relay at `addr`. */
  openRecordStream(addr: string, options: AbortOptions): Promise<Stream>
}

/** @internal what the recorder needs from its call */
export interface RecordingCall {
  log: Logger
  id: string
  remote: PeerId
  /** Sends a message on the call stream. */
  send(fields: Omit<SignalMessageFields, 'callId'>): Promise<void>
  /** The stream this side sends in the call. */
  localStream(): MediaStream | undefined
  changed(change: RecordingChange): void
}

/** How long the asked side's app has to answer before the ask is refused for it. */
export const DEFAULT_RECORDING_ANSWER_TIMEOUT_MS = 60_000
/** How long our upload's request may take at the relay (answer and ICE included). */
const UPLOAD_TIMEOUT_MS = 20_000
/** How long the relay has to say why an upload ended once we closed it. */
const CLOSE_WAIT_MS = 5_000
/** Uploads again after a broken connection, at most this many times per recording (1, 2, 4 s apart). */
const UPLOAD_RETRIES = 3
/** A relay multiaddr longer than this is refused. */
const MAX_RELAY_ADDR_CHARS = 512

const randomId = (): string => Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')

/** Why `url` cannot be a stream's destination (words after "options.url"), or undefined. The relay checks it again, and its host against its list. */
function streamUrlProblem (url: unknown): string | undefined {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_STREAM_URL_CHARS) return `must be an rtmp:// or rtmps:// URL of at most ${MAX_STREAM_URL_CHARS} characters, got ${JSON.stringify(String(url).slice(0, 80))}`
  if (!/^rtmps?:\/\/[\x21-\x7e]+$/.test(url)) return `must be an rtmp:// or rtmps:// URL of printable characters, got ${JSON.stringify(url.slice(0, 80))}`
  return undefined
}

/** The relay's PeerId from its multiaddr; a TypeError naming the input when there is none. */
function relayOf (addr: string): PeerId {
  if (typeof addr !== 'string' || addr.length === 0 || addr.length > MAX_RELAY_ADDR_CHARS) throw new TypeError(`relay must be a multiaddr of at most ${MAX_RELAY_ADDR_CHARS} characters, got ${JSON.stringify(String(addr).slice(0, 80))}`)
  let id: string | undefined
  try {
    id = multiaddr(addr).getComponents().filter((c) => c.name === 'p2p').at(-1)?.value
  } catch (err) {
    throw new TypeError(`relay ${JSON.stringify(addr.slice(0, 80))} is not a multiaddr: ${(err as Error).message}`, { cause: err })
  }
  if (id === undefined) throw new TypeError(`relay ${JSON.stringify(addr.slice(0, 80))} must end in /p2p/<relay peer id>`)
  return peerIdFromString(id)
}

/** One upload of this side's media to the relay. */
interface Upload {
  /** Closes our end; resolves once the relay said why it ended (or after CLOSE_WAIT_MS). */
  close(): Promise<void>
}

interface Current {
  id: string
  /** A stream's URL. */
  url?: string
  askedBy: 'local' | 'remote'
  relayAddr: string
  relay: PeerId
  state: RecordingState
  startedAt?: number
  /** Once ended: who ended it and why. */
  by?: RecordingChange['by']
  reason?: string
  ownConsent?: Uint8Array
  theirConsent?: Uint8Array
  upload?: Upload
  /** The asker waits here for the answer. */
  answered?: (a: Extract<RecordingSignal, { type: 'answer' }>) => void
  /** The asked side's deadline to answer. */
  timer?: ReturnType<typeof setTimeout>
}

const ENDED: RecordingState[] = ['stopped', 'refused', 'failed']

/** A call's recording (one at a time): asking, answering, uploading, stopping. */
export class CallRecorder {
  private current: Current | undefined
  private closed = false

  constructor (private readonly c: RecordingComponents, private readonly call: RecordingCall, private readonly kind: RecordingKind = 'file') {}

  private get what (): string {
    return this.kind === 'file' ? 'recording' : 'stream'
  }

  /** The recording now, or the last one. */
  get status (): RecordingChange | undefined {
    return this.current === undefined ? undefined : this.describe(this.current)
  }

  private describe (cur: Current): RecordingChange {
    return {
      id: cur.id,
      kind: this.kind,
      ...(cur.url !== undefined ? { url: cur.url } : {}),
      state: cur.state,
      askedBy: cur.askedBy,
      relay: cur.relayAddr,
      ...(cur.startedAt !== undefined ? { startedAt: cur.startedAt } : {}),
      ...(cur.by !== undefined ? { by: cur.by } : {}),
      ...(cur.reason !== undefined ? { reason: cur.reason } : {})
    }
  }

  private set (cur: Current, state: RecordingState, end: { by?: RecordingChange['by'], reason?: string } = {}): void {
    if (ENDED.includes(cur.state) || cur.state === state) return
    cur.state = state
    if (end.by !== undefined) cur.by = end.by
    if (end.reason !== undefined) cur.reason = end.reason
    if (ENDED.includes(state)) clearTimeout(cur.timer)
    this.call.changed(this.describe(cur))
  }

  private busy (): boolean {
    return this.current !== undefined && !ENDED.includes(this.current.state)
  }

  /** Asks the other side, then uploads once it agreed; resolves when the relay writes our media. */
  async start (options: StartRecordingOptions & { url?: string } = {}): Promise<RecordingChange> {
    const api = this.kind === 'file' ? 'startRecording()' : 'startStream()'
    if (this.closed) throw new InvalidStateError(`${api}: the call has ended`)
    if (this.busy()) throw new InvalidStateError(`${api}: ${this.what} ${this.current!.id} is ${this.current!.state}`)
    let url: string | undefined
    if (this.kind === 'stream') {
      url = options.url
      const problem = streamUrlProblem(url)
      if (problem !== undefined) throw new TypeError(`${api}: options.url ${problem}`)
    }
    const local = this.recordable(api)
    const relayAddr = options.relay ?? this.c.relayAddrs()[0]
    if (relayAddr === undefined) throw new RecordingFailedError('unreachable', `${api}: this client holds no relay to ${this.kind === 'file' ? 'record' : 'stream'} at; name one with { relay }`)
    const relay = relayOf(relayAddr)
    const id = randomId()
    const consent = await createRecordingConsent(this.c.key, { recordingId: id, callId: this.call.id, participants: [this.c.self, this.call.remote], relay, kind: this.kind, ...(url !== undefined ? { streamUrl: url } : {}) })
    const cur: Current = { id, askedBy: 'local', relayAddr, relay, state: 'asking', ownConsent: consent.bytes, ...(url !== undefined ? { url } : {}) }
    this.current = cur
    this.call.changed(this.describe(cur))
    const answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_RECORDING_ANSWER_TIMEOUT_MS
    const answer = new Promise<Extract<RecordingSignal, { type: 'answer' }>>((resolve, reject) => {
      cur.answered = resolve
      cur.timer = setTimeout(() => { reject(new RecordingFailedError('timeout', `${this.call.remote.toString()} did not answer the ${this.what} request within ${answerTimeoutMs} ms`)) }, answerTimeoutMs)
      options.signal?.addEventListener('abort', () => { reject(options.signal?.reason as Error) }, { once: true })
    })
    try {
      await this.call.send({ recordingAsk: { recordingId: id, relayAddr, consent: consent.bytes, ...(url !== undefined ? { streamUrl: url } : {}) } })
      const a = await answer
      clearTimeout(cur.timer)
      if (cur.state !== 'asking') throw this.endedError(cur)
      if (!a.agreed) {
        this.set(cur, 'refused', { by: 'remote', reason: a.reason })
        throw new RecordingRefusedError(a.reason, `${this.call.remote.toString()} refused to be ${this.kind === 'file' ? 'recorded' : 'streamed'}${a.reason !== '' ? `: ${a.reason}` : ''}`)
      }
      const why = await this.theirs(a.consent, cur)
      if (why !== undefined) {
        const err = new RecordingFailedError('invalid-consent', `${this.call.remote.toString()} agreed with a consent that is not valid: ${why}`)
        this.set(cur, 'failed', { by: 'local', reason: err.message })
        void this.call.send({ recordingStop: { recordingId: id, reason: `your consent is not valid: ${why}`.slice(0, 256) } }).catch(() => {})
        throw err
      }
      cur.theirConsent = a.consent
      return await this.upload(cur, local, options)
    } catch (err) {
      if (!(err instanceof RecordingRefusedError)) {
        if (cur.state === 'asking') void this.call.send({ recordingStop: { recordingId: id, reason: 'the asker gave up' } }).catch(() => {})
        this.set(cur, 'failed', { by: 'local', reason: (err as Error).message })
      }
      throw err
    }
  }

  /** Agrees to the other side's ask: signs this side's consent, sends it, uploads. */
  async accept (options: AbortOptions = {}): Promise<RecordingChange> {
    const cur = this.current
    const api = this.kind === 'file' ? 'acceptRecording()' : 'acceptStream()'
    if (cur?.state !== 'asked') throw new InvalidStateError(`${api}: no ${this.what} is waiting for an answer${cur !== undefined ? ` (${this.what} ${cur.id} is ${cur.state})` : ''}`)
    const local = this.recordable(api)
    clearTimeout(cur.timer)
    const consent = await createRecordingConsent(this.c.key, { recordingId: cur.id, callId: this.call.id, participants: [this.call.remote, this.c.self], relay: cur.relay, kind: this.kind, ...(cur.url !== undefined ? { streamUrl: cur.url } : {}) })
    cur.ownConsent = consent.bytes
    cur.state = 'starting'
    this.call.changed(this.describe(cur))
    try {
      await this.call.send({ recordingAnswer: { recordingId: cur.id, agreed: true, consent: consent.bytes } })
      return await this.upload(cur, local, options)
    } catch (err) {
      this.set(cur, 'failed', { by: 'local', reason: (err as Error).message })
      void this.call.send({ recordingStop: { recordingId: cur.id, reason: (err as Error).message.slice(0, 256) } }).catch(() => {})
      throw err
    }
  }

  /** Says no to the other side's ask: nothing is recorded. */
  async refuse (reason = ''): Promise<void> {
    const cur = this.current
    const api = this.kind === 'file' ? 'refuseRecording' : 'refuseStream'
    if (cur?.state !== 'asked') throw new InvalidStateError(`${api}(): no ${this.what} is waiting for an answer`)
    if (typeof reason !== 'string') throw new TypeError(`${api}(reason): reason must be a string, got ${typeof reason}`)
    this.set(cur, 'refused', { by: 'local', reason })
    await this.call.send({ recordingAnswer: { recordingId: cur.id, agreed: false, reason: reason.slice(0, 256) } })
  }

  /** Stops the recording under way (both sides stop), or withdraws an ask. */
  async stop (reason = 'stopped'): Promise<void> {
    const cur = this.current
    if (cur === undefined || ENDED.includes(cur.state)) return
    if (cur.state === 'asked') { await this.refuse(reason); return }
    this.set(cur, 'stopped', { by: 'local', reason })
    await this.call.send({ recordingStop: { recordingId: cur.id, reason: reason.slice(0, 256) } }).catch(() => {})
    await cur.upload?.close()
  }

  /** The call ended: the upload closes; nothing more is sent. */
  close (): void {
    this.closed = true
    const cur = this.current
    if (cur === undefined || ENDED.includes(cur.state)) return
    this.set(cur, 'stopped', { by: 'local', reason: 'the call ended' })
    void cur.upload?.close()
  }

  /** A recording message from the other side. */
  onSignal (msg: RecordingSignal): void {
    const cur = this.current
    switch (msg.type) {
      case 'ask':
        void this.asked(msg)
        return
      case 'answer':
        if (cur?.id !== msg.recordingId || cur.state !== 'asking') { this.call.log('call %s: a recording answer for %s that no ask of ours awaits', this.call.id, msg.recordingId); return }
        cur.answered?.(msg)
        return
      case 'stop':
        if (cur?.id !== msg.recordingId || ENDED.includes(cur.state)) return
        this.set(cur, 'stopped', { by: 'remote', reason: msg.reason })
        void cur.upload?.close()
    }
  }

  private async asked (msg: Extract<RecordingSignal, { type: 'ask' }>): Promise<void> {
    const refuse = async (reason: string): Promise<void> => {
      this.call.log('call %s: refusing recording %s: %s', this.call.id, msg.recordingId, reason)
      await this.call.send({ recordingAnswer: { recordingId: msg.recordingId.slice(0, 64), agreed: false, reason: reason.slice(0, 256) } }).catch(() => {})
    }
    if (this.closed) return
    if (this.busy()) { await refuse(`${this.what} ${this.current!.id} is ${this.current!.state}`); return }
    let relay: PeerId
    try {
      relay = relayOf(msg.relayAddr)
    } catch (err) {
      await refuse((err as Error).message)
      return
    }
    if (this.kind === 'stream') {
      const problem = streamUrlProblem(msg.streamUrl)
      if (problem !== undefined) { await refuse(`the stream URL ${problem}`); return }
    }
    const cur: Current = { id: msg.recordingId, askedBy: 'remote', relayAddr: msg.relayAddr, relay, state: 'asked', ...(this.kind === 'stream' ? { url: msg.streamUrl } : {}) }
    const why = await this.theirs(msg.consent, cur)
    if (why !== undefined) { await refuse(`your consent is not valid: ${why}`); return }
    if (this.busy() || this.closed) { await refuse('another recording began meanwhile'); return }
    cur.theirConsent = msg.consent
    this.current = cur
    // the app's user has this long to answer; then the ask is refused for them
    cur.timer = setTimeout(() => {
      if (cur.state !== 'asked') return
      this.set(cur, 'refused', { by: 'local', reason: 'no answer in time' })
      void this.call.send({ recordingAnswer: { recordingId: cur.id, agreed: false, reason: 'no answer in time' } }).catch(() => {})
    }, DEFAULT_RECORDING_ANSWER_TIMEOUT_MS)
    this.call.changed(this.describe(cur))
  }

  /** Why the other side's consent cannot be used for `cur`, or undefined when it can. */
  private async theirs (bytes: Uint8Array, cur: Current): Promise<string | undefined> {
    try {
      const c = await verifyRecordingConsent(bytes)
      const ids = c.participants.map(String).sort()
      if (!c.signer.equals(this.call.remote)) return `signed by ${c.signer.toString()}, not by ${this.call.remote.toString()}`
      if (c.recordingId !== cur.id) return `for recording ${c.recordingId}, not ${cur.id}`
      if (c.callId !== this.call.id) return `for call ${c.callId}, not this one`
      if (ids.join() !== [this.c.self, this.call.remote].map(String).sort().join()) return 'for other participants'
      if (!c.relay.equals(cur.relay)) return `for relay ${c.relay.toString()}, not ${cur.relay.toString()}`
      if (c.kind !== this.kind) return `for a ${c.kind}, not a ${this.kind}`
      if (this.kind === 'stream') {
        const want = await streamDestination(cur.url ?? '')
        if (!want.every((b, i) => b === c.destination[i])) return 'for another stream URL'
      }
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  private recordable (what: string): MediaStream {
    const local = this.call.localStream()
    if (local === undefined || local.getTracks().every((t) => t.readyState !== 'live')) throw new InvalidStateError(`${what}: this side sends no audio or video, so there is nothing of it to record`)
    if (typeof globalThis.RTCPeerConnection !== 'function') throw new MediaUnsupportedError(`${what}: uploading media to the relay needs WebRTC media (RTCPeerConnection)`)
    return local
  }

  private endedError (cur: Current): Error {
    return new RecordingFailedError('failed', `recording ${cur.id} is ${cur.state}`)
  }

  /**
   * Uploads this side's media with both consents; resolves once the relay writes it. When the
   * upload's connection breaks (the relay said nothing: a network drop, not a cap or a stop), it
   * uploads again, up to UPLOAD_RETRIES times with a growing wait, and the relay joins the parts
   * into one track with the gap kept; the state goes 'starting', then 'recording' again.
   */
  private async upload (cur: Current, local: MediaStream, options: AbortOptions, attempt = 0): Promise<RecordingChange> {
    const consents = [cur.ownConsent!, cur.theirConsent!]
    const recording = new Promise<void>((resolve, reject) => {
      void openUpload(this.c, cur.relayAddr, { consents, streamUrl: cur.url ?? '' }, local, options, {
        started: (at) => {
          cur.startedAt = at
          // a file is recorded from now; a stream is when the RTMP server takes it (streamState)
          if (this.kind === 'file') { this.set(cur, 'recording'); resolve() }
        },
        streamState: (state) => {
          if (state === 'connecting') return
          this.set(cur, state)
          if (state === 'live') resolve()
        },
        ended: (by, reason) => {
          reject(new RecordingFailedError('failed', `the ${this.what} ended before it began: ${reason}`))
          if (ENDED.includes(cur.state)) return
          if (by === 'broken' && (cur.state === 'recording' || cur.state === 'live' || cur.state === 'reconnecting') && !this.closed && attempt < UPLOAD_RETRIES) {
            this.call.log('call %s: recording %s upload broke (%s); uploading again', this.call.id, cur.id, reason)
            this.set(cur, 'starting')
            void (async () => {
              await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt))
              if (cur.state !== 'starting' || this.closed) return
              await this.upload(cur, local, {}, attempt + 1)
            })().catch((err: Error) => { this.failUpload(cur, err.message) })
            return
          }
          this.failUpload(cur, reason, by === 'relay-ok' ? 'stopped' : 'failed')
        }
      }).then((u) => {
        cur.upload = u
        // stopped (or the call ended) while the upload was being made
        if (ENDED.includes(cur.state)) void u.close()
      }, reject)
    })
    await recording
    return this.describe(cur)
  }

  /** Our upload ended for good: the state says why (the relay's words), and the other side stops too. */
  private failUpload (cur: Current, reason: string, state: 'stopped' | 'failed' = 'failed'): void {
    if (ENDED.includes(cur.state)) return
    this.set(cur, state, { by: 'relay', reason })
    void this.call.send({ recordingStop: { recordingId: cur.id, reason: reason.slice(0, 256) } }).catch(() => {})
  }
}

/**
 * Offers this side's tracks to the relay (send-only), sends the request with both consents, takes
 * the answer; then reads the relay's messages: `started` when it writes our media, `ended` with
 * why ('relay-ok': the relay's ok, a stop; 'relay-error': a cap or a fault; 'broken': the stream
 * ended with no word from the relay) when the upload ends.
 */
async function openUpload (c: RecordingComponents, addr: string, ask: { consents: Uint8Array[], streamUrl: string }, local: MediaStream, options: AbortOptions,
  on: { started(at: number): void, streamState(state: StreamState): void, ended(by: 'relay-ok' | 'relay-error' | 'broken', reason: string): void }): Promise<Upload> {
  const signal = AbortSignal.any([AbortSignal.timeout(UPLOAD_TIMEOUT_MS), ...(options.signal !== undefined ? [options.signal] : [])])
  const pc = new RTCPeerConnection({ iceServers: [] })
  let stream: Stream | undefined
  try {
    for (const t of local.getTracks()) if (t.readyState === 'live') pc.addTransceiver(t, { direction: 'sendonly', streams: [local] })
    const tracks = pc.getTransceivers().length
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc, signal)
    try {
      stream = await c.openRecordStream(addr, { signal })
    } catch (err) {
      throw new RecordingFailedError('unreachable', `the relay ${addr} could not be reached for recording: ${(err as Error).message}`, { cause: err })
    }
    const lp = lpStream(stream, { maxDataLength: MAX_RECORD_RESPONSE_BYTES })
    await lp.write(encodeRecordRequest({ consents: ask.consents, offerSdp: pc.localDescription!.sdp, tracks, streamUrl: ask.streamUrl }), { signal })
    const res = decodeRecordResponse((await lp.read({ signal })).subarray())
    if (res.result !== 'ok') throw new RecordingFailedError(res.result ?? 'failed', `the relay refused the recording (${res.result ?? 'an unknown result'}): ${res.message}`)
    await pc.setRemoteDescription({ type: 'answer', sdp: res.answerSdp })
    const s = stream
    let endedResolve!: () => void
    const ended = new Promise<void>((resolve) => { endedResolve = resolve })
    void (async () => {
      try {
        for (;;) {
          const m = decodeRecordResponse((await lp.read()).subarray())
          if (m.startedAt > 0) { on.started(m.startedAt); continue }
          if (m.streamState !== undefined) { on.streamState(m.streamState); continue }
          on.ended(m.result === 'ok' ? 'relay-ok' : 'relay-error', m.message !== '' ? m.message : `the relay ended it (${m.result ?? 'unknown'})`)
          return
        }
      } catch (err) {
        // no last word from the relay: the connection broke (or we closed it)
        on.ended('broken', `the relay's stream closed: ${(err as Error).message}`)
      } finally {
        pc.close()
        endedResolve()
      }
    })()
    return {
      close: async () => {
        await s.close({ signal: AbortSignal.timeout(CLOSE_WAIT_MS) }).catch((err: Error) => { s.abort(err) })
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([ended, new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_WAIT_MS) })])
        clearTimeout(timer)
        s.abort(new Error('recording closed'))
        pc.close()
      }
    }
  } catch (err) {
    pc.close()
    stream?.abort(err as Error)
    throw err
  }
}

/** ICE gathering done (the offer then carries every candidate: the relay takes no trickle); `late()` is the error when `signal` aborts first. */
export async function gathered (pc: RTCPeerConnection, signal: AbortSignal, late: () => Error = () => new RecordingFailedError('timeout', 'ICE gathering for the recording upload did not complete in time')): Promise<void> {
  if (pc.iceGatheringState === 'complete') return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { pc.removeEventListener('icegatheringstatechange', check); signal.removeEventListener('abort', abort) }
    const check = (): void => { if (pc.iceGatheringState === 'complete') { done(); resolve() } }
    const abort = (): void => { done(); reject(late()) }
    pc.addEventListener('icegatheringstatechange', check)
    signal.addEventListener('abort', abort, { once: true })
  })
}
