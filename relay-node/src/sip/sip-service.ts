/**
 * The relay's SIP calls for its clients (issue 19; docs/sip.md "The call"): `/auralink/sip/1.0.0`,
 * served only by a relay started with `--sip-listen`. A client sends one SipRequest (the SIP URI to
 * call and its WebRTC offer); the relay checks it, answers the offer (SipBridge), places the call
 * through its gateway (SipGateway) and bridges the audio. Then it tells the client the call's
 * progress and the far end's DTMF digits (SipEvent) and takes the client's digits and hangup
 * (SipControl), until the call ends: a last SipEvent says why, and the stream is closed. The client
 * closing its end, or its WebRTC connection failing, hangs the call up.
 *
 * Who may call: a client that holds a name in this relay's directory (a stranger with no name
 * here places no call on the relay's trunks), a target on one of the relay's trunks, at most
 * `maxCallsPerPeer` calls of one client and `maxCalls` in all at once. Every refusal is counted
 * (`onRequest`) and answered with why; nothing is sent to a trunk for a refused request.
 *
 * Inbound (docs/sip.md "Inbound"): an INVITE from a trunk for `<name>@<relay>` rings the client
 * that holds `@name.aura` here, when it is connected and serves `/auralink/sip-in/1.0.0` (a client
 * serves it only when it takes phone calls): the relay sends 180 and a SipIncoming; the client's
 * SipRequest with an offer takes the call (200 OK to the caller), one without declines it (603).
 * Every other case is 404, the same answer for a name no one holds and for a client that takes no
 * phone calls, so that the directory cannot be probed through SIP. An inbound call never leads
 * to an outbound one.
 *
 * This module imports werift (through sip-bridge.ts): node.ts loads it only when SIP is on.
 */
import { decodeSipControl, decodeSipRequest, encodeSipEvent, encodeSipIncoming, MAX_SIP_DTMF_DIGITS, MAX_SIP_MESSAGE_BYTES, MAX_SIP_OFFER_BYTES, MAX_SIP_TARGET_CHARS, SIP_DTMF_PATTERN, SIP_PROTOCOL } from '@auralink/protocol'
import { PeerRateLimiter } from '@auralink/signalling'
import { lpStream } from '@libp2p/utils'
import { SipBridge } from './sip-bridge.js'
import type { SipCall, SipGateway } from './sip-gateway.js'
import type { SipEndReason } from '@auralink/protocol'
import type { AbortOptions, Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Logger } from 'pino'

/** A request's outcome, as `auralink_sip_requests_total{result}` counts it. */
export type SipRequestOutcome = 'placed' | 'bad_request' | 'no_name' | 'not_trunk' | 'limit' | 'rate' | 'failed'

/** An inbound INVITE's outcome, as `auralink_sip_inbound_total{result}` counts it. */
export type SipInboundOutcome = 'rung' | 'not_found' | 'limit' | 'rate' | 'failed'

/** The client an inbound call rings: its peer and a stream on SIP_INBOUND_PROTOCOL to it. */
export interface SipCallee { peer: PeerId, stream: Stream }

export interface SipServiceInit {
  gateway: SipGateway
  /** SIP calls at once on this relay. */
  maxCalls: number
  /** SIP calls at once from one client. */
  maxCallsPerPeer: number
  /** New calls per minute from one client (every request counts) or in from one trunk's address. */
  callRateLimit: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
  /** Whether `peer` holds a name in this relay's directory: only those place calls. */
  holdsName(peer: PeerId, options: AbortOptions): Promise<boolean>
  log: Logger
  /** How long the request may take to arrive once the stream is open. @default 10000 */
  requestTimeoutMs?: number
  /** Called once per request with its outcome. */
  onRequest?: (outcome: SipRequestOutcome) => void
  /** Called once per placed call when it ended, with why. */
  onEnded?: (reason: SipEndReason) => void
  /**
   * The client holding `@<user>.aura` here, connected, with a stream opened to it on
   * SIP_INBOUND_PROTOCOL; undefined when there is none (no such name, the holder is not
   * connected, or it takes no phone calls). Without it, inbound calls are answered 404.
   */
  callee?: (user: string, options: AbortOptions) => Promise<SipCallee | undefined>
  /** How long an inbound call rings before it is given up (480). @default 30000 */
  ringTimeoutMs?: number
  /** Called once per inbound INVITE with its outcome. */
  onInbound?: (outcome: SipInboundOutcome) => void
}

