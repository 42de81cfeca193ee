import { SafeEventEmitter } from '@auralink/core'
import { CallMachine } from './call-machine.js'
import { CallLink } from './call-link.js'
import { ChatLog, chatMessage, checkChat } from './chat-log.js'
import { AIC_LOAD_WAIT_MS, GLARE_WAIT_MS, MAX_REASON_CHARS } from './constants.js'
import { CallEndedError, InvalidStateError, TransferAbortedError } from './errors.js'
import { describeFile, FileTransfer, sendFileVia } from './file-transfer.js'
import { AicSession } from './aic-session.js'
import { CallImages } from './call-images.js'
import type { SharedImage } from './call-images.js'
import { checkAicMode } from './aic-wire.js'
import { MediaSession } from './media-session.js'
import { collectStats } from './stats.js'
import { senderParams } from './sender-params.js'
import { CallTimeline } from './call-timeline.js'
import { CallRecorder } from './recording.js'
import { checkCamera } from './user-media.js'
import type { RecordingChange, RecordingComponents, StartRecordingOptions, StartStreamOptions } from './recording.js'
import type { EarlyMedia } from './early-media.js'
import type { MediaSessionEvents } from './media-session.js'
import type { AicStats } from './aic-session.js'
import type { AicRuntime } from './aic-runtime.js'
import type { AicMode } from './aic-wire.js'
import type { CallEndReason, CallRole, CallState, Effect, GroupStateMessage, MediaRequest, MediaSignal } from './call-machine.js'
import type { FileInput } from './file-transfer.js'
import type { FileRefusal } from './file-receiver.js'
import type { ClientImages, ImageFailure, ImageInput, ReceivedImage, SendImageOptions, SentImage } from './images.js'
import type { CallStats } from './stats.js'
import type { SignalChannel } from './signal-channel.js'
import type { SignalMessage, SignalMessageFields } from '@auralink/protocol'
import type { ConnectionPath, MeshConnection, MeshDialOptions } from '@auralink/mesh'
import type { GroupCall } from './group-call.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** The payload of a call's `state` event, and of `whenEnded()`. */
export interface CallStateChange {
  /** The new state. */
  state: CallState
  /** Set when state is 'ended'. */
  reason?: CallEndReason
  /** The other side's words (reject(reason)) or what went wrong, when state is 'ended'. */
  message?: string
}

/** The events of a Call, by name (`call.addEventListener('state', ...)`). */
export interface CallEvents {
  /** The call's state changed. */
  state: CustomEvent<CallStateChange>
  /** A remote audio or video track arrived. */
  track: CustomEvent<{ track: MediaStreamTrack, stream: MediaStream }>
  /** A chat message from the other side. */
  message: CustomEvent<{ text?: string, data?: Uint8Array }>
  /** A file is arriving: its `progress`, its `done`; over `files.maxInMemoryBytes` (16 MiB) it needs `transfer.receiveTo(sink)`, here. */
  file: CustomEvent<{ transfer: FileTransfer }>
  /** An incoming file stream from this call's peer was refused (too many at once, too large, a bad header). */
  'file:refused': CustomEvent<FileRefusal>
  /** A still from the other side (its `sendImage()`), decoded: the picture, its codec and its bytes (docs/images.md). */
  image: CustomEvent<ReceivedImage>
  /** A still from the other side arrived and could not be shown (a codec this side lacks, corrupt, too large): why, and its bytes. */
  'image:failed': CustomEvent<ImageFailure>
  /** AIC's state changed (negotiated, a scale switch, a fallback): the same object as `stats().aic`. */
  aic: CustomEvent<AicStats>
  /**
   * A recording's state changed (docs/recording.md): 'asked' when the other side asks to record
   * the call (answer with `acceptRecording()` or `refuseRecording()`; show it to the user), then
   * 'starting', 'recording' (the relay writes this side's media: show an indicator), 'stopped',
   * 'refused' or 'failed'. The same object as `call.recording`.
   */
  recording: CustomEvent<RecordingChange>
  /**
   * A stream out's state changed (docs/recording.md "RTMP out"): 'asked' when the other side asks
   * to stream the call to an RTMP URL (answer with `acceptStream()` or `refuseStream()`; show the
   * URL's host to the user), then 'starting', 'live' (the RTMP server takes it: show an
   * indicator), 'reconnecting' (the server dropped it; the relay connects again), 'stopped',
   * 'refused' or 'failed'. The same object as `call.streaming`.
   */
  stream: CustomEvent<RecordingChange>
  /**
   * This 1:1 call became a group call (docs/group-calls.md "From a 1:1 call"): this side called
   * `invite()`, or the other side did and its room admits both of you. The call goes on as the
   * group's pair with that participant; the group's own events tell who else joins.
   */
  group: CustomEvent<{ group: GroupCall }>
  /** @internal a group call's state from the other side (GroupCall merges it) */
  groupstate: CustomEvent<GroupStateMessage>
}

