/**
 * The WebRTC side of a bridged SIP call (issue 19; docs/sip.md): one peer connection in Node
 * (werift, ICE-lite, as the recorder's) that answers the client's offer for one Opus audio track,
 * and moves audio between it and a SipCall every 20 ms:
 *
 * - the client's Opus packets go into a jitter buffer by sequence number; each tick plays one,
 *   decoded by `Opus8k` straight to 8 kHz PCM, which `SipCall.sendAudio` sends as G.711 (a missing
 *   packet is sent as silence, so that the far end's clock runs on);
 * - the far end's G.711, decoded by the SipCall, goes into a second jitter buffer; each tick plays
 *   20 ms of it, encoded by `Opus8k` and written to the client as RTP (48 kHz timestamps, RFC 7587:
 *   960 a frame); a missing frame is not sent and its timestamp skipped (the browser's Opus
 *   decoder conceals it).
 *
 * The tick is kept by the clock, not by counting timer callbacks: a late timer plays the ticks it
 * missed (at most MAX_CATCH_UP_TICKS at once; an event loop stalled longer skips the rest, counted).
 */
import { randomInt } from 'node:crypto'
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift'
import { gathered } from '../media/recorder.js'
import { JitterBuffer } from './jitter-buffer.js'
import { FRAME_8K, Opus8k } from './opus8k.js'
import { writeRtp } from './rtp.js'
import type { JitterStats } from './jitter-buffer.js'
import type { SipCall } from './sip-gateway.js'
import type { RTCRtpTransceiver } from 'werift'

/** One tick of the bridge: 20 ms, one packet each way. */
export const BRIDGE_TICK_MS = 20
/** Ticks a late timer plays at once; beyond, they are skipped. */
const MAX_CATCH_UP_TICKS = 5
/** Opus counts 48 kHz in RTP whatever it carries (RFC 7587): 20 ms. */
const OPUS_TIMESTAMP_STEP = 960
/** Samples of the far end's audio held for the next frame at most (a far end that sends faster than real time loses the rest). */
const MAX_PENDING_SAMPLES = FRAME_8K * 25

/** What the bridge did, both ways. */
export interface BridgeStats {
  /** The client's Opus packets, through their jitter buffer. */
  fromClient: JitterStats
  /** The far end's audio, through its jitter buffer. */
  toClient: JitterStats
  /** Packets sent each way. */
  sentToPhone: number
  sentToClient: number
  /** Opus packets libopus refused (played as silence). */
  decodeErrors: number
  /** Ticks skipped because the event loop stalled. */
  skippedTicks: number
  /** Ticks that threw (an encoder fault): the call goes on; 50 in a row end it as broken. */
  failedTicks: number
}

/** Options of SipBridge.answer(). */
export interface SipBridgeInit {
  /** How long ICE gathering of the answer may take. @default 10000 */
  timeoutMs?: number
  /** The client's connection failed or closed (ICE or DTLS). */
  onBroken?: (why: string) => void
}

export class SipBridge {
  private readonly opus = new Opus8k()
  private readonly fromClient = new JitterBuffer()
  private readonly toClient = new JitterBuffer<Int16Array>()
  /** Far-end samples played from the jitter buffer, not yet a whole frame. */
  private pending = new Int16Array(0)
  private readonly out = { seq: randomInt(0, 65536), timestamp: randomInt(0, 2 ** 32) }
  private call: SipCall | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private t0 = 0
  private ticks = 0
  private closed = false
  private failedRun = 0
  readonly stats: BridgeStats

  private constructor (private readonly pc: RTCPeerConnection, private readonly transceiver: RTCRtpTransceiver, readonly answerSdp: string, private readonly onBroken: ((why: string) => void) | undefined) {
    this.stats = { fromClient: this.fromClient.stats, toClient: this.toClient.stats, sentToPhone: 0, sentToClient: 0, decodeErrors: 0, skippedTicks: 0, failedTicks: 0 }
  }