interface Registrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** Whether the call has ended (read after an await: TypeScript's narrowing does not know it may have). */
const hasEnded = (call: SipCall): boolean => call.state === 'ended'

/** Words of a refusal sent to the client, by outcome. */
const REFUSAL_REASON: Record<Exclude<SipRequestOutcome, 'placed'>, SipEndReason> = { bad_request: 'refused', no_name: 'refused', not_trunk: 'refused', limit: 'limit', rate: 'limit', failed: 'failed' }

/** A source's bucket is forgotten after this long unused. */
const RATE_IDLE_MS = 10 * 60 * 1000

type Say = (m: Parameters<typeof encodeSipEvent>[0]) => Promise<void>
interface Speaker { say: Say, close: () => Promise<void> }

/** The relay's side of a stream: its messages one at a time, in order (one that cannot be delivered is lost with the stream), and the close. */
function speaker (stream: Stream, lp: ReturnType<typeof lpStream<Stream>>): Speaker {
  let said = Promise.resolve()
  return {
    say: async (m) => {
      said = said.then(async () => { await lp.write(encodeSipEvent(m), { signal: AbortSignal.timeout(5_000) }) }).catch(() => {})
      await said
    },
    close: async () => { await stream.close({ signal: AbortSignal.timeout(2_000) }).catch((err: Error) => { stream.abort(err) }) }
  }
}

export class SipService {
  /** Calls (and requests being checked) by peer. */
  private readonly perPeer = new Map<string, number>()
  private total = 0
  private readonly calls = new Set<{ call?: SipCall, end: (why: string) => void }>()
  private readonly serving = new Set<Promise<void>>()
  /** Inbound calls ringing a client, not yet answered. */
  private readonly ringing = new Set<SipCall>()
  private registrar: Registrar | undefined
  private stopping = false
  /** Aborted by stop(): requests still being read are given up at once. */
  private readonly closing = new AbortController()
  /** New calls per minute, by client peer id or `trunk:<address>`. */
  private readonly rate: PeerRateLimiter

  constructor (private readonly init: SipServiceInit) {
    this.rate = new PeerRateLimiter(init.callRateLimit, RATE_IDLE_MS, init.now ?? Date.now)
  }

  /** SIP calls (and requests being checked) now. */
  get active (): number {
    return this.total
  }

  async start (registrar: Registrar): Promise<void> {
    this.registrar = registrar
    await registrar.handle(SIP_PROTOCOL, (stream, connection) => {
      const served = this.serve(stream, connection).catch((err: unknown) => {
        this.init.log.warn({ peer: connection.remotePeer.toString(), reason: (err as Error).message }, 'sip request failed')
        stream.abort(err as Error)
      })
      this.serving.add(served)
      void served.finally(() => this.serving.delete(served))
    // one more than the calls a client may have, so that the one past the cap hears why
    }, { maxInboundStreams: this.init.maxCallsPerPeer + 1 })
  }

  /** Hangs up every call (each client told why), stops serving, closes the gateway. */
  async stop (): Promise<void> {
    this.stopping = true
    this.closing.abort(new Error('the relay is stopping'))
    await this.registrar?.unhandle(SIP_PROTOCOL).catch(() => {})
    for (const c of this.calls) c.end('the relay is stopping')
    for (const c of this.ringing) c.reject(480, 'Temporarily Unavailable')
    await Promise.allSettled([...this.serving])
    await this.init.gateway.stop()
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const who = peer.toString()
    const log = this.init.log
    const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
    const io = speaker(stream, lp)
    const { say, close } = io
    const refuse = async (outcome: Exclude<SipRequestOutcome, 'placed'>, message: string): Promise<void> => {
      this.init.onRequest?.(outcome)
      log.info({ peer: who, outcome, reason: message }, 'sip request refused')
      await say({ state: 'ended', endReason: REFUSAL_REASON[outcome], message })
      await close()
    }
    if (this.stopping) { await refuse('failed', 'the relay is stopping'); return }
    if (!this.rate.take(who)) { await refuse('rate', `this relay takes ${this.init.callRateLimit} SIP call request(s) a minute from one client`); return }
    const full = this.full(who)
    if (full !== undefined) { await refuse('limit', full); return }
    this.take(who)
    try {
      await this.place(lp, peer, io, refuse)
    } finally {
      this.release(who)
    }
  }

  /** Why one more call with `who` would pass a limit, or undefined. */
  private full (who: string): string | undefined {
    if (this.total >= this.init.maxCalls) return `this relay bridges ${this.init.maxCalls} SIP call(s) at once, all taken`
    if ((this.perPeer.get(who) ?? 0) >= this.init.maxCallsPerPeer) return `this relay bridges ${this.init.maxCallsPerPeer} SIP call(s) at once for one client`
    return undefined
  }

  private take (who: string): void {
    this.total++
    this.perPeer.set(who, (this.perPeer.get(who) ?? 0) + 1)
  }

  private release (who: string): void {
    this.total--
    const n = (this.perPeer.get(who) ?? 1) - 1
    if (n > 0) this.perPeer.set(who, n)
    else this.perPeer.delete(who)
  }

  /** An INVITE from a trunk (SipGateway's onInvite): rings the client holding the name, or refuses. */
  incoming (call: SipCall, user: string): void {
    const served = this.ring(call, user).catch((err: unknown) => {
      this.init.log.warn({ from: call.target, user, reason: (err as Error).message }, 'inbound sip call failed')
      call.reject(500, 'Server Internal Error')
      this.init.onInbound?.('failed')
    })
    this.serving.add(served)
    void served.finally(() => this.serving.delete(served))
  }

  private async ring (call: SipCall, user: string): Promise<void> {
    const log = this.init.log
    if (!this.rate.take(`trunk:${call.trunk.host}`)) {
      call.reject(503, 'Service Unavailable')
      this.init.onInbound?.('rate')
      return
    }
    if (this.stopping || this.total >= this.init.maxCalls) {
      call.reject(486, 'Busy Here')
      this.init.onInbound?.('limit')
      return
    }
    // the same answer whether no one holds the name, its holder is away or takes no phone calls
    const callee = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(user) && this.init.callee !== undefined
      ? await this.init.callee(user, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined)
      : undefined
    if (callee === undefined) {
      call.reject(404, 'Not Found')
      this.init.onInbound?.('not_found')
      log.info({ from: call.target, user }, 'inbound sip call: no one takes it (404)')
      return
    }
    const { peer, stream } = callee
    const who = peer.toString()
    if (call.state === 'ended' || this.full(who) !== undefined) {
      call.reject(486, 'Busy Here')
      stream.abort(new Error('busy'))
      this.init.onInbound?.('limit')
      return
    }
    this.take(who)
    try {
      this.init.onInbound?.('rung')
      const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
      const { say, close } = speaker(stream, lp)
      this.ringing.add(call)
      call.ring()
      log.info({ peer: who, from: call.target, user, callId: call.callId }, 'inbound sip call rings')
      const from = call.received?.headers.from
      await lp.write(encodeSipIncoming({ from: call.target.slice(0, MAX_SIP_TARGET_CHARS), displayName: typeof from?.name === 'string' ? from.name.replace(/^"|"$/g, '') : '' }), { signal: AbortSignal.timeout(5_000) })
      // the client's answer, the caller's CANCEL, or the ring's end, whichever comes first
      const ended = call.whenEnded().then(() => undefined)
      let timer: ReturnType<typeof setTimeout> | undefined
      const answer = await Promise.race([
        lp.read({ signal: AbortSignal.timeout(this.init.ringTimeoutMs ?? 30_000) }).then((b) => decodeSipRequest(b.subarray())).catch((err: Error) => err),
        ended,
        new Promise<undefined>((resolve) => { timer = setTimeout(() => { resolve(undefined) }, (this.init.ringTimeoutMs ?? 30_000) + 1_000) })
      ])
      clearTimeout(timer)
      this.ringing.delete(call)
      if (hasEnded(call)) {
        // the caller gave up first
        this.init.onEnded?.(call.endReason ?? 'remote-hangup')
        await say({ state: 'ended', endReason: call.endReason ?? 'remote-hangup', status: call.endStatus?.status ?? 0, message: 'the caller hung up' })
        await close()
        return
      }
      if (answer === undefined || answer instanceof Error) {
        call.reject(480, 'Temporarily Unavailable')
        this.init.onEnded?.('unreachable')
        await say({ state: 'ended', endReason: 'unreachable', status: 480, message: answer instanceof Error ? `no answer: ${answer.message}` : 'no answer in time' })
        await close()
        return
      }
      if (answer.offerSdp === '' || answer.offerSdp.length > MAX_SIP_OFFER_BYTES) {
        call.reject(603, 'Decline')
        this.init.onEnded?.('declined')
        await say({ state: 'ended', endReason: 'declined', status: 603 })
        await close()
        return
      }
      const entry: { call?: SipCall, end: (why: string) => void } = { end: () => {} }
      let bridge: SipBridge
      try {
        bridge = await SipBridge.answer(answer.offerSdp, { onBroken: (why) => { entry.end(why) } })
      } catch (err) {
        call.reject(500, 'Server Internal Error')
        this.init.onEnded?.('failed')
        await say({ state: 'ended', endReason: 'failed', message: `the relay could not answer the offer: ${(err as Error).message}` })
        await close()
        return
      }
      call.accept()
      await this.bridged(call, bridge, entry, lp, { say, close }, who, { answerSdp: bridge.answerSdp, state: 'connected' })
    } finally {
      this.release(who)
    }
  }

  private async place (lp: ReturnType<typeof lpStream<Stream>>, peer: PeerId, io: Speaker, refuse: (outcome: Exclude<SipRequestOutcome, 'placed'>, message: string) => Promise<void>): Promise<void> {
    const who = peer.toString()
    const log = this.init.log
    let target: string
    let offerSdp: string
    try {
      const req = decodeSipRequest((await lp.read({ signal: AbortSignal.any([AbortSignal.timeout(this.init.requestTimeoutMs ?? 10_000), this.closing.signal]) })).subarray())
      target = req.target
      offerSdp = req.offerSdp
    } catch (err) {
      await refuse('bad_request', `the request did not arrive or does not decode: ${(err as Error).message}`)
      return
    }
    if (target.length === 0 || target.length > MAX_SIP_TARGET_CHARS) { await refuse('bad_request', `the target must be a SIP URI of 1 to ${MAX_SIP_TARGET_CHARS} characters`); return }
    if (offerSdp.length === 0 || offerSdp.length > MAX_SIP_OFFER_BYTES) { await refuse('bad_request', `the offer must be an SDP description of at most ${MAX_SIP_OFFER_BYTES} bytes`); return }
    try {
      this.init.gateway.check(target)
    } catch (err) {
      await refuse('not_trunk', (err as Error).message)
      return
    }
    if (!await this.init.holdsName(peer, { signal: AbortSignal.timeout(5_000) }).catch(() => false)) {
      await refuse('no_name', 'only a client that holds a name at this relay may place SIP calls through it')
      return
    }
    const entry: { call?: SipCall, end: (why: string) => void } = { end: () => {} }
    let bridge: SipBridge
    try {
      bridge = await SipBridge.answer(offerSdp, { onBroken: (why) => { entry.end(why) } })
    } catch (err) {
      await refuse('failed', `the relay could not answer the offer: ${(err as Error).message}`)
      return
    }
    let call: SipCall
    try {
      call = await this.init.gateway.call(target)
    } catch (err) {
      await bridge.close()
      await refuse('failed', `the relay could not place the call: ${(err as Error).message}`)
      return
    }
    this.init.onRequest?.('placed')
    log.info({ peer: who, target, callId: call.callId }, 'sip call placed')
    await this.bridged(call, bridge, entry, lp, io, who, { answerSdp: bridge.answerSdp, state: 'calling' })
  }

  /**
   * A call with its bridge, from the client's answer (`first`) to its end: the call's progress and
   * the far end's digits to the client, the client's digits and hangup to the call, then why it
   * ended, and the stream closed.
   */
  private async bridged (call: SipCall, bridge: SipBridge, entry: { call?: SipCall, end: (why: string) => void }, lp: ReturnType<typeof lpStream<Stream>>, { say, close }: Speaker, who: string, first: Parameters<typeof encodeSipEvent>[0]): Promise<void> {
    const log = this.init.log
    entry.call = call
    this.calls.add(entry)
    // set when the relay ends the call (it stops, or the client's connection failed): why
    let stopWords: string | undefined
    entry.end = (why) => { stopWords ??= why; call.hangup() }
    bridge.attach(call)
    // the answer first; the call's progress after it, in order (say() queues)
    void say(first)
    call.on('state', (s) => { if ((s === 'ringing' || s === 'connected') && s !== first.state) void say({ state: s }) })
    call.on('dtmf', (d) => { void say({ dtmf: d }) })
    // the client's digits, one string after another; its hangup; its end of the stream
    let dtmf = Promise.resolve()
    void (async () => {
      try {
        for (;;) {
          const m = decodeSipControl((await lp.read()).subarray())
          if (m.hangup) { call.hangup(); return }
          if (m.dtmf.length > MAX_SIP_DTMF_DIGITS || !SIP_DTMF_PATTERN.test(m.dtmf)) {
            void say({ message: `DTMF ${JSON.stringify(m.dtmf.slice(0, 40))} ignored: digits are 1 to ${MAX_SIP_DTMF_DIGITS} of 0-9 * # A-D` })
            continue
          }
          dtmf = dtmf.then(async () => { await call.sendDtmf(m.dtmf) }).catch((err: Error) => { void say({ message: `DTMF not sent: ${err.message}` }) })
        }
      } catch {
        // the client closed its end, reset it, or sent what does not decode: the call ends
        call.hangup()
      }
    })()
    await call.whenEnded()
    this.calls.delete(entry)
    await bridge.close()
    const reason: SipEndReason = stopWords !== undefined ? 'failed' : call.endReason ?? 'failed'
    this.init.onEnded?.(reason)
    log.info({ peer: who, [call.direction === 'inbound' ? 'from' : 'target']: call.target, callId: call.callId, reason, ...(call.endStatus !== undefined ? { status: call.endStatus.status } : {}), bridge: bridge.stats, rtp: call.rtp }, 'sip call ended')
    await say({ state: 'ended', endReason: reason, status: call.endStatus?.status ?? 0, message: stopWords ?? call.endStatus?.reason ?? '' })
    await close()
  }
}