/** Media to send: flags, and for audio or video the stream to send (the client gets one from getUserMedia when absent). */
export interface CallMediaOptions {
  audio?: boolean
  video?: boolean
  /** Messages and files. @default true */
  data?: boolean
  /** The local stream to send. */
  stream?: MediaStream
  /**
   * What getUserMedia is asked of the camera when the SDK takes it (no `stream`): its size and
   * frame rate, as in `{ width: 320, height: 240, frameRate: 15 }`. A group call of five or six on
   * a slow machine sends one encoding per pair (docs/group-calls.md): a smaller camera is what
   * keeps it going. @default the browser's default camera settings
   */
  camera?: MediaTrackConstraints
  /** AIC for this call's video (docs/aic.md "AIC in calls"). @default the client's `aic.mode` ('adaptive') */
  aic?: AicMode
}

/** @internal what a Call needs from the client that made it */
export interface CallComponents {
  log: Logger
  iceServers: RTCIceServer[]
  heartbeat: { intervalMs: number, reconnectingAfterMs: number, vanishedAfterMs: number }
  /** How long a call may stay 'reconnecting'. */
  reconnect: { timeoutMs: number }
  /** Dials the peer again (the mesh's dial) when the call's connection broke. */
  dial(peer: PeerId, options: MeshDialOptions): Promise<MeshConnection>
  ringTimeoutMs: number
  /** Gets the local stream for accept() (getUserMedia in browsers). */
  getMedia(media: MediaRequest, signal?: AbortSignal, camera?: MediaTrackConstraints): Promise<MediaStream | undefined>
  /** The call ended: the client forgets it. */
  forget(call: Call): void
  aic: {
    mode: AicMode
    capabilityTimeoutMs: number
    tickMs: number
    /** The client's AIC runtime, loaded on first use. */
    runtime(): Promise<AicRuntime>
    /** Whether the runtime has loaded (an earlier call loaded it). */
    loaded(): boolean
  }
  /** What recording needs: the key that signs consents, the client's relays, streams to a relay. */
  recording: RecordingComponents
  /** The client's still-image codecs (call.sendImage()). */
  images: ClientImages
  /** Group calls made from 1:1 calls (docs/group-calls.md "From a 1:1 call"). */
  groups: {
    /** Makes a room with this call's two sides in it, this side its creator; the call becomes its first pair. */
    upgrade(call: Call): Promise<GroupCall>
    /** The other side sent a room's state on this 1:1 call: the room it made of the call, when it admits both sides. */
    adopt(call: Call, state: GroupStateMessage): Promise<GroupCall | undefined>
  }
}

/**
 * One call with one peer: state, remote tracks, messages and files, stats. Made by
 * `client.call()` (outgoing) or handed to the `incoming` listener (ringing, until `accept()` or
 * `reject()`).
 */
export class Call extends SafeEventEmitter<CallEvents> {
  // A FileCall (IncomingFiles hands it files) by its shape: an `implements` clause would name
  // an interface that the published types leave out (stripInternal).
  /** The other side's AuraID, when known (always for outgoing calls; for incoming ones when it proved its name). */
  readonly remoteAuraId: string | undefined
  readonly remotePeer: PeerId
  readonly direction: 'outgoing' | 'incoming'
  /** What the caller asked for. */
  readonly requested: MediaRequest
  /** The local stream sent on this call, if any. */
  localStream: MediaStream | undefined
  /** The remote stream, once a track arrived. */
  remoteStream: MediaStream | undefined

  private machine: CallMachine
  /** The call stream, its connection, and their heartbeat, re-dial, resume and upgrade (call-link.ts). */
  private readonly link: CallLink
  private media: MediaSession | undefined
  private aic: AicSession | undefined
  private aicMode: AicMode
  private readonly c: CallComponents
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private endInfo: CallStateChange | undefined
  private readonly transfers = new Set<FileTransfer>()
  private fileSeq = 0
  /** Still images both ways (sendImage(), the `image` event). */
  private readonly images: CallImages
  private glareWait: ReturnType<typeof setTimeout> | undefined
  /** The caller's media session made before the invite (its offer went in it), until the accept hands it over. */
  private early: EarlyMedia | undefined
  /** The caller's offer that came in the invite (callee), applied at accept(). */
  private remoteOffer: string | undefined
  private readonly timeline: CallTimeline
  /** Resolves once the media connection is up (or the call ended): see mediaUp(). */
  private readonly mediaConnected: { promise: Promise<void>, resolve: () => void }
  // reconnecting (packages/sdk/README.md "Reconnecting"): chat messages held and sent again across a break
  private readonly chat = new ChatLog()
  private readonly recorder: CallRecorder
  private readonly streamer: CallRecorder
  /** The group call this call is a pair of, once it is one. */
  private group_: GroupCall | undefined
  /** A group call's share of the uplink for this pair's video, if one was set. */
  private videoBudget: number | undefined
  /** A 1:1 call being made a group call (invite(), or the other side's room being checked). */
  private grouping: Promise<GroupCall | undefined> | undefined