  /**
   * Answers `offerSdp` (one audio track, Opus; sent and received) with the relay's host
   * candidates (ICE-lite, no trickle). TypeError when the offer is no SDP or carries no audio.
   */
  static async answer (offerSdp: string, init: SipBridgeInit = {}): Promise<SipBridge> {
    if (typeof offerSdp !== 'string' || !offerSdp.startsWith('v=0')) throw new TypeError('the offer is not an SDP description (it must start with v=0)')
    if (!/^m=audio /m.test(offerSdp)) throw new TypeError('the offer has no audio track (m=audio)')
    // ICE-lite and no STUN, as the recorder (recorder.ts says why); Opus is the one codec taken
    const pc = new RTCPeerConnection({ iceServers: [], iceLite: true, codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })], video: [] } })
    const timeoutMs = init.timeoutMs ?? 10_000
    // werift gives the client's track while it reads the offer: kept until the bridge exists
    // (no RTP can come before the client has the answer)
    const tracks: MediaStreamTrack[] = []
    pc.onTrack.subscribe((track) => { tracks.push(track) })
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
      const transceiver = pc.getTransceivers().find((t) => t.kind === 'audio')
      if (transceiver === undefined) throw new TypeError('the offer has no audio track the relay can take')
      transceiver.setDirection('sendrecv')
      await transceiver.sender.replaceTrack(new MediaStreamTrack({ kind: 'audio' }))
      await pc.setLocalDescription(await pc.createAnswer())
      await gathered(pc, timeoutMs)
      const local = pc.localDescription
      if (local == null) throw new Error('no local description after the answer')
      if (!/^a=rtpmap:\d+ opus\/48000/im.test(local.sdp)) throw new TypeError('the offer does not offer Opus')
      const bridge = new SipBridge(pc, transceiver, local.sdp, init.onBroken)
      const receive = (track: MediaStreamTrack): void => {
        if (track.kind !== 'audio') return
        track.onReceiveRtp.subscribe((rtp) => { if (!bridge.closed) bridge.fromClient.push(rtp.header.sequenceNumber, rtp.payload) })
      }
      tracks.forEach(receive)
      pc.onTrack.subscribe(receive)
      pc.connectionStateChange.subscribe((state) => {
        if ((state === 'failed' || state === 'closed') && !bridge.closed) init.onBroken?.(`the client's WebRTC connection ${state}`)
      })
      return bridge
    } catch (err) {
      await pc.close()
      throw err
    }
  }

  /** Starts moving audio between the client and `call` (whose audio flows once it is connected). */
  attach (call: SipCall): void {
    if (this.call !== undefined) throw new Error('SipBridge.attach(): already attached')
    this.call = call
    call.on('audio', (pcm, seq) => { if (!this.closed) this.toClient.push(seq, pcm) })
    this.t0 = performance.now()
    this.timer = setInterval(() => { this.run() }, BRIDGE_TICK_MS / 2)
  }

  /** Stops the ticks and closes the client's connection. Idempotent. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.opus.destroy()
    await this.pc.close()
  }

  private run (): void {
    const due = Math.floor((performance.now() - this.t0) / BRIDGE_TICK_MS)
    if (due - this.ticks > MAX_CATCH_UP_TICKS) {
      this.stats.skippedTicks += due - this.ticks - MAX_CATCH_UP_TICKS
      this.ticks = due - MAX_CATCH_UP_TICKS
    }
    for (; this.ticks < due && !this.closed; this.ticks++) {
      // nothing a tick does may throw out of the timer (it would take the relay down)
      try {
        this.tick()
        this.failedRun = 0
      } catch (err) {
        this.stats.failedTicks++
        if (++this.failedRun === 50) this.onBroken?.(`the bridge failed 50 ticks in a row: ${(err as Error).message}`)
      }
    }
  }

  private tick (): void {
    const call = this.call!
    if (call.state !== 'connected') return
    // the client to the phone
    const packet = this.fromClient.pop()
    if (packet !== null) {
      let pcm: Int16Array
      try {
        pcm = this.opus.decode(packet)
      } catch {
        this.stats.decodeErrors++
        pcm = new Int16Array(FRAME_8K)
      }
      if (call.sendAudio(pcm)) this.stats.sentToPhone++
    } else if (this.stats.fromClient.played > 0) {
      if (call.sendAudio(new Int16Array(FRAME_8K))) this.stats.sentToPhone++
    }
    // the phone to the client: 20 ms of what the jitter buffer plays (a far end's packets may be
    // of another length than 20 ms: played until a frame is full)
    while (this.pending.length < FRAME_8K) {
      const pcm = this.toClient.pop()
      if (pcm === null) break
      const all = new Int16Array(Math.min(this.pending.length + pcm.length, MAX_PENDING_SAMPLES))
      all.set(this.pending)
      all.set(pcm.subarray(0, all.length - this.pending.length), this.pending.length)
      this.pending = all
    }
    if (this.pending.length >= FRAME_8K) {
      const frame = this.pending.subarray(0, FRAME_8K)
      this.pending = this.pending.slice(FRAME_8K)
      const payload = this.opus.encode(frame)
      // werift's sender sets the payload type and SSRC agreed; ours are placeholders
      void this.transceiver.sender.sendRtp(Buffer.from(writeRtp({ payloadType: 111, marker: this.stats.sentToClient === 0, seq: this.out.seq, timestamp: this.out.timestamp, ssrc: 0, payload }))).catch(() => {})
      this.out.seq = (this.out.seq + 1) & 0xffff
      this.stats.sentToClient++
    }
    this.out.timestamp = (this.out.timestamp + OPUS_TIMESTAMP_STEP) >>> 0
  }
}

