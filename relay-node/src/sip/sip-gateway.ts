/**
 * The relay's SIP gateway (issue 19), its SIP side: outbound calls to configured trunks, audio as
 * G.711 over RTP and DTMF as RFC 4733 events both ways. A call is an INVITE whose SDP offers PCMU,
 * PCMA and telephone-events; provisional answers make it `ringing`, a 2xx is ACKed and makes it
 * `connected`, an error answer ends it with a typed reason; hangup() sends CANCEL while it rings
 * and BYE once connected, and a BYE from the far end ends it. Inbound INVITEs are refused (403)
 * until inbound calls are built. Clients' calls come through sip-service.ts, their audio through
 * sip-bridge.ts (relay-node/README.md "SIP gateway").
 *
 * SIP messages are parsed and sent by the `sip` package (kirm/sip.js: parser, UDP and TCP
 * transports, transactions, digest authentication; docs/dependencies.md says why).
 */
import { randomBytes, randomInt } from 'node:crypto'
import dgram, { createSocket } from 'node:dgram'
import { EventEmitter } from 'node:events'
import sip from 'sip'
import digest from 'sip/digest.js'
import { decodeG711, DTMF_DIGITS, encodeG711, G711_PAYLOAD_TYPES, parseRtp, parseTelephoneEvent, writeRtp, writeTelephoneEvent } from './rtp.js'
import type { G711 } from './rtp.js'
import type { RemoteInfo, Socket } from 'node:dgram'
import type { SipMessage, SipRemote, SipStack } from 'sip'

/**
 * The largest SIP datagram read. RFC 3261 sends a request over 1300 bytes by TCP instead; what
 * is bigger is dropped before the `sip` package parses it, whose message regex takes time that
 * grows with the square of the datagram's size (60 KB of spaces: about 225 ms of CPU).
 */
export const MAX_SIP_DATAGRAM_BYTES = 8 * 1024

/** G.711 samples in one 20 ms RTP packet at 8 kHz. */
const SAMPLES_PER_PACKET = 160
/** A DTMF digit's length (100 ms at 8 kHz) and the pause after it (60 ms). */
const DTMF_SAMPLES = 800
const DTMF_PAUSE_SAMPLES = 480

/** A SIP server this relay may call: calls go only to these (host and port as the target URI names them). */
export interface SipTrunk {
  name: string
  host: string
  /** @default 5060 */
  port: number
  /** @default 'udp' */
  transport: 'udp' | 'tcp'
  /** Digest credentials, sent when the trunk challenges an INVITE (401 or 407). */
  username?: string
  password?: string
}

export interface SipGatewayInit {
  /** Address the SIP stack and the RTP sockets bind (and announce in Contact and SDP). */
  host: string
  /** SIP port (UDP). 0 is not allowed: the port is announced in every message. */
  port: number
  trunks: SipTrunk[]
  /** User part of the From header. @default 'auralink' */
  fromUser?: string
  /** No final answer to an INVITE within this: CANCEL, and the call ends 'unreachable'. @default 30000 */
  answerTimeoutMs?: number
  log?: (msg: string) => void
  /** Logs every SIP message sent and received (method or status, CSeq method, address). @default false */
  trace?: boolean
  /** Called for each datagram or request refused (`refused` counts them too): the metrics. */
  onRefused?: (reason: SipRefusal) => void
  /**
   * An INVITE from a trunk for a new call: the SipCall (inbound, `calling`) and the user part of
   * its request URI. The handler rings it (`ring()`), then `accept()`s or `reject()`s it. Without a
   * handler, inbound INVITEs are answered 403.
   */
  onInvite?: (call: SipCall, user: string) => void
}

/** Why the gateway refused what came from the network (`SipGateway.refused`). */
export type SipRefusal = 'not_trunk' | 'too_large' | 'inbound_invite' | 'no_dialog'

/** Why a SIP call ended. */
export type SipEndReason = 'busy' | 'declined' | 'not-found' | 'unreachable' | 'failed' | 'remote-hangup' | 'hangup'

/** An error answer's status to the end reason it means (RFC 3261 section 21). */
export function endReasonOf (status: number): SipEndReason {
  if (status === 486 || status === 600) return 'busy'
  if (status === 603) return 'declined'
  if (status === 404 || status === 604 || status === 484 || status === 410) return 'not-found'
  if (status === 408 || status === 480 || status >= 500) return 'unreachable'
  return 'failed'
}

