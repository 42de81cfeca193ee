import { SafeEventEmitter } from '@auralink/core'
import { MAX_CHAT_BYTES, SIGNAL_PROTOCOL } from '@auralink/protocol'
import { CallMachine } from './call-machine.js'
import { ChatLog } from './chat-log.js'
import {
  AIC_FIRST_FRAME_WAIT_MS, AIC_LOAD_WAIT_MS, GLARE_WAIT_MS, MAX_REASON_CHARS, REDIAL_BACKOFF_MS, REDIAL_TIMEOUT_MS, RESUME_TIMEOUT_MS, STREAM_RESET_GRACE_MS, UPGRADE_INTERVAL_MS
} from './constants.js'
import { CallEndedError, InvalidStateError, PeerOfflineError, TransferAbortedError } from './errors.js'
import { describeFile, FileTransfer, sendFileVia } from './file-transfer.js'
import { AicSession } from './aic-session.js'
import { checkAicMode } from './aic-wire.js'
import { MediaSession } from './media-session.js'
import { IceRestarter } from './ice-restarter.js'
import { SignalChannel } from './signal-channel.js'
import { collectStats } from './stats.js'
import { CallTimeline } from './call-timeline.js'
import type { EarlyMedia } from './early-media.js'
import type { MediaSessionEvents } from './media-session.js'
import type { AicStats } from './aic-session.js'
import type { AicRuntime } from './aic-runtime.js'
import type { TransformWorkerSource } from './aic-transform-workers.js'
import type { AicMode } from './aic-wire.js'
import type { CallEndReason, CallRole, CallState, Effect, MediaRequest, MediaSignal } from './call-machine.js'
import type { FileInput } from './file-transfer.js'
import type { FileRefusal } from './file-receiver.js'
import type { ChatEntry } from './chat-log.js'
import type { CallStats } from './stats.js'
import type { SignalMessage, SignalMessageFields } from '@auralink/protocol'
import type { ConnectionPath, MeshConnection, MeshDialOptions } from '@auralink/mesh'
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
  /** AIC's state changed (negotiated, a scale switch, a fallback): the same object as `stats().aic`. */
  aic: CustomEvent<AicStats>
}

/** Media to send: flags, and for audio or video the stream to send (the client gets one from getUserMedia when absent). */
export interface CallMediaOptions {
  audio?: boolean
  video?: boolean
  /** Messages and files. @default true */
  data?: boolean
  /** The local stream to send. */
  stream?: MediaStream
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
  getMedia(media: MediaRequest, signal?: AbortSignal): Promise<MediaStream | undefined>
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
    /** The client's started encoded-transform workers (aic-transform-workers.ts). */
    workers: TransformWorkerSource
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
  private channel: SignalChannel
  private conn: MeshConnection
  private media: MediaSession | undefined
  private aic: AicSession | undefined
  private aicMode: AicMode
  private readonly c: CallComponents
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  private lastHeard = Date.now()
  private pingNonce = 0
  private readonly pings = new Map<number, number>()
  private rttMs: number | undefined
  private endInfo: CallStateChange | undefined
  private readonly transfers = new Set<FileTransfer>()
  private readonly onConnClose: () => void
  private fileSeq = 0
  private glareWait: ReturnType<typeof setTimeout> | undefined
  /** The caller's media session made before the invite (its offer went in it), until the accept hands it over. */
  private early: EarlyMedia | undefined
  /** The caller's offer that came in the invite (callee), applied at accept(). */
  private remoteOffer: string | undefined
  private readonly timeline: CallTimeline
  /** Resolves once the media connection is up (or the call ended): see mediaUp(). */
  private readonly mediaConnected: { promise: Promise<void>, resolve: () => void }
  // reconnecting (packages/sdk/README.md "Reconnecting")
  private readonly chat = new ChatLog()
  /** The call stream (or its connection) broke and is not carried on by a new one yet. */
  private linkDown = false
  /**
   * linkDown from silence alone (a stalled event loop looks the same), on a media call whose ICE
   * still works or on a data call: the connection is left open, and a message on it ends the break.
   */
  private suspect = false
  private redialing = false
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  /** The caller's: when ICE restarts while media is down. */
  private readonly ice: IceRestarter
  private upgradeTimer: ReturnType<typeof setTimeout> | undefined
  /** The stream and connection a move left behind, closed once the Resumes crossed. */
  private retired: { channel: SignalChannel, conn: MeshConnection } | undefined
  /** The caller's Resume on `channel` waits for the callee's. */
  private resumeWait: { channel: SignalChannel, resolve: (chatReceived: number) => void } | undefined
  private reconnects = 0

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
    this.channel = init.channel
    this.conn = init.conn
    this.onConnClose = () => { this.linkLost('the connection to the peer closed') }
    this.ice = new IceRestarter({
      media: () => this.media,
      canSignal: () => !this.linkDown,
      ended: () => this.endInfo !== undefined,
      log: components.log,
      callId: () => this.id
    })
    this.attach(init.channel, init.conn)
    if (init.role === 'caller') {
      this.later(() => {
        if (!this.machine.accepted && this.state !== 'ended') this.hangupWith('timeout', `${this.who} did not answer within ${Math.round(components.ringTimeoutMs / 1000)} s`)
      }, components.ringTimeoutMs)
    }
    this.startHeartbeat()
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
        stream = await this.c.getMedia(wanted, options.signal)
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
    let chat: { text?: string, data?: Uint8Array }
    if (typeof message === 'string') {
      if (new TextEncoder().encode(message).byteLength > MAX_CHAT_BYTES) throw new RangeError(`send(message): message is over ${MAX_CHAT_BYTES} bytes; use sendFile()`)
      chat = { text: message }
    } else if (message instanceof Uint8Array) {
      if (message.byteLength > MAX_CHAT_BYTES) throw new RangeError(`send(message): message is ${message.byteLength} bytes, over ${MAX_CHAT_BYTES}; use sendFile()`)
      chat = { data: message }
    } else {
      throw new TypeError(`send(message): message must be a string or a Uint8Array, got ${message === null ? 'null' : typeof message}`)
    }
    const entry = this.chat.add(chat)
    // while reconnecting it waits, and goes (with any the other side has not acknowledged) once resumed
    if (this.linkDown) return
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
    this.transfers.add(transfer)
    sendFileVia(this.conn, this.id, file, transfer, options)
    void transfer.done.finally(() => this.transfers.delete(transfer)).catch(() => {})
    return transfer
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