  /** @internal */
  constructor (init: {
    role: CallRole, callId: string, requested: MediaRequest, channel: SignalChannel, conn: MeshConnection,
    remoteAuraId?: string, localStream?: MediaStream, aic?: AicMode,
    /** Caller: the media session whose offer went in the invite. */
    early?: EarlyMedia
    /** Callee: the offer the invite carried. */
    remoteOffer?: string
    /** The setup steps so far (from call(), or the invite's arrival). */
    timeline?: CallTimeline
  }, components: CallComponents) {
    super()
    this.c = components
    this.aicMode = init.aic ?? components.aic.mode
    this.direction = init.role === 'caller' ? 'outgoing' : 'incoming'
    this.requested = init.requested
    this.remoteAuraId = init.remoteAuraId
    this.remotePeer = init.conn.remotePeer
    this.localStream = init.localStream
    this.machine = new CallMachine(init.role, init.callId, init.requested)
    this.early = init.early
    if (init.early !== undefined) this.machine.invitedWithOffer()
    this.remoteOffer = init.remoteOffer
    let resolveConnected = (): void => {}
    this.mediaConnected = { promise: new Promise<void>((resolve) => { resolveConnected = resolve }), resolve: resolveConnected }
    this.timeline = init.timeline ?? new CallTimeline()
    this.timeline.attach(init.callId, components.log)
    this.link = new CallLink(init.channel, init.conn, {
      log: components.log,
      heartbeat: components.heartbeat,
      reconnect: components.reconnect,
      dial: components.dial,
      remotePeer: this.remotePeer,
      chat: this.chat,
      machine: () => this.machine,
      media: () => this.media,
      ended: () => this.endInfo !== undefined,
      glareWaiting: () => this.glareWait !== undefined,
      who: () => this.who,
      message: (msg) => { this.onMessage(msg) },
      later: (fn, ms) => { this.later(fn, ms) },
      fail: (reason, message) => { this.fail(reason, message) },
      hangupWith: (reason, message) => { this.hangupWith(reason, message) },
      emitState: () => { this.emitState() }
    })
    if (init.role === 'caller') {
      this.later(() => {
        if (!this.machine.accepted && this.state !== 'ended') this.hangupWith('timeout', `${this.who} did not answer within ${Math.round(components.ringTimeoutMs / 1000)} s`)
      }, components.ringTimeoutMs)
    }
    const recordingCall = (event: 'recording' | 'stream'): ConstructorParameters<typeof CallRecorder>[1] => ({
      log: components.log,
      id: init.callId,
      remote: this.remotePeer,
      send: async (fields) => { await this.channel.send({ callId: this.id, ...fields }) },
      localStream: () => this.localStream,
      changed: (change) => { this.safeDispatchEvent(event, { detail: change }) }
    })
    this.images = new CallImages({
      log: components.log,
      images: components.images,
      callId: init.callId,
      who: this.who,
      conn: () => this.conn,
      sendCodecs: async (codecs) => { if (this.state !== 'ended') await this.channel.send({ callId: this.id, imageCodecs: { codecs } }) },
      track: (transfer) => { this.track(transfer) },
      nextFileId: () => `${this.id.slice(0, 8)}-${++this.fileSeq}`,
      received: (image) => { this.safeDispatchEvent('image', { detail: image }) },
      failed: (failure) => { this.safeDispatchEvent('image:failed', { detail: failure }) },
      ended: this.whenEnded().then(() => this.endedError())
    })
    this.recorder = new CallRecorder(components.recording, recordingCall('recording'))
    this.streamer = new CallRecorder(components.recording, recordingCall('stream'), 'stream')
    this.link.start()
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.c.log.error('a %s listener threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /** The call's id, the same on both sides. */
  get id (): string { return this.machine.callId }
  /** @internal an outgoing call not answered yet, or one that lost a glare tie-break and waits for the winner's invite */
  get awaitingAnswer (): boolean {
    return this.direction === 'outgoing' && !this.machine.accepted && (this.machine.state === 'connecting' || this.glareWait !== undefined)
  }

  /** True once the callee accepted. */
  get accepted (): boolean { return this.machine.accepted }
  /** Where the call is now; each change is a `state` event. */
  get state (): CallState { return this.machine.state }
  /** Why the call ended, once it has. */
  get ended (): CallStateChange | undefined { return this.endInfo }
  /** Which path the call's connection took: 'direct' (WebRTC between the peers), 'relayed' (a relay's circuit) or 'turn' (WebRTC through a TURN server). */
  get path (): ConnectionPath { return this.conn.path }
  private get who (): string { return this.remoteAuraId ?? this.remotePeer.toString() }
  /** The call stream now (a reconnect or a glare moves the call to another). */
  private get channel (): SignalChannel { return this.link.channel }
  /** The connection the call stream runs on now. */
  private get conn (): MeshConnection { return this.link.conn }

  /** Resolves once the call is connected; rejects with CallEndedError if it ends first. */
  async whenConnected (options: AbortOptions = {}): Promise<void> {
    if (this.state === 'connected') return
    if (this.endInfo !== undefined) throw this.endedError()
    await new Promise<void>((resolve, reject) => {
      const onState = (evt: CustomEvent<CallStateChange>): void => {
        if (evt.detail.state === 'connected') { done(); resolve() }
        if (evt.detail.state === 'ended') { done(); reject(this.endedError()) }
      }
      const onAbort = (): void => { done(); reject(options.signal?.reason as Error) }
      const done = (): void => {
        this.removeEventListener('state', onState)
        options.signal?.removeEventListener('abort', onAbort)
      }
      this.addEventListener('state', onState)
      options.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Resolves with why the call ended, once it has. */
  async whenEnded (): Promise<CallStateChange> {
    if (this.endInfo !== undefined) return this.endInfo
    return new Promise((resolve) => {
      const onState = (evt: CustomEvent<CallStateChange>): void => {
        if (evt.detail.state === 'ended') { this.removeEventListener('state', onState); resolve(evt.detail) }
      }
      this.addEventListener('state', onState)
    })
  }

  /**
   * Answers a ringing incoming call. Audio and video default to what the caller asked for; the
   * stream comes from `media.stream` or, in browsers, getUserMedia (MediaAccessDeniedError when refused).
   */
  async accept (media: CallMediaOptions = {}, options: AbortOptions = {}): Promise<void> {
    if (this.direction !== 'incoming') throw new InvalidStateError('accept() is for incoming calls')
    if (this.state !== 'ringing') throw new InvalidStateError(`cannot accept a call that is ${this.state}`)
    if (media.aic !== undefined) this.aicMode = checkAicMode(media.aic, 'accept(media): media.aic')
    const wanted: MediaRequest = {
      audio: media.audio ?? this.requested.audio,
      video: media.video ?? this.requested.video,
      data: media.data ?? true
    }
    let stream = media.stream
    if (stream === undefined && (wanted.audio || wanted.video)) {
      try {
        stream = await this.c.getMedia(wanted, options.signal, checkCamera(media, 'accept(media)'))
      } catch (err) {
        // the caller hears that we could not take the call with the media it wanted
        this.hangupWith('media-failed', (err as Error).message)
        throw err
      }
    }
    if (this.state !== 'ringing') throw new InvalidStateError(`cannot accept a call that is ${this.state}`)
    this.localStream = stream
    this.timeline.mark('media')
    // the invite's offer is answered at once (afterAccepted); the caller hears so with the accept
    await this.channel.send(this.machine.accept(wanted, this.remoteOffer !== undefined))
    this.timeline.mark('accepted')
    this.afterAccepted()
  }

  /** Declines a ringing incoming call; the caller's call ends with reason 'rejected' and this text. */
  async reject (reason = ''): Promise<void> {
    if (this.direction !== 'incoming') throw new InvalidStateError('reject() is for incoming calls')
    if (typeof reason !== 'string') throw new TypeError(`reject(reason): reason must be a string, got ${typeof reason}`)
    const msg = this.machine.reject(reason.slice(0, MAX_REASON_CHARS))
    await this.channel.send(msg).catch(() => {})
    this.finish({ state: 'ended', reason: 'rejected', message: reason })
  }

  /** Ends the call; the other side's ends with 'remote-hangup'. Idempotent. */
  async hangup (): Promise<void> {
    this.hangupWith('hangup', '')
    await this.channel.close()
  }

  /**
   * Sends a chat message (text, or bytes), at most 64 KiB. Resolves once written to the call
   * stream, or at once while the call is 'reconnecting': each message is numbered and sent again
   * after a reconnect until the other side has it, and delivered there once (README "Reconnecting").
   */
  async send (message: string | Uint8Array): Promise<void> {
    this.assertLive('send()')
    const entry = this.chat.add(checkChat(message))
    // while reconnecting it waits, and goes (with any the other side has not acknowledged) once resumed
    if (this.link.down) return
    await this.channel.send(chatMessage(this.id, entry)).catch((err: Error) => {
      this.c.log('call %s: chat message %d not written (%s); it is sent again after the reconnect', this.id, entry.seq, err.message)
    })
  }

  /**
   * Sends a file on its own stream (its name sanitised as the receiver will). The transfer emits `progress`; `done` resolves once
   * the receiver confirmed the checksum, and rejects with TransferAbortedError when the call ends or `options.signal` aborts first.
   */
  sendFile (file: FileInput, options: AbortOptions = {}): FileTransfer {
    this.assertLive('sendFile()')
    const { name, size, mimeType } = describeFile(file)
    const transfer = new FileTransfer({ id: `${this.id.slice(0, 8)}-${++this.fileSeq}`, direction: 'send', name, size, mimeType, log: this.c.log })
    this.track(transfer)
    sendFileVia(this.conn, this.id, file, transfer, options)
    return transfer
  }

  /**
   * Sends a still picture (docs/images.md): coded with tool 2, the learned image codec, when the
   * other side has the same model, else WebP, else JPEG (whichever the other side said it decodes
   * and this side writes), on a file stream; the other side gets an `image` event with the
   * decoded picture. Resolves once the other side has the bytes. `quality` 0 to 1 (default 0.5);
   * a picture with a side over `maxSide` (1920) is scaled down first. Rejects with
   * ImageFailedError ('unsupported': no codec both sides have), TypeError or RangeError for bad
   * input, FileTransferError or TransferAbortedError as sendFile()'s `done` does.
   */
  async sendImage (image: ImageInput, options: SendImageOptions = {}): Promise<SentImage> {
    this.assertLive('sendImage()')
    return this.images.send(image, options)
  }

  /** @internal sendImage() of one picture to several calls (GroupCall.sendImage()): pixels and each codec's bytes made once */
  async sendSharedImage (image: ImageInput, options: SendImageOptions, shared: SharedImage): Promise<SentImage> {
    this.assertLive('sendImage()')
    return this.images.send(image, options, shared)
  }

  /** A transfer of this call: aborted if the call ends first, forgotten when done. */
  private track (transfer: FileTransfer): void {
    this.transfers.add(transfer)
    void transfer.done.finally(() => this.transfers.delete(transfer)).catch(() => {})
  }

  /** Adds a local track (screen share, a camera added later) and renegotiates. Media calls only. */
  addTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.assertLive('addTrack()')
    if (this.media === undefined) throw new InvalidStateError('addTrack(): this call has no media session (it was made or accepted without audio and video)')
    this.media.addTrack(track, stream)
  }

  /** Removes a local track and renegotiates. */
  removeTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.assertLive('removeTrack()')
    if (this.media === undefined) throw new InvalidStateError('removeTrack(): this call has no media session')
    this.media.removeTrack(track, stream)
  }

  /**
   * Changes AIC's mode for the video this side sends, mid-call: 'off' goes back to full size at
   * the controller's next update (about a second); another mode retunes it. A call without video
   * has no AIC (InvalidStateError).
   */
  setAicMode (mode: AicMode): void {
    this.assertLive('setAicMode()')
    const checked = checkAicMode(mode, 'setAicMode(mode)')
    if (this.aic === undefined) throw new InvalidStateError('setAicMode(): this call has no video, so no AIC')
    this.aicMode = checked
    this.aic.setMode(checked)
  }

  /** The recording now (or the last one of this call): its id, state, relay; undefined when none was asked for. */
  get recording (): RecordingChange | undefined {
    return this.recorder.status
  }

  /**
   * Asks the other side to record the call at a relay running `--recording` (`options.relay`, or
   * this client's best relay), with this side's signed consent. Once it agrees (its app calls
   * `acceptRecording()`), each side uploads its own audio and video to the relay, which makes one
   * file of both. Resolves once the relay writes this side's media (state 'recording'). Rejects
   * with RecordingRefusedError when the other side refuses (nothing is recorded),
   * RecordingFailedError when the relay refuses or cannot be reached, no answer comes within
   * `answerTimeoutMs`, or the other side's consent is not valid; InvalidStateError when a
   * recording is under way or this side sends no audio or video.
   */
  async startRecording (options: StartRecordingOptions = {}): Promise<RecordingChange> {
    this.assertLive('startRecording()')
    return this.recorder.start(options)
  }

  /**
   * Agrees to record the call, as the other side asked (`recording` event, state 'asked'): signs
   * this side's consent and uploads this side's media. Resolves once the relay writes it.
   */
  async acceptRecording (options: AbortOptions = {}): Promise<RecordingChange> {
    this.assertLive('acceptRecording()')
    return this.recorder.accept(options)
  }

  /** Refuses to be recorded, as the other side asked: nothing is recorded; its `startRecording()` rejects with RecordingRefusedError and these words. */
  async refuseRecording (reason = ''): Promise<void> {
    this.assertLive('refuseRecording()')
    await this.recorder.refuse(reason)
  }

  /** Stops the recording (both sides' uploads end; the relay then makes the file), or withdraws an ask. Does nothing when none runs. */
  async stopRecording (reason = 'stopped'): Promise<void> {
    if (typeof reason !== 'string') throw new TypeError(`stopRecording(reason): reason must be a string, got ${typeof reason}`)
    await this.recorder.stop(reason)
  }

  /** The stream out now (or the last one of this call): its id, URL, state, relay; undefined when none was asked for. */
  get streaming (): RecordingChange | undefined {
    return this.streamer.status
  }

  /**
   * Asks the other side to stream the call out over RTMP (`options.url`) through a relay running
   * `--recording` that lists the URL's host (`--stream-host`), with this side's signed consent to
   * that URL. Once it agrees (`acceptStream()`), each side uploads its own audio and video to the
   * relay, which puts both pictures side by side, mixes the audio and pushes H.264 + AAC to the
   * URL, reconnecting when the RTMP server drops it. Resolves once the RTMP server takes the
   * stream (state 'live'). Rejects as startRecording() does; TypeError for a URL that is not
   * rtmp:// or rtmps://.
   */
  async startStream (options: StartStreamOptions): Promise<RecordingChange> {
    this.assertLive('startStream()')
    if (options === null || typeof options !== 'object') throw new TypeError(`startStream(options): options must be an object with a url, got ${String(options)}`)
    return this.streamer.start(options)
  }

  /** Agrees to stream the call to the URL the other side asked for (`stream` event, state 'asked', its `url`). Resolves once the stream is live. */
  async acceptStream (options: AbortOptions = {}): Promise<RecordingChange> {
    this.assertLive('acceptStream()')
    return this.streamer.accept(options)
  }

  /** Refuses to be streamed, as the other side asked: nothing is streamed; its `startStream()` rejects with RecordingRefusedError and these words. */
  async refuseStream (reason = ''): Promise<void> {
    this.assertLive('refuseStream()')
    await this.streamer.refuse(reason)
  }

  /** Stops the stream out (both sides' uploads end; the relay ends the push), or withdraws an ask. Does nothing when none runs. */
  async stopStream (reason = 'stopped'): Promise<void> {
    if (typeof reason !== 'string') throw new TypeError(`stopStream(reason): reason must be a string, got ${typeof reason}`)
    await this.streamer.stop(reason)
  }

  /** The call's figures now: path, RTT, bitrates, losses, codecs. */
  async stats (): Promise<CallStats> {
    const stats = await collectStats({
      path: this.conn.path,
      pc: this.media?.pc,
      rttMs: this.link.rttMs,
      bytesIn: this.channel.bytesIn,
      bytesOut: this.channel.bytesOut,
      reconnects: this.link.reconnects
    }, this, this.aic?.stats())
    return { ...stats, setup: this.timeline.get() }
  }

  // ---- internals ----

  /** @internal a message from the call stream */
  private onMessage (msg: SignalMessage): void {
    this.link.noteHeard()
    const effect: Effect = this.machine.receive(msg)
    switch (effect.type) {
      case 'ignore':
        this.c.log('call %s: ignoring a message: %s', this.id, effect.reason)
        return
      case 'accepted':
        this.timeline.mark('accepted')
        this.afterAccepted(effect.offerTaken === true)
        return
      case 'ended':
        if (effect.reason === 'glare' && this.direction === 'outgoing' && this.glareWait === undefined) {
          // the other side's invite won the tie-break and is on its way: wait for it (adopt())
          this.c.log('call %s lost a glare tie-break; waiting for the winner\'s invite', this.id)
          this.glareWait = setTimeout(() => { this.finish({ state: 'ended', reason: 'glare', message: 'both sides called at once and the other call never arrived' }) }, GLARE_WAIT_MS)
          return
        }
        this.finish({ state: 'ended', reason: effect.reason, ...(effect.message !== '' ? { message: effect.message } : {}) })
        return
      case 'media-signal':
        this.media?.signal(effect.signal)
        return
      case 'chat': {
        const ok = this.chat.accept(effect.seq)
        if (ok !== true) { this.c.log('call %s: dropping a chat message: %s', this.id, ok); return }
        this.safeDispatchEvent('message', { detail: effect.data !== undefined ? { data: effect.data } : { text: effect.text ?? '' } })
        return
      }
      case 'reply':
        if (effect.ack !== undefined) this.chat.acked(effect.ack)
        void this.channel.send(effect.message).catch(() => {})
        return
      case 'resumed':
        this.link.resumeReceived(effect.chatReceived)
        return
      case 'aic':
        this.aic?.onSignal(effect.message)
        return
      case 'recording': {
        // an ask names its kind (a stream has its URL); answers and stops go to whichever holds that id
        const m = effect.message
        const toStream = m.type === 'ask' ? m.streamUrl !== '' : this.streamer.status?.id === m.recordingId
        ;(toStream ? this.streamer : this.recorder).onSignal(m)
        return
      }
      case 'pong':
        this.link.pong(effect.nonce)
        return
      case 'group':
        this.onGroupState(effect.state)
        return
      case 'images':
        this.images.onCodecs(effect.codecs)
    }
  }

  /** The group call this call is a pair of (docs/group-calls.md), once it is one. */
  get group (): GroupCall | undefined { return this.group_ }

  /** @internal the group call's share of the uplink for this pair's video, if one was set */
  get videoBudgetBps (): number | undefined { return this.videoBudget }

  /** @internal a group call's share of the uplink for this pair's video (docs/group-calls.md "Bitrate per pair"); undefined: none */
  setVideoBudget (bps: number | undefined): void {
    if (bps === this.videoBudget) return
    this.videoBudget = bps
    this.applyVideoBudget()
  }

  /** The budget goes to the video sender's one writer (AIC's decisions go there too), once there is a sender. */
  private applyVideoBudget (): void {
    const sender = this.media?.pc.getSenders().find((s) => s.track?.kind === 'video')
    if (sender === undefined || this.state === 'ended') return
    senderParams(sender, this.c.log).setBudget(this.videoBudget).catch((err: Error) => {
      this.c.log('call %s: the video budget could not be set: %s', this.id, err.message)
    })
  }

  /**
   * Invites `name` (`@carol.aura`) into this call. A 1:1 call becomes a group call first
   * (docs/group-calls.md "From a 1:1 call"): a room with both of you in it, this side its
   * creator; the other side's call gets a `group` event, and this call goes on as the group's
   * pair with it. Resolves with the GroupCall once the invite is delivered (`name`'s device rings).
   */
  async invite (name: string, options: AbortOptions = {}): Promise<GroupCall> {
    if (this.group_ === undefined) {
      if (this.state !== 'connected') throw new InvalidStateError(`invite(): the call is ${this.state}; a 1:1 call becomes a group call once connected`)
      // the other side may be making it one too: whichever room lands first is the call's
      this.grouping ??= this.c.groups.upgrade(this).catch((err: Error) => { this.grouping = undefined; throw err })
      await this.grouping
    }
    const group = this.group_
    if (group === undefined) throw new InvalidStateError('invite(): the call could not become a group call')
    await group.invite(name, options)
    return group
  }

  /** @internal this call is a pair of `group` (GroupCall.attach); `upgraded`: a 1:1 call that became one, told to the app */
  joinGroup (group: GroupCall, upgraded: boolean): void {
    this.group_ = group
    if (upgraded) this.safeDispatchEvent('group', { detail: { group } })
  }

  /** A room's state from the other side: for a group pair, the group merges it; a 1:1 call may become one. */
  private onGroupState (state: GroupStateMessage): void {
    if (this.group_ !== undefined) { this.safeDispatchEvent('groupstate', { detail: state }); return }
    if (this.grouping === undefined) {
      if (this.state !== 'connected' && this.state !== 'reconnecting') return
      // the group, once made, has merged this state itself
      this.grouping = this.c.groups.adopt(this, state).catch((err: Error) => {
        this.c.log('call %s: the other side\'s room could not be read: %s', this.id, err.message)
        return undefined
      }).then((g) => { if (g === undefined) this.grouping = undefined; return g })
      return
    }
    // a state that came while the call was becoming a group call: merged after
    void this.grouping.then(() => { if (this.group_ !== undefined) this.safeDispatchEvent('groupstate', { detail: state }) })
  }

  /** @internal sends a group call's state (its signed ops) to the other side */
  async sendGroupState (state: GroupStateMessage): Promise<void> {
    if (this.state === 'ended') return
    await this.channel.send({ callId: this.id, groupState: state })
  }

  /** The call was accepted: the media session starts (or, made before the invite, is handed over); `offerTaken`: the callee took the invite's offer. */
  private afterAccepted (offerTaken = false): void {
    this.images.announce()
    if (this.machine.media) {
      try {
        const video = this.requested.video || (this.localStream?.getVideoTracks().length ?? 0) > 0
        if (video) {
          this.aic = new AicSession(this.aicMode, {
            log: this.c.log,
            send: (fields) => { if (this.state !== 'ended') void this.channel.send({ callId: this.id, ...fields }).catch(() => {}) },
            // loading the runtime (ONNX, the enhancers: the client's first video call) takes CPU
            // that the call's own setup needs (negotiation, ICE, the first frames): it waits until
            // the media connection is up. Once loaded it is there at once, as before, so that the
            // sender's parameters are set before the first frame is encoded
            runtime: async () => {
              if (!this.c.aic.loaded()) await this.mediaUp(AIC_LOAD_WAIT_MS)
              return this.c.aic.runtime()
            },
            changed: (stats) => { this.safeDispatchEvent('aic', { detail: stats }) },
            capabilityTimeoutMs: this.c.aic.capabilityTimeoutMs,
            tickMs: this.c.aic.tickMs
          })
        }
        const events: MediaSessionEvents = {
          signal: (s: MediaSignal) => {
            let msg: SignalMessageFields
            try {
              msg = this.machine.send(s)
            } catch (err) {
              this.c.log('call %s: not sending a %s signal: %s', this.id, s.type, (err as Error).message)
              return
            }
            void this.channel.send(msg).catch(() => {})
          },
          connected: () => {
            this.timeline.mark('connected')
            this.mediaConnected.resolve()
            if (this.videoBudget !== undefined) this.applyVideoBudget()
            if (this.machine.connected()) this.emitState()
            this.link.mediaConnected()
          },
          track: (track, stream) => {
            this.timeline.mark('track')
            const receiver = this.media?.pc.getReceivers().find((r) => r.track === track)
            const shown = this.aic !== undefined ? this.aic.wrapTrack(track, stream, receiver) : { track, stream }
            this.remoteStream = shown.stream
            this.safeDispatchEvent('track', { detail: shown })
          },
          failed: (err) => { this.fail('media-failed', err.message) },
          interrupted: (down) => { this.link.mediaInterrupted(down) }
        }
        const early = this.early
        this.early = undefined
        const senderWorker = early?.takeSenderWorker()
        this.media = early !== undefined
          ? early.handOver(events, offerTaken)
          : new MediaSession({
            initiator: this.machine.role === 'caller',
            iceServers: this.c.iceServers,
            ...(this.localStream !== undefined ? { stream: this.localStream } : {}),
            log: this.c.log
          }, events)
        this.timeline.watchSetup(this.media.pc)
        this.aic?.start(this.media.pc, senderWorker)
        const offer = this.remoteOffer
        this.remoteOffer = undefined
        if (offer !== undefined) this.media.signal({ type: 'offer', sdp: offer })
      } catch (err) {
        this.fail('media-failed', (err as Error).message)
      }
    } else {
      this.early?.stop()
      this.early = undefined
      if (this.machine.connected()) {
        this.timeline.mark('connected')
        this.emitState()
      }
    }
  }

  /** Resolves once the media connection is up, the call ended, or `maxWaitMs` passed. */
  private async mediaUp (maxWaitMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.mediaConnected.promise, new Promise<void>((resolve) => { timer = setTimeout(resolve, maxWaitMs) })])
    clearTimeout(timer)
  }

  /**
   * @internal Glare: this outgoing call is carried on by the winner's incoming call: same Call
   * object, the winner's id, stream and connection; we accept it at once.
   */
  async adopt (callId: string, channel: SignalChannel, conn: MeshConnection, remoteOffer?: string): Promise<void> {
    const old = this.channel
    clearTimeout(this.glareWait)
    this.glareWait = undefined
    // our own offer lost with our invite: the winner's offer (if its invite carried one) is answered instead
    this.early?.stop()
    this.early = undefined
    const offerTaken = remoteOffer !== undefined && (this.requested.audio || this.requested.video)
    this.remoteOffer = offerTaken ? remoteOffer : undefined
    this.machine = new CallMachine('callee', callId, this.requested)
    this.link.replace(channel, conn)
    void old.close().catch(() => {})
    this.c.log('call %s: glare with %s, carried on as its call', callId, this.who)
    await this.channel.send(this.machine.accept(this.requested, offerTaken))
    this.afterAccepted()
  }

  /**
   * @internal The callee: the caller carried this call on over a new call stream (a Resume was its
   * first message, with what the caller has of our chat messages). Answers with our own Resume.
   */
  async resumeFrom (channel: SignalChannel, conn: MeshConnection, chatReceived: number): Promise<void> {
    if (this.endInfo !== undefined || !this.machine.accepted || this.machine.role !== 'callee') {
      channel.abort(new InvalidStateError(`call ${this.id} cannot be resumed (${this.state})`))
      return
    }
    await this.link.resumeFrom(channel, conn, chatReceived)
  }

  private hangupWith (reason: CallEndReason, message: string): void {
    const msg = this.machine.hangup(reason, message)
    if (msg !== undefined) void this.channel.send(msg).catch(() => {}).finally(() => { void this.channel.close() })
    this.finish({ state: 'ended', reason, ...(message !== '' ? { message } : {}) })
  }

  /** Ends the call for a local reason and tells the other side when the stream still works. */
  private fail (reason: CallEndReason, message: string): void {
    // a call that lost a glare tie-break waits for the winner's invite, whatever its old stream does
    if (this.endInfo !== undefined || this.glareWait !== undefined) return
    this.hangupWith(reason, message)
  }

  private finish (change: CallStateChange): void {
    if (this.endInfo !== undefined) return
    this.machine.end(change.reason ?? 'error')
    this.endInfo = change
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    clearTimeout(this.glareWait)
    this.mediaConnected.resolve()
    this.aic?.stop()
    this.recorder.close()
    this.streamer.close()
    this.early?.stop()
    this.media?.stop()
    // its timers, the stream and connection a move left behind, and the call stream
    this.link.stop()
    // in and out: streams reset, promises rejected, partial data dropped
    for (const t of this.transfers) t.abort(new TransferAbortedError(change.reason ?? 'error', `the call ended (${change.reason ?? 'error'}) before ${t.name} was through`))
    this.c.forget(this)
    this.c.log('call %s with %s ended: %s %s', this.id, this.who, change.reason, change.message ?? '')
    this.safeDispatchEvent('state', { detail: change })
  }

  private emitState (): void {
    this.safeDispatchEvent('state', { detail: { state: this.state } })
  }

  private later (fn: () => void, ms: number): void {
    const t = setTimeout(() => { this.timers.delete(t); fn() }, ms)
    this.timers.add(t)
  }

  private assertLive (what: string): void {
    if (this.state === 'ended') throw new InvalidStateError(`${what}: the call has ended (${this.endInfo?.reason ?? 'ended'})`)
    if (!this.machine.accepted) throw new InvalidStateError(`${what}: the call has not been accepted yet`)
  }

  private endedError (): CallEndedError {
    const info = this.endInfo
    return new CallEndedError(info?.reason ?? 'error', `the call with ${this.who} ended: ${info?.reason ?? 'error'}${info?.message !== undefined ? ` (${info.message})` : ''}`)
  }

  /** @internal the client delivers incoming file streams here */
  announceFile (transfer: FileTransfer): boolean {
    if (this.state === 'ended' || !this.machine.accepted) return false
    this.track(transfer)
    if (transfer.image) this.images.receive(transfer)
    else this.safeDispatchEvent('file', { detail: { transfer } })
    return true
  }

  /** @internal an incoming file stream from this call's peer was refused */
  fileRefused (refusal: FileRefusal): void { this.safeDispatchEvent('file:refused', { detail: refusal }) }
}