/** A target URI checked against the trunks: TypeError naming it when malformed or on no trunk. */
export function trunkOf (target: string, trunks: SipTrunk[]): SipTrunk {
  const uri = typeof target === 'string' && /^sip:[^@\s]+@[^\s]+$/.test(target) ? sip.parseUri(target) : undefined
  if (uri === undefined || uri.host === undefined) throw new TypeError(`SIP target ${JSON.stringify(target)} is not a sip:user@host[:port] URI`)
  // the package reads a URI without a port as port NaN
  const port = uri.port !== undefined && Number.isInteger(uri.port) && uri.port > 0 ? uri.port : 5060
  const trunk = trunks.find((t) => t.host === uri.host && t.port === port)
  if (trunk === undefined) throw new TypeError(`SIP target ${JSON.stringify(target)}: ${uri.host}:${port} is none of this relay's trunks (${trunks.map((t) => `${t.host}:${t.port}`).join(', ') || 'none configured'})`)
  return trunk
}

export interface SipCallEvents {
  state: [SipCallState]
  /** Decoded audio from the far end: 16-bit PCM at 8 kHz, one RTP packet's worth, and the packet's sequence number (for a jitter buffer). */
  audio: [Int16Array, number]
  /** A DTMF digit the far end sent (RFC 4733 telephone-event), once, when its event ends. */
  dtmf: [string]
}
export type SipCallState = 'calling' | 'ringing' | 'connected' | 'ended'

/** What the far end's SDP answer chose. */
export interface SipMediaAnswer {
  codec: G711
  address: string
  port: number
  /** telephone-event's payload type, when the answer kept it. */
  dtmfPayloadType?: number
}

/** One outbound call. */
export class SipCall extends EventEmitter<SipCallEvents> {
  state: SipCallState = 'calling'
  /** Placed by us (to `target`), or from a trunk to us (`target` is then the caller's URI). */
  readonly direction: 'outbound' | 'inbound'
  endReason: SipEndReason | undefined
  /** The far end's status and words when an error answer ended the call. */
  endStatus: { status: number, reason: string } | undefined
  media: SipMediaAnswer | undefined
  /**
   * RTP packets taken; come before the call was connected here (the far end may send as soon as
   * it answers, before its 200 is read: not taken, its codec is not known yet); and dropped (not
   * RTP, from another address, or of a payload type not agreed).
   */
  readonly rtp = { received: 0, early: 0, dropped: 0 }
  /** @internal */ readonly invite: SipMessage
  /** @internal */ remoteTag: string | undefined
  /** @internal */ remoteTarget: string | undefined
  /** @internal */ routeSet: SipMessage['headers']['route']
  private cseq = 1
  /** Our RTP to the far end: packets sent. */
  readonly rtpOut = { packets: 0 }
  private readonly out = { seq: randomInt(0, 65536), timestamp: randomInt(0, 2 ** 32), ssrc: randomInt(0, 2 ** 32), pending: new Int16Array(0) }
  /** The timestamp of the last telephone-event reported (its end repeats). */
  private lastDtmfTimestamp: number | undefined
  /** Where the far end's RTP comes from, once its first packet came. */
  rtpSource: { address: string, port: number } | undefined
  /** The INVITE as last sent (with its Via). */
  private sent: SipMessage | undefined
  private answerTimer: ReturnType<typeof setTimeout> | undefined
  private endedResolve!: () => void
  private readonly ended = new Promise<void>((resolve) => { this.endedResolve = resolve })

  /** @internal the INVITE received, for an inbound call (its responses answer it) */
  readonly received: SipMessage | undefined
  /** Our 200 to an inbound INVITE, sent again until its ACK comes (RFC 3261 13.3.1.4). */
  private okTimer: ReturnType<typeof setTimeout> | undefined