  /** The call's figures now: path, RTT, bitrates, losses, codecs. */
  async stats (): Promise<CallStats> {
    const stats = await collectStats({
      path: this.conn.path,
      pc: this.media?.pc,
      rttMs: this.rttMs,
      bytesIn: this.channel.bytesIn,
      bytesOut: this.channel.bytesOut,
      reconnects: this.reconnects
    }, this, this.aic?.stats())
    return { ...stats, setup: this.timeline.get() }
  }

  // ---- internals ----

  /** @internal a message from the call stream */
  private onMessage (msg: SignalMessage): void {
    this.lastHeard = Date.now()
    if (this.suspect && this.linkDown) this.heardAgain()
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
        if (this.resumeWait?.channel === this.channel) this.resumeWait.resolve(effect.chatReceived)
        return
      case 'aic':
        this.aic?.onSignal(effect.message)
        return
      case 'pong': {
        const sent = this.pings.get(effect.nonce)
        if (sent !== undefined) { this.rttMs = Date.now() - sent; this.pings.delete(effect.nonce) }
      }
    }
  }

  /** The call was accepted: the media session starts (or, made before the invite, is handed over); `offerTaken`: the callee took the invite's offer. */
  private afterAccepted (offerTaken = false): void {
    if (this.machine.media) {
      try {
        const video = this.requested.video || (this.localStream?.getVideoTracks().length ?? 0) > 0
        if (video) {
          this.aic = new AicSession(this.aicMode, {
            log: this.c.log,
            send: (fields) => { if (this.state !== 'ended') void this.channel.send({ callId: this.id, ...fields }).catch(() => {}) },
            // loading the runtime (ONNX, the enhancers: the client's first video call) takes CPU
            // that the call's own setup needs (negotiation, ICE, the first frames): it waits until
            // the media connection is up and the first remote frame shown (each side encodes its
            // first frames about then too). Once loaded it is there at once, as before, so that
            // the sender's parameters are set before the first frame is encoded
            runtime: async () => {
              if (!this.c.aic.loaded()) {
                await this.mediaUp(AIC_LOAD_WAIT_MS)
                await this.aic?.firstFrameShownOr(AIC_FIRST_FRAME_WAIT_MS)
              }
              return this.c.aic.runtime()
            },
            changed: (stats) => { this.safeDispatchEvent('aic', { detail: stats }) },
            capabilityTimeoutMs: this.c.aic.capabilityTimeoutMs,
            tickMs: this.c.aic.tickMs,
            workers: this.c.aic.workers
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
            if (this.machine.connected()) this.emitState()
            if (this.machine.role === 'caller') this.ice.noteNetwork()
          },
          track: (track, stream) => {
            this.timeline.mark('track')
            const receiver = this.media?.pc.getReceivers().find((r) => r.track === track)
            const shown = this.aic !== undefined ? this.aic.wrapTrack(track, stream, receiver) : { track, stream }
            this.remoteStream = shown.stream
            this.safeDispatchEvent('track', { detail: shown })
          },
          failed: (err) => { this.fail('media-failed', err.message) },
          interrupted: (down) => {
            if (down) {
              this.c.log('call %s: the media path to %s is down; reconnecting', this.id, this.who)
              this.interrupt()
              if (this.machine.role === 'caller') this.ice.restartNow()
            } else {
              this.restored()
            }
          }
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
        this.watchSetup(this.media.pc)
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

  /** Marks the media connection's setup steps in the timeline (the media session keeps its own handlers). */
  private watchSetup (pc: RTCPeerConnection): void {
    const onSignalling = (): void => {
      if (pc.signalingState !== 'stable' || pc.remoteDescription === null) return
      this.timeline.mark('negotiated')
      pc.removeEventListener('signalingstatechange', onSignalling)
    }
    const onIce = (): void => {
      if (pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed') return
      this.timeline.mark('iceConnected')
      pc.removeEventListener('iceconnectionstatechange', onIce)
    }
    pc.addEventListener('signalingstatechange', onSignalling)
    pc.addEventListener('iceconnectionstatechange', onIce)
  }

  private attach (channel: SignalChannel, conn: MeshConnection): void {
    channel.start({
      message: (msg) => { if (channel === this.channel) this.onMessage(msg) },
      closed: (err) => {
        if (channel !== this.channel || this.glareWait !== undefined) return
        // the peer closed the stream cleanly: it is there, and done with the call. A stream that
        // fails with its connection is a path that broke (so is a clean end once the connection
        // closed); one reset while its connection stays open was reset by the peer: the call ends
        if (err === undefined) {
          if (!this.linkDown) this.fail('remote-hangup', `${this.who} closed the call`)
        } else if (this.conn.connection.status !== 'open') {
          this.linkLost(err.message)
        } else {
          this.later(() => {
            if (channel !== this.channel || this.linkDown) return
            if (this.conn.connection.status === 'open') this.fail('connection-lost', `${this.who} reset the call stream (${err.message})`)
            else this.linkLost(err.message)
          }, STREAM_RESET_GRACE_MS)
        }
      }
    })
    conn.connection.addEventListener('close', this.onConnClose, { once: true })
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
    this.conn.connection.removeEventListener('close', this.onConnClose)
    this.machine = new CallMachine('callee', callId, this.requested)
    this.channel = channel
    this.conn = conn
    this.attach(channel, conn)
    void old.close().catch(() => {})
    this.c.log('call %s: glare with %s, carried on as its call', callId, this.who)
    await this.channel.send(this.machine.accept(this.requested, offerTaken))
    this.afterAccepted()
  }

  private startHeartbeat (): void {
    const { intervalMs, reconnectingAfterMs, vanishedAfterMs } = this.c.heartbeat
    this.heartbeatTimer = setInterval(() => {
      if (this.state === 'ended') return
      const nonce = ++this.pingNonce >>> 0
      this.pings.set(nonce, Date.now())
      if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value as number)
      // on a suspect stream too: the peer's answer is what ends a break that was only silence
      if (!this.linkDown || this.suspect) void this.channel.send({ callId: this.id, ping: { nonce, chatReceived: this.chat.received } }).catch(() => {})
      const silent = Date.now() - this.lastHeard
      if (!this.machine.accepted) {
        // not answered yet: nothing to carry on, a silent peer is gone
        if (silent >= vanishedAfterMs) this.fail('peer-vanished', `nothing heard from ${this.who} for ${Math.round(silent / 1000)} s`)
      } else if (silent >= reconnectingAfterMs) {
        // the connection is dropped at once only when ICE confirms the path is down
        this.linkLost(`nothing heard from ${this.who} for ${silent} ms`, this.media?.interrupted === true)
      }
    }, intervalMs)
  }

  // ---- reconnecting (packages/sdk/README.md "Reconnecting") ----

  /**
   * The call stream or its connection broke, or went quiet. Before the answer there is nothing to
   * carry on: the call ends. After it, the call is 'reconnecting': the dead connection is dropped
   * and the peer re-dialled through a relay (`redial()`), until the limit.
   */
  private linkLost (why: string, dead = true): void {
    if (this.endInfo !== undefined || this.glareWait !== undefined) return
    if (!this.machine.accepted) { this.fail('connection-lost', why); return }
    if (this.linkDown) {
      if (dead && this.suspect) { this.suspect = false; this.dropConnection(why) }
      return
    }
    this.linkDown = true
    this.suspect = !dead
    this.resumeWait = undefined
    this.c.log('call %s: the call stream to %s broke (%s); reconnecting', this.id, this.who, why)
    this.interrupt()
    if (dead) this.dropConnection(why)
    void this.redial()
  }

  /** Aborts the call's connection, so that libp2p does not hand it back to the re-dial. */
  private dropConnection (why: string): void {
    this.conn.connection.removeEventListener('close', this.onConnClose)
    if (this.conn.connection.status === 'open') this.conn.connection.abort(new Error(`call ${this.id}: ${why}`))
  }

  /** A suspect break (silence alone) that the peer's next message on the same stream proved wrong. */
  private heardAgain (): void {
    this.linkDown = false
    this.suspect = false
    this.c.log('call %s: heard from %s again on the same call stream', this.id, this.who)
    // what was held while the stream looked dead; anything the peer already has it drops
    for (const entry of this.chat.resend(0)) void this.channel.send(chatMessage(this.id, entry)).catch(() => {})
    this.restored()
  }

  /** 'reconnecting', and the limit's clock running. */
  private interrupt (): void {
    if (this.machine.quiet()) this.emitState()
    if (this.reconnectTimer !== undefined) return
    const ms = this.c.reconnect.timeoutMs
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.hangupWith('connection-lost', `could not reconnect to ${this.who} within ${ms / 1000} s`)
    }, ms)
  }

  /** Back to 'connected' once the call stream and (on media calls) ICE are both whole. */
  private restored (): void {
    if (this.endInfo !== undefined || this.linkDown || this.media?.interrupted === true) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    if (this.media !== undefined && this.machine.role === 'caller') this.ice.noteNetwork()
    if (this.machine.heard()) {
      this.reconnects++
      this.c.log('call %s with %s reconnected (path %s)', this.id, this.who, this.conn.path)
      this.emitState()
    }
  }

  /**
   * Re-dials the peer through a relay's circuit (no direct tries: the direct path is what broke)
   * until the call stream is carried on or the call ends. The caller opens a new call stream on
   * the connection and resumes the call there; the callee's dial only asks whether the peer is
   * still there (a relay that answers that it holds no reservation for it: 'peer-vanished') and
   * waits for the caller's Resume (`resumeFrom()`).
   */
  private async redial (): Promise<void> {
    if (this.redialing) return
    this.redialing = true
    try {
      while (this.linkDown && this.endInfo === undefined) {
        try {
          const conn = await this.c.dial(this.remotePeer, { allowDirect: false, allowRelayed: true, allowTurn: false, signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS) })
          if (!this.linkDown || this.endInfo !== undefined) return
          if (this.machine.role === 'caller') await this.resumeOver(conn, AbortSignal.timeout(RESUME_TIMEOUT_MS))
          else await sleep(REDIAL_BACKOFF_MS * 4)
        } catch (err) {
          if (this.endInfo !== undefined) return
          if (err instanceof PeerOfflineError) {
            this.fail('peer-vanished', `${this.who} is gone: ${err.message}`)
            return
          }
          this.c.log('call %s: re-dialling %s failed: %s', this.id, this.who, (err as Error).message)
          await sleep(REDIAL_BACKOFF_MS)
        }
      }
    } finally {
      this.redialing = false
    }
  }

  /** The caller: a new call stream on `conn`, our Resume, the callee's; then the call runs there. */
  private async resumeOver (conn: MeshConnection, signal: AbortSignal): Promise<void> {
    const channel = new SignalChannel(await conn.newStream(SIGNAL_PROTOCOL, { signal }), this.c.log)
    const replied = new Promise<number>((resolve, reject) => {
      this.resumeWait = { channel, resolve }
      signal.addEventListener('abort', () => { reject(new Error(`no Resume from ${this.who} within ${RESUME_TIMEOUT_MS} ms`)) }, { once: true })
    })
    replied.catch(() => {})
    this.moveTo(channel, conn)
    try {
      await channel.send({ callId: this.id, resume: { chatReceived: this.chat.received } })
      this.resumed(await replied)
    } catch (err) {
      // not carried on after all: the connection is dropped (the next try gets a fresh one) and
      // with it the stream, which makes the call (still, or now) reconnecting
      if (conn.connection.status === 'open') conn.connection.abort(err as Error)
      if (this.channel === channel) channel.abort(err as Error)
      throw err
    } finally {
      this.resumeWait = undefined
    }
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
    this.moveTo(channel, conn)
    await channel.send({ callId: this.id, resume: { chatReceived: this.chat.received } }).catch(() => {})
    this.resumed(chatReceived)
  }

  /**
   * The call's stream is now `channel` (on `conn`). The old stream and connection are retired:
   * what comes on them is ignored, and they are closed once the Resumes have crossed
   * (`resumed()`), so that the other side never sees its old stream end before the new one
   * reached it (it would take that for a hangup).
   */
  private moveTo (channel: SignalChannel, conn: MeshConnection): void {
    this.closeRetired()
    this.retired = { channel: this.channel, conn: this.conn }
    // compared by their libp2p connections: each dial (and each incoming stream) wraps its own
    if (this.conn.connection !== conn.connection) this.conn.connection.removeEventListener('close', this.onConnClose)
    this.channel = channel
    this.conn = conn
    this.attach(channel, conn)
  }

  /** Closes the stream and connection that a move left behind. */
  private closeRetired (): void {
    const old = this.retired
    this.retired = undefined
    if (old === undefined) return
    if (old.channel !== this.channel) old.channel.abort(new Error('the call moved to a new call stream'))
    if (old.conn.connection !== this.conn.connection && old.conn.connection.status === 'open') void old.conn.close().catch(() => {})
  }

  /** Both sides, once the Resumes crossed: what the other side lacks of our chat goes again, in order. */
  private resumed (peerHas: number): void {
    this.lastHeard = Date.now()
    this.linkDown = false
    this.suspect = false
    this.closeRetired()
    const again = this.chat.resend(peerHas)
    for (const entry of again) void this.channel.send(chatMessage(this.id, entry)).catch(() => {})
    this.c.log('call %s: resumed on a %s connection; %d chat message(s) sent again', this.id, this.conn.path, again.length)
    if (this.media?.interrupted === true && this.machine.role === 'caller') this.ice.restartNow()
    this.restored()
    if (this.conn.path === 'relayed') this.upgradeLater()
  }

  /**
   * The caller, on a relayed connection (which the relay limits in time and bytes): tries for a
   * direct connection every UPGRADE_INTERVAL_MS, once media is back, and moves the call there.
   */
  private upgradeLater (): void {
    if (this.machine.role !== 'caller' || this.upgradeTimer !== undefined || this.endInfo !== undefined) return
    this.upgradeTimer = setTimeout(() => {
      this.upgradeTimer = undefined
      void this.upgrade()
    }, UPGRADE_INTERVAL_MS)
  }

  private async upgrade (): Promise<void> {
    if (this.endInfo !== undefined || this.linkDown || this.conn.path !== 'relayed') return
    if (this.media?.interrupted === true) { this.upgradeLater(); return }
    const signal = AbortSignal.timeout(RESUME_TIMEOUT_MS * 2)
    try {
      const conn = await this.c.dial(this.remotePeer, { allowRelayed: false, allowTurn: false, signal })
      if (this.endInfo !== undefined || this.linkDown || conn.path !== 'direct') throw new Error(`got a ${conn.path} connection`)
      await this.resumeOver(conn, signal)
    } catch (err) {
      if (this.endInfo !== undefined) return
      this.c.log('call %s: no direct connection to %s yet: %s', this.id, this.who, (err as Error).message)
      if (this.linkDown) void this.redial()
      else this.upgradeLater()
    }
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
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.glareWait)
    this.mediaConnected.resolve()
    clearTimeout(this.reconnectTimer)
    this.ice.stop()
    this.closeRetired()
    clearTimeout(this.upgradeTimer)
    this.aic?.stop()
    this.early?.stop()
    this.media?.stop()
    this.conn.connection.removeEventListener('close', this.onConnClose)
    if (!this.channel.closed) void this.channel.close()
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
    this.transfers.add(transfer)
    void transfer.done.finally(() => this.transfers.delete(transfer)).catch(() => {})
    this.safeDispatchEvent('file', { detail: { transfer } })
    return true
  }

  /** @internal an incoming file stream from this call's peer was refused */
  fileRefused (refusal: FileRefusal): void { this.safeDispatchEvent('file:refused', { detail: refusal }) }
}

function chatMessage (callId: string, entry: ChatEntry): SignalMessageFields {
  return { callId, chat: { ...(entry.text !== undefined ? { text: entry.text } : {}), ...(entry.data !== undefined ? { data: entry.data } : {}), seq: entry.seq } }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
