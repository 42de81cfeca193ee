import { SIGNAL_PROTOCOL } from '@auralink/protocol'
import { chatMessage } from './chat-log.js'
import { REDIAL_BACKOFF_MS, REDIAL_TIMEOUT_MS, RESUME_TIMEOUT_MS, STREAM_RESET_GRACE_MS, UPGRADE_INTERVAL_MS } from './constants.js'
import { PeerOfflineError } from './errors.js'
import { IceRestarter } from './ice-restarter.js'
import { SignalChannel } from './signal-channel.js'
import type { CallMachine, CallEndReason } from './call-machine.js'
import type { ChatLog } from './chat-log.js'
import type { MediaSession } from './media-session.js'
import type { SignalMessage } from '@auralink/protocol'
import type { MeshConnection, MeshDialOptions } from '@auralink/mesh'
import type { Logger, PeerId } from '@libp2p/interface'

/** What a CallLink needs of its call. */
export interface CallLinkComponents {
  log: Logger
  heartbeat: { intervalMs: number, reconnectingAfterMs: number, vanishedAfterMs: number }
  /** How long a call may stay 'reconnecting'. */
  reconnect: { timeoutMs: number }
  /** Dials the peer again (the mesh's dial). */
  dial(peer: PeerId, options: MeshDialOptions): Promise<MeshConnection>
  remotePeer: PeerId
  /** The call's chat messages: what to send again after a break, what to acknowledge. */
  chat: ChatLog
  /** The call's state machine now (a glare replaces it): role, id, state, accepted. */
  machine(): CallMachine
  /** The call's media session, while it has one. */
  media(): MediaSession | undefined
  /** Whether the call has ended. */
  ended(): boolean
  /** Whether the call lost a glare tie-break and waits for the winner's invite (its old stream no longer matters). */
  glareWaiting(): boolean
  /** For log lines and end messages: the peer's AuraID or PeerId. */
  who(): string
  /** A message from the current call stream. */
  message(msg: SignalMessage): void
  /** Runs `fn` after `ms` unless the call ended first. */
  later(fn: () => void, ms: number): void
  /** Ends the call for a local reason (nothing once it ended or waits after a glare). */
  fail(reason: CallEndReason, message: string): void
  /** Ends the call and tells the other side when the stream still works. */
  hangupWith(reason: CallEndReason, message: string): void
  /** The machine's state changed: the call's `state` event. */
  emitState(): void
}

/**
 * @internal The path a call's signalling runs over (packages/sdk/README.md "Reconnecting"): the
 * call stream and its connection, the heartbeat that tells a broken or silent one, the re-dial
 * through a relay and the resume over a new stream once the path broke, and the upgrade back to
 * a direct connection. The call owns one and hands it the messages it hears; the link tells the
 * call (CallLinkComponents) when it reconnects, reconnected or has to end.
 */
export class CallLink {
  /** How many times the call went back to 'connected' after a break. */
  reconnects = 0
  /** The last ping's round trip, once a pong came. */
  rttMs: number | undefined
  private readonly c: CallLinkComponents
  /** The call stream and the connection it runs on. */
  private current: { channel: SignalChannel, conn: MeshConnection }
  private readonly onConnClose: () => void
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  private lastHeard = Date.now()
  private pingNonce = 0
  private readonly pings = new Map<number, number>()
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

  constructor (channel: SignalChannel, conn: MeshConnection, components: CallLinkComponents) {
    this.c = components
    this.current = { channel, conn }
    this.onConnClose = () => { this.linkLost('the connection to the peer closed') }
    this.ice = new IceRestarter({
      media: components.media,
      canSignal: () => !this.linkDown,
      ended: components.ended,
      log: components.log,
      callId: () => this.id
    })
  }

  /** The call stream now. */
  get channel (): SignalChannel { return this.current.channel }
  /** The connection the call stream runs on now. */
  get conn (): MeshConnection { return this.current.conn }
  /** True while the call stream is broken (or suspect) and not carried on by a new one. */
  get down (): boolean { return this.linkDown }
  private get id (): string { return this.c.machine().callId }
  private get who (): string { return this.c.who() }

  /** Listens to the call stream and its connection, and starts the heartbeat. */
  start (): void {
    this.attach(this.channel, this.conn)
    this.startHeartbeat()
  }