  /**
   * An outbound call to `target`, or (with `inbound`, the INVITE received from the trunk) an
   * inbound one: its dialog taken from the INVITE, its media from the INVITE's SDP offer.
   */
  constructor (private readonly gw: SipGateway, readonly target: string, readonly trunk: SipTrunk, private readonly socket: Socket, private readonly rtpPort: number, inbound?: SipMessage) {
    super()
    const host = gw.host
    this.direction = inbound === undefined ? 'outbound' : 'inbound'
    socket.on('message', (b, from) => { this.onRtp(b, from.address, from.port) })
    // a socket error (a send the kernel refused) is logged, never thrown out of the relay
    socket.on('error', (err) => { gw.log(`sip call ${this.callId}: RTP socket: ${err.message}`) })
    if (inbound !== undefined) {
      this.received = inbound
      const contact = inbound.headers.contact
      // the dialog as seen from here: our From is the INVITE's To (with our tag), our To its From
      this.remoteTag = inbound.headers.from?.params.tag
      this.remoteTarget = Array.isArray(contact) && contact[0] !== undefined ? contact[0].uri : inbound.headers.from?.uri
      this.routeSet = (inbound.headers['record-route'] ?? []).slice()
      this.media = readAnswer(inbound.content ?? '')
      this.invite = {
        method: 'INVITE',
        uri: this.remoteTarget ?? target,
        headers: {
          to: { uri: inbound.headers.from?.uri ?? target, params: {} },
          from: { uri: inbound.headers.to?.uri ?? `sip:${gw.fromUser}@${host}:${gw.port}`, params: { tag: randomBytes(6).toString('hex') } },
          'call-id': inbound.headers['call-id'] ?? `${randomBytes(12).toString('hex')}@${host}`,
          cseq: { method: 'INVITE', seq: 0 },
          contact: [{ uri: `sip:${gw.fromUser}@${host}:${gw.port}`, params: {} }]
        }
      }
      return
    }
    const sdp = sdpOf(host, rtpPort, [0, 8], 101)
    this.invite = {
      method: 'INVITE',
      uri: target,
      headers: {
        to: { uri: target, params: {} },
        from: { uri: `sip:${gw.fromUser}@${host}:${gw.port}`, params: { tag: randomBytes(6).toString('hex') } },
        'call-id': `${randomBytes(12).toString('hex')}@${host}`,
        cseq: { method: 'INVITE', seq: this.cseq },
        contact: [{ uri: `sip:${gw.fromUser}@${host}:${gw.port}`, params: {} }],
        'max-forwards': 70,
        'content-type': 'application/sdp'
      },
      content: sdp
    }
  }

  get callId (): string { return this.invite.headers['call-id']! }

  /** Resolves once the call has ended. */
  async whenEnded (): Promise<void> { await this.ended }

  /**
   * CANCEL while it rings (or calls), BYE once connected; nothing once ended. An inbound call not
   * yet answered is refused instead (480 Temporarily Unavailable; `reject()` gives another status).
   */
  hangup (): void {
    if (this.state === 'connected') {
      clearTimeout(this.okTimer)
      this.gw.sendInDialog(this, 'BYE', ++this.cseq)
      this.end('hangup')
    } else if (this.state !== 'ended' && this.received !== undefined) {
      this.reject(480, 'Temporarily Unavailable')
    } else if (this.state !== 'ended') {
      this.cancel()
      this.end('hangup')
    }
  }

  /** An inbound call rings: 180 Ringing to the caller, state `ringing`. */
  ring (): void {
    if (this.received === undefined || this.state !== 'calling') return
    this.gw.stack.send(this.response(180, 'Ringing'))
    this.setState('ringing')
  }

  /**
   * Answers an inbound call: 200 OK with our SDP (the codec the caller offered first of PCMU and
   * PCMA, telephone-event when it offered it), sent again until the caller's ACK; state `connected`.
   * A call whose offer had neither codec was refused with 488 when it came.
   */
  accept (): void {
    const m = this.media
    if (this.received === undefined || m === undefined || (this.state !== 'calling' && this.state !== 'ringing')) return
    const ok = this.response(200, 'OK')
    ok.headers.contact = this.invite.headers.contact
    ok.headers['content-type'] = 'application/sdp'
    ok.content = sdpOf(this.gw.host, this.rtpPort, [G711_PAYLOAD_TYPES[m.codec]], m.dtmfPayloadType)
    let wait = 500
    const send = (): void => {
      this.gw.stack.send(ok)
      wait *= 2
      // no ACK within 32 s: the caller is gone; the call ends with a BYE
      if (wait > 32_000) { this.hangup(); return }
      this.okTimer = setTimeout(send, Math.min(wait, 4_000))
    }
    send()
    this.setState('connected')
  }

  /** @internal the caller's ACK of our 200: it stops being sent again. */
  acked (): void {
    clearTimeout(this.okTimer)
  }

  /** Refuses an inbound call not yet answered: `status` (4xx-6xx) to the caller; ends it `declined` (603), `not-found` (404) or `unreachable`. */
  reject (status: number, reason: string): void {
    if (this.received === undefined || (this.state !== 'calling' && this.state !== 'ringing')) return
    this.gw.stack.send(this.response(status, reason))
    this.end(status === 603 ? 'declined' : status === 404 ? 'not-found' : status === 486 ? 'busy' : 'unreachable', { status, reason })
  }

  /** @internal the caller CANCELled before we answered: 487 to its INVITE; ends `remote-hangup`. */
  cancelled (): void {
    if (this.received === undefined || (this.state !== 'calling' && this.state !== 'ringing')) return
    this.gw.stack.send(this.response(487, 'Request Terminated'))
    this.end('remote-hangup', { status: 487, reason: 'the caller cancelled' })
  }

  /** A response to the inbound INVITE, with our To tag. */
  private response (status: number, reason: string): SipMessage {
    const rs = sip.makeResponse(this.received!, status, reason)
    rs.headers.to = { ...rs.headers.to!, params: { ...rs.headers.to!.params, tag: this.invite.headers.from!.params.tag } }
    return rs
  }

  /**
   * Sends audio to the far end: 16-bit PCM at 8 kHz, in the agreed G.711 codec, one RTP packet
   * per 20 ms (160 samples; a remainder waits for the next call). The caller paces it (real time).
   * Sent to where the far end's RTP comes from once it came (symmetric RTP), else to the answer's
   * address. Before the call is connected there is no one to send to: false, nothing kept.
   */
  sendAudio (pcm: Int16Array): boolean {
    const m = this.media
    if (m === undefined || this.state !== 'connected') return false
    let all = pcm
    if (this.out.pending.length > 0) {
      all = new Int16Array(this.out.pending.length + pcm.length)
      all.set(this.out.pending)
      all.set(pcm, this.out.pending.length)
    }
    let at = 0
    for (; at + SAMPLES_PER_PACKET <= all.length; at += SAMPLES_PER_PACKET) {
      this.sendRtp(G711_PAYLOAD_TYPES[m.codec], this.rtpOut.packets === 0, this.out.timestamp, encodeG711(m.codec, all.subarray(at, at + SAMPLES_PER_PACKET)))
      this.out.timestamp = (this.out.timestamp + SAMPLES_PER_PACKET) >>> 0
    }
    this.out.pending = all.slice(at)
    return true
  }

  /** @internal places the INVITE; a challenge is answered once with the trunk's credentials. */
  start (answerTimeoutMs: number): void {
    this.answerTimer = setTimeout(() => {
      if (this.state === 'calling' || this.state === 'ringing') { this.cancel(); this.end('unreachable', { status: 408, reason: `no answer within ${answerTimeoutMs} ms` }) }
    }, answerTimeoutMs)
    this.send(this.invite, false)
  }

  private send (invite: SipMessage, authed: boolean): void {
    // the message as sent: the stack gives it its Via (whose branch a CANCEL must repeat)
    this.sent = this.gw.toTrunk(invite, this.trunk)
    this.gw.stack.send(this.sent, (rs) => { this.onResponse(rs, authed) })
  }

  private onResponse (rs: SipMessage, authed: boolean): void {
    const status = rs.status ?? 0
    if (this.state === 'ended') {
      // a 2xx that crossed our CANCEL: the call was answered after all; it is ACKed and ended
      if (status >= 200 && status < 300) { this.answered(rs); this.gw.sendInDialog(this, 'BYE', ++this.cseq) }
      return
    }
    if (status < 200) {
      if (status >= 180 && this.state === 'calling') this.setState('ringing')
      return
    }
    if (status < 300) {
      this.answered(rs)
      if (this.media === undefined) {
        this.gw.sendInDialog(this, 'BYE', ++this.cseq)
        this.end('failed', { status, reason: 'the answer\'s SDP chose none of PCMU and PCMA' })
        return
      }
      this.setState('connected')
      return
    }
    if ((status === 401 || status === 407) && !authed && this.trunk.username !== undefined && this.trunk.password !== undefined) {
      const again: SipMessage = { ...this.invite, headers: { ...this.invite.headers, cseq: { method: 'INVITE', seq: ++this.cseq }, via: [] } }
      digest.signRequest(null, again, rs, { user: this.trunk.username, password: this.trunk.password })
      this.invite.headers.cseq = again.headers.cseq
      this.send(again, true)
      return
    }
    this.end(endReasonOf(status), { status, reason: rs.reason ?? '' })
  }

  /** A 2xx: the dialog's remote tag, target and route set; the ACK; the SDP answer read. */
  private answered (rs: SipMessage): void {
    this.remoteTag = rs.headers.to?.params.tag
    const contact = rs.headers.contact
    this.remoteTarget = Array.isArray(contact) && contact[0] !== undefined ? contact[0].uri : this.target
    this.routeSet = (rs.headers['record-route'] ?? []).slice().reverse()
    this.gw.ack(this, rs)
    this.media ??= readAnswer(rs.content ?? '')
  }