  /** The call ended: releases every timer, the retired stream and connection, and closes the call stream. */
  stop (): void {
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.reconnectTimer)
    this.ice.stop()
    this.closeRetired()
    clearTimeout(this.upgradeTimer)
    this.conn.connection.removeEventListener('close', this.onConnClose)
    if (!this.channel.closed) void this.channel.close()
  }

  /** Glare: the call goes on over the winner's stream and connection; returns the old stream (the call closes it). */
  replace (channel: SignalChannel, conn: MeshConnection): SignalChannel {
    const old = this.channel
    this.conn.connection.removeEventListener('close', this.onConnClose)
    this.current = { channel, conn }
    this.attach(channel, conn)
    return old
  }

  /** The peer sent a message on the call stream: it is there (and a suspect break was no break). */
  noteHeard (): void {
    this.lastHeard = Date.now()
    if (this.suspect && this.linkDown) this.heardAgain()
  }

  /** The peer's answer to a ping. */
  pong (nonce: number): void {
    const sent = this.pings.get(nonce)
    if (sent !== undefined) { this.rttMs = Date.now() - sent; this.pings.delete(nonce) }
  }

  /** The peer's Resume on the current stream: the caller's resume waits for it. */
  resumeReceived (chatReceived: number): void {
    if (this.resumeWait?.channel === this.channel) this.resumeWait.resolve(chatReceived)
  }

  /** The media connection is up: the caller notes the network it works on (IceRestarter). */
  mediaConnected (): void {
    if (this.c.machine().role === 'caller') this.ice.noteNetwork()
  }

  /** The media path went down (ICE): 'reconnecting', and the caller restarts ICE; or it came back. */
  mediaInterrupted (down: boolean): void {
    if (down) {
      this.c.log('call %s: the media path to %s is down; reconnecting', this.id, this.who)
      this.interrupt()
      if (this.c.machine().role === 'caller') this.ice.restartNow()
    } else {
      this.restored()
    }
  }

  private attach (channel: SignalChannel, conn: MeshConnection): void {
    channel.start({
      message: (msg) => { if (channel === this.channel) this.c.message(msg) },
      closed: (err) => {
        if (channel !== this.channel || this.c.glareWaiting()) return
        // the peer closed the stream cleanly: it is there, and done with the call. A stream that
        // fails with its connection is a path that broke (so is a clean end once the connection
        // closed); one reset while its connection stays open was reset by the peer: the call ends.
        // A break that is only silence (suspect: the stream and its connection were left open)
        // does not hide either: the peer that went quiet has now said it left
        const broken = this.linkDown && !this.suspect
        if (err === undefined) {
          if (!broken) this.c.fail('remote-hangup', `${this.who} closed the call`)
        } else if (this.conn.connection.status !== 'open') {
          this.linkLost(err.message)
        } else {
          this.c.later(() => {
            if (channel !== this.channel || (this.linkDown && !this.suspect)) return
            if (this.conn.connection.status === 'open') this.c.fail('connection-lost', `${this.who} reset the call stream (${err.message})`)
            else this.linkLost(err.message)
          }, STREAM_RESET_GRACE_MS)
        }
      }
    })
    conn.connection.addEventListener('close', this.onConnClose, { once: true })
  }

  private startHeartbeat (): void {
    const { intervalMs, reconnectingAfterMs, vanishedAfterMs } = this.c.heartbeat
    this.heartbeatTimer = setInterval(() => {
      if (this.c.machine().state === 'ended') return
      const nonce = ++this.pingNonce >>> 0
      this.pings.set(nonce, Date.now())
      if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value as number)
      // on a suspect stream too: the peer's answer is what ends a break that was only silence
      if (!this.linkDown || this.suspect) void this.channel.send({ callId: this.id, ping: { nonce, chatReceived: this.c.chat.received } }).catch(() => {})
      const silent = Date.now() - this.lastHeard
      if (!this.c.machine().accepted) {
        // not answered yet: nothing to carry on, a silent peer is gone
        if (silent >= vanishedAfterMs) this.c.fail('peer-vanished', `nothing heard from ${this.who} for ${Math.round(silent / 1000)} s`)
      } else if (silent >= reconnectingAfterMs) {
        // the connection is dropped at once only when ICE confirms the path is down
        this.linkLost(`nothing heard from ${this.who} for ${silent} ms`, this.c.media()?.interrupted === true)
      }
    }, intervalMs)
  }

  /**
   * The call stream or its connection broke, or went quiet. Before the answer there is nothing to
   * carry on: the call ends. After it, the call is 'reconnecting': the dead connection is dropped
   * and the peer re-dialled through a relay (`redial()`), until the limit.
   */
  private linkLost (why: string, dead = true): void {
    if (this.c.ended() || this.c.glareWaiting()) return
    if (!this.c.machine().accepted) { this.c.fail('connection-lost', why); return }
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
    for (const entry of this.c.chat.resend(0)) void this.channel.send(chatMessage(this.id, entry)).catch(() => {})
    this.restored()
  }

  /** 'reconnecting', and the limit's clock running. */
  private interrupt (): void {
    if (this.c.machine().quiet()) this.c.emitState()
    if (this.reconnectTimer !== undefined) return
    const ms = this.c.reconnect.timeoutMs
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.c.hangupWith('connection-lost', `could not reconnect to ${this.who} within ${ms / 1000} s`)
    }, ms)
  }

  /** Back to 'connected' once the call stream and (on media calls) ICE are both whole. */
  private restored (): void {
    const media = this.c.media()
    if (this.c.ended() || this.linkDown || media?.interrupted === true) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    if (media !== undefined && this.c.machine().role === 'caller') this.ice.noteNetwork()
    if (this.c.machine().heard()) {
      this.reconnects++
      this.c.log('call %s with %s reconnected (path %s)', this.id, this.who, this.conn.path)
      this.c.emitState()
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
      while (this.linkDown && !this.c.ended()) {
        try {
          const conn = await this.c.dial(this.c.remotePeer, { allowDirect: false, allowRelayed: true, allowTurn: false, signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS) })
          if (!this.linkDown || this.c.ended()) return
          if (this.c.machine().role === 'caller') await this.resumeOver(conn, AbortSignal.timeout(RESUME_TIMEOUT_MS))
          else await sleep(REDIAL_BACKOFF_MS * 4)
        } catch (err) {
          if (this.c.ended()) return
          if (err instanceof PeerOfflineError) {
            this.c.fail('peer-vanished', `${this.who} is gone: ${err.message}`)
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
      await channel.send({ callId: this.id, resume: { chatReceived: this.c.chat.received } })
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
   * The callee: the caller carried this call on over a new call stream (a Resume was its first
   * message, with what the caller has of our chat messages). Answers with our own Resume.
   */
  async resumeFrom (channel: SignalChannel, conn: MeshConnection, chatReceived: number): Promise<void> {
    this.moveTo(channel, conn)
    await channel.send({ callId: this.id, resume: { chatReceived: this.c.chat.received } }).catch(() => {})
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
    this.retired = this.current
    // compared by their libp2p connections: each dial (and each incoming stream) wraps its own
    if (this.conn.connection !== conn.connection) this.conn.connection.removeEventListener('close', this.onConnClose)
    this.current = { channel, conn }
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
    const again = this.c.chat.resend(peerHas)
    for (const entry of again) void this.channel.send(chatMessage(this.id, entry)).catch(() => {})
    this.c.log('call %s: resumed on a %s connection; %d chat message(s) sent again', this.id, this.conn.path, again.length)
    if (this.c.media()?.interrupted === true && this.c.machine().role === 'caller') this.ice.restartNow()
    this.restored()
    if (this.conn.path === 'relayed') this.upgradeLater()
  }

  /**
   * The caller, on a relayed connection (which the relay limits in time and bytes): tries for a
   * direct connection every UPGRADE_INTERVAL_MS, once media is back, and moves the call there.
   */
  private upgradeLater (): void {
    if (this.c.machine().role !== 'caller' || this.upgradeTimer !== undefined || this.c.ended()) return
    this.upgradeTimer = setTimeout(() => {
      this.upgradeTimer = undefined
      void this.upgrade()
    }, UPGRADE_INTERVAL_MS)
  }

  private async upgrade (): Promise<void> {
    if (this.c.ended() || this.linkDown || this.conn.path !== 'relayed') return
    if (this.c.media()?.interrupted === true) { this.upgradeLater(); return }
    const signal = AbortSignal.timeout(RESUME_TIMEOUT_MS * 2)
    try {
      const conn = await this.c.dial(this.c.remotePeer, { allowRelayed: false, allowTurn: false, signal })
      if (this.c.ended() || this.linkDown || conn.path !== 'direct') throw new Error(`got a ${conn.path} connection`)
      await this.resumeOver(conn, signal)
    } catch (err) {
      if (this.c.ended()) return
      this.c.log('call %s: no direct connection to %s yet: %s', this.id, this.who, (err as Error).message)
      if (this.linkDown) void this.redial()
      else this.upgradeLater()
    }
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