  /** @internal a BYE from the far end (already answered 200 by the gateway). */
  remoteBye (): void {
    this.end('remote-hangup')
  }

  private cancel (): void {
    const inv = this.sent
    if (inv === undefined) return
    this.gw.stack.send(this.gw.toTrunk({ method: 'CANCEL', uri: inv.uri, headers: { to: inv.headers.to, from: inv.headers.from, 'call-id': inv.headers['call-id'], cseq: { method: 'CANCEL', seq: inv.headers.cseq!.seq }, via: inv.headers.via?.slice(0, 1), 'max-forwards': 70 } }, this.trunk))
  }

  /**
   * RTP from the far end: taken from the answer's address, or from the trunk's own address (a
   * phone behind NAT, or one that announces another interface than it sends from); the first
   * packet taken fixes the source (address and port), and packets from anywhere else are dropped.
   */
  private onRtp (b: Buffer, address: string, port: number): void {
    const m = this.media
    if (this.state !== 'connected') { this.rtp.early++; return }
    if (m !== undefined && this.rtpSource === undefined && (address === m.address || address === this.trunk.host) && parseRtp(b) !== null) this.rtpSource = { address, port }
    const p = m !== undefined && this.rtpSource?.address === address && this.rtpSource.port === port ? parseRtp(b) : null
    if (p !== null && m !== undefined && p.payloadType === m.dtmfPayloadType) {
      const e = parseTelephoneEvent(p.payload)
      if (e === null || e.event >= DTMF_DIGITS.length) { this.rtp.dropped++; return }
      this.rtp.received++
      // an event's end is sent three times, all with the event's timestamp: reported once
      if (e.end && p.timestamp !== this.lastDtmfTimestamp) {
        this.lastDtmfTimestamp = p.timestamp
        this.emit('dtmf', DTMF_DIGITS[e.event]!)
      }
      return
    }
    if (p === null || m === undefined || p.payloadType !== G711_PAYLOAD_TYPES[m.codec]) {
      this.rtp.dropped++
      return
    }
    this.rtp.received++
    this.emit('audio', decodeG711(m.codec, p.payload), p.seq)
  }

  /**
   * Sends DTMF digits (`0-9`, `*`, `#`, `A-D`) as RFC 4733 telephone-events, one after another:
   * each 100 ms long, in packets 20 ms apart, its end sent three times, then 60 ms of pause.
   * Resolves once all are sent. TypeError naming the input for other characters; an Error when
   * the far end's answer did not take telephone-event (SIP INFO is not built) or the call is not
   * connected.
   */
  async sendDtmf (digits: string): Promise<void> {
    if (typeof digits !== 'string' || !/^[0-9*#A-D]+$/.test(digits)) throw new TypeError(`sendDtmf(digits): digits must be one or more of 0-9 * # A-D, got ${JSON.stringify(digits)}`)
    const m = this.media
    if (m === undefined || this.state !== 'connected') throw new Error(`sendDtmf(): the call is ${this.state}`)
    const pt = m.dtmfPayloadType
    if (pt === undefined) throw new Error('sendDtmf(): the far end did not take telephone-event in its answer (SIP INFO is not built)')
    const tick = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 20)) }
    for (const d of digits) {
      const event = DTMF_DIGITS.indexOf(d)
      const timestamp = this.out.timestamp
      for (let duration = SAMPLES_PER_PACKET, first = true; ; duration += SAMPLES_PER_PACKET, first = false) {
        if (this.state !== 'connected') throw new Error(`sendDtmf(): the call ended (${this.endReason ?? ''}) while sending ${JSON.stringify(digits)}`)
        const end = duration >= DTMF_SAMPLES
        for (let k = 0; k < (end ? 3 : 1); k++) this.sendRtp(pt, first && k === 0, timestamp, writeTelephoneEvent({ event, end, volume: 10, duration }))
        if (end) break
        await tick()
      }
      // the audio stream's clock went on meanwhile
      this.out.timestamp = (timestamp + DTMF_SAMPLES + DTMF_PAUSE_SAMPLES) >>> 0
      await new Promise((resolve) => setTimeout(resolve, DTMF_PAUSE_SAMPLES / 8))
    }
  }

  /** One RTP packet to the far end, the next in our stream's sequence. */
  private sendRtp (payloadType: number, marker: boolean, timestamp: number, payload: Uint8Array): void {
    const m = this.media!
    const { address, port } = this.rtpSource ?? m
    this.socket.send(writeRtp({ payloadType, marker, seq: this.out.seq, timestamp, ssrc: this.out.ssrc, payload }), port, address)
    this.out.seq = (this.out.seq + 1) & 0xffff
    this.rtpOut.packets++
  }

  private setState (s: SipCallState): void {
    if (this.state === s || this.state === 'ended') return
    this.state = s
    this.gw.log(`sip call ${this.callId} to ${this.target}: ${s}`)
    this.emit('state', s)
  }

  /** @internal */
  end (reason: SipEndReason, status?: { status: number, reason: string }): void {
    if (this.state === 'ended') return
    clearTimeout(this.answerTimer)
    clearTimeout(this.okTimer)
    this.endReason = reason
    if (status !== undefined) this.endStatus = status
    this.socket.close()
    this.gw.forget(this)
    this.gw.log(`sip call ${this.callId} to ${this.target} ended: ${reason}${status !== undefined ? ` (${status.status} ${status.reason})` : ''}`)
    this.setState('ended')
    this.endedResolve()
  }
}

/** Our SDP: audio on `rtpPort` with the G.711 payload types given, and telephone-event (0-16) as `dtmf` when given. */
function sdpOf (host: string, rtpPort: number, g711: number[], dtmf: number | undefined): string {
  const types = [...g711, ...(dtmf !== undefined ? [dtmf] : [])]
  return [
    'v=0',
    `o=auralink ${randomInt(1, 2 ** 31)} 1 IN IP4 ${host}`,
    's=AuraLink',
    `c=IN IP4 ${host}`,
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP ${types.join(' ')}`,
    ...g711.map((pt) => `a=rtpmap:${pt} ${pt === 0 ? 'PCMU' : 'PCMA'}/8000`),
    ...(dtmf !== undefined ? [`a=rtpmap:${dtmf} telephone-event/8000`, `a=fmtp:${dtmf} 0-16`] : []),
    'a=ptime:20',
    'a=sendrecv',
    ''
  ].join('\r\n')
}

/** The media line of an SDP answer: its address, port, first G.711 codec and telephone-event's payload type; undefined without PCMU or PCMA. */
export function readAnswer (sdp: string): SipMediaAnswer | undefined {
  const lines = sdp.split(/\r?\n/)
  const m = lines.map((l) => /^m=audio (\d+) RTP\/AVP ([\d ]+)$/.exec(l.trim())).find((x) => x !== null)
  if (m == null) return undefined
  const port = Number(m[1])
  const types = m[2]!.trim().split(/\s+/).map(Number)
  // the media-level c= (after m=) wins over the session-level one
  const conns = lines.map((l) => /^c=IN IP4 (\S+)$/.exec(l.trim())?.[1]).filter((x): x is string => x !== undefined)
  const address = conns.at(-1)
  if (address === undefined || port < 1 || port > 65535) return undefined
  const rtpmap = new Map(lines.map((l) => /^a=rtpmap:(\d+) ([\w-]+)\/8000/.exec(l.trim())).filter((x) => x !== null).map((x) => [Number(x[1]), x[2]!.toUpperCase()]))
  const codec = types.map((t): G711 | undefined => t === 0 || rtpmap.get(t) === 'PCMU' ? 'PCMU' : t === 8 || rtpmap.get(t) === 'PCMA' ? 'PCMA' : undefined).find((c) => c !== undefined)
  if (codec === undefined) return undefined
  const dtmf = types.find((t) => rtpmap.get(t) === 'TELEPHONE-EVENT')
  return { codec, address, port, ...(dtmf !== undefined ? { dtmfPayloadType: dtmf } : {}) }
}

/** The gateway: one SIP stack on `host:port`, and the outbound calls placed through it. */
export class SipGateway {
  /** @internal */ readonly stack: SipStack
  readonly host: string
  readonly port: number
  readonly fromUser: string
  private readonly trunks: SipTrunk[]
  private readonly answerTimeoutMs: number
  private readonly calls = new Map<string, SipCall>()
  /** @internal */ readonly log: (msg: string) => void
  /**
   * Requests refused: from an address that is no trunk's (not answered at all: a scanner learns
   * nothing), inbound INVITEs (not built yet: 403), in-dialog requests for no call of ours (481).
   */
  readonly refused: Record<SipRefusal, number> = { not_trunk: 0, too_large: 0, inbound_invite: 0, no_dialog: 0 }
  private readonly onRefused: (reason: SipRefusal) => void
  private readonly onInvite: SipGatewayInit['onInvite']

  constructor (init: SipGatewayInit) {
    if (!Number.isInteger(init.port) || init.port < 1 || init.port > 65535) throw new TypeError(`SIP port must be 1-65535, got ${String(init.port)}`)
    this.host = init.host
    this.port = init.port
    this.fromUser = init.fromUser ?? 'auralink'
    this.trunks = init.trunks
    this.answerTimeoutMs = init.answerTimeoutMs ?? 30_000
    this.log = init.log ?? (() => {})
    this.onRefused = init.onRefused ?? (() => {})
    this.onInvite = init.onInvite
    this.stack = createGuarded((msg, from) => this.admit(msg, from), { address: init.host, port: init.port, udp: true, tcp: false, publicAddress: init.host, logger: { error: (e) => { this.log(`sip: ${String(e)}`) }, ...(init.trace === true ? { send: (m, t) => { this.log(`sip -> ${t.address}:${t.port} ${m.method ?? String(m.status)} ${m.headers.cseq?.method ?? ''}`) }, recv: (m, r) => { this.log(`sip <- ${r.address}:${r.port} ${m.method ?? String(m.status)} ${m.headers.cseq?.method ?? ''}`) } } : {}) } }, (rq, remote) => { this.onRequest(rq, remote) })
  }

  /**
   * Whether a datagram reaches the SIP parser: only from a trunk's address (anything else is
   * dropped unread and unanswered: a scanner learns nothing), and no bigger than MAX_SIP_DATAGRAM_BYTES.
   */
  private admit (msg: Buffer, from: RemoteInfo): boolean {
    if (!this.trunks.some((t) => t.host === from.address)) {
      this.refuse('not_trunk')
      return false
    }
    if (msg.byteLength > MAX_SIP_DATAGRAM_BYTES) {
      this.refuse('too_large')
      return false
    }
    return true
  }

  private refuse (reason: SipRefusal): void {
    this.refused[reason]++
    this.onRefused(reason)
  }

  /** The trunk `target` is on: TypeError naming the target when it is malformed or on none. */
  check (target: string): SipTrunk {
    return trunkOf(target, this.trunks)
  }

  /** Calls now (placed, not yet ended). */
  get active (): number {
    return this.calls.size
  }

  /** Calls `target` (`sip:alice@127.0.0.1:5062`, on a configured trunk): the SipCall, `calling` at once. */
  async call (target: string): Promise<SipCall> {
    const trunk = trunkOf(target, this.trunks)
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, this.host, () => { socket.off('error', reject); resolve() }) })
    const c = new SipCall(this, target, trunk, socket, socket.address().port)
    this.calls.set(c.callId, c)
    c.start(this.answerTimeoutMs)
    return c
  }

  /** Hangs up every call (their BYEs and CANCELs go out) and closes the SIP stack. */
  async stop (): Promise<void> {
    for (const c of [...this.calls.values()]) c.hangup()
    // the stack sends on a later tick: give the hangups a moment to leave before its sockets close
    await new Promise((resolve) => setTimeout(resolve, 50))
    this.stack.destroy()
  }

  /** An INVITE from a trunk for a new call: a SipCall for it, handed to `onInvite`; 488 when its offer has no G.711. */
  private async inbound (rq: SipMessage, remote: SipRemote): Promise<void> {
    const trunk = this.trunks.find((t) => t.host === remote.address)
    const user = sip.parseUri(rq.uri ?? '')?.user
    if (trunk === undefined || rq.headers['call-id'] === undefined) return
    if (readAnswer(rq.content ?? '') === undefined) {
      this.stack.send(sip.makeResponse(rq, 488, 'Not Acceptable Here'))
      return
    }
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, this.host, () => { socket.off('error', reject); resolve() }) })
    const c = new SipCall(this, rq.headers.from?.uri ?? '', trunk, socket, socket.address().port, rq)
    this.calls.set(c.callId, c)
    this.log(`sip call ${c.callId} from ${c.target} for ${String(user)}: calling`)
    this.onInvite!(c, user ?? '')
  }

  /** @internal */
  forget (c: SipCall): void {
    this.calls.delete(c.callId)
  }

  /**
   * @internal `m`, routed to the trunk's address whatever its request URI names: a first Route
   * that the `sip` package reads as one of its own flows (a URI on its own host whose user part is
   * a signed flow token) and takes off before sending. Without it, a request to a URI on this
   * relay's own address (a PBX on the same host) would be taken for one to this stack itself.
   */
  toTrunk (m: SipMessage, trunk: SipTrunk): SipMessage {
    const flow = this.stack.encodeFlowUri({ protocol: trunk.transport.toUpperCase(), address: trunk.host, port: trunk.port, local: { address: this.host, port: this.port } })
    return { ...m, headers: { ...m.headers, route: [{ uri: sip.stringifyUri(flow), params: {} }, ...(m.headers.route ?? [])] } }
  }

  /** @internal the ACK of a 2xx, in the dialog (its own transaction: RFC 3261 13.2.2.4). */
  ack (c: SipCall, rs: SipMessage): void {
    this.stack.send(this.toTrunk(this.inDialog(c, 'ACK', rs.headers.cseq?.seq ?? 1), c.trunk))
  }

  /** @internal a request in the call's dialog (BYE). */
  sendInDialog (c: SipCall, method: string, seq: number): void {
    this.stack.send(this.toTrunk(this.inDialog(c, method, seq), c.trunk), () => {})
  }

  private inDialog (c: SipCall, method: string, seq: number): SipMessage {
    const inv = c.invite
    return {
      method,
      uri: c.remoteTarget ?? c.target,
      headers: {
        to: { ...inv.headers.to!, params: { ...inv.headers.to!.params, ...(c.remoteTag !== undefined ? { tag: c.remoteTag } : {}) } },
        from: inv.headers.from,
        'call-id': c.callId,
        cseq: { method, seq },
        ...(c.routeSet !== undefined && c.routeSet.length > 0 ? { route: c.routeSet } : {}),
        'max-forwards': 70
      }
    }
  }

  private onRequest (rq: SipMessage, remote: SipRemote): void {
    const c = rq.headers['call-id'] !== undefined ? this.calls.get(rq.headers['call-id']) : undefined
    if (rq.method === 'ACK') {
      if (c !== undefined && rq.headers.from?.params.tag === c.remoteTag) c.acked()
      return
    }
    if (rq.method === 'CANCEL' && c !== undefined && c.direction === 'inbound' && rq.headers.from?.params.tag === c.remoteTag) {
      this.stack.send(sip.makeResponse(rq, 200, 'OK'))
      c.cancelled()
      return
    }
    if (rq.method === 'INVITE' && rq.headers.to?.params.tag === undefined && this.onInvite !== undefined && c === undefined) {
      void this.inbound(rq, remote).catch((err: Error) => {
        this.log(`sip: inbound INVITE failed: ${err.message}`)
        this.stack.send(sip.makeResponse(rq, 500, 'Server Internal Error'))
      })
      return
    }
    if (rq.method === 'BYE' && c !== undefined && rq.headers.from?.params.tag === c.remoteTag) {
      this.stack.send(sip.makeResponse(rq, 200, 'OK'))
      c.remoteBye()
      return
    }
    if (rq.method === 'INVITE' && rq.headers.to?.params.tag === undefined) {
      this.refuse('inbound_invite')
      this.stack.send(sip.makeResponse(rq, 403, 'Inbound calls are not taken here'))
      return
    }
    if (rq.method === 'OPTIONS') {
      this.stack.send(sip.makeResponse(rq, 200, 'OK'))
      return
    }
    this.refuse('no_dialog')
    this.stack.send(sip.makeResponse(rq, 481, 'Call/Transaction Does Not Exist'))
  }
}

/**
 * sip.create() with `admit` in front of its UDP socket: the package makes that socket itself and
 * parses every datagram it gets, so dgram.createSocket is wrapped for the one synchronous call that
 * makes it, and the socket's message listener sees only what `admit` lets through.
 */
function createGuarded (admit: (msg: Buffer, from: RemoteInfo) => boolean, options: Parameters<typeof sip.create>[0], onRequest: Parameters<typeof sip.create>[1]): SipStack {
  const real = dgram.createSocket
  let wrapped = 0
  const guarded = ((type: 'udp4' | 'udp6', listener?: (msg: Buffer, from: RemoteInfo) => void) => {
    wrapped++
    return real(type, listener !== undefined ? (msg, from) => { if (admit(msg, from)) listener(msg, from) } : undefined)
  }) as typeof dgram.createSocket
  dgram.createSocket = guarded
  try {
    const stack = sip.create(options, onRequest)
    // the package's UDP transport is the one socket it makes; another way of making it would leave the parser open
    if (wrapped !== 1) throw new Error(`the sip package made ${wrapped} UDP sockets through dgram.createSocket, not 1: its datagrams are not guarded`)
    return stack
  } finally {
    dgram.createSocket = real
  }
}
