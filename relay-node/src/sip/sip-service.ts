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
 * This module imports werift (through sip-bridge.ts): node.ts loads it only when SIP is on.
 */
import { decodeSipControl, decodeSipRequest, encodeSipEvent, MAX_SIP_DTMF_DIGITS, MAX_SIP_MESSAGE_BYTES, MAX_SIP_OFFER_BYTES, MAX_SIP_TARGET_CHARS, SIP_DTMF_PATTERN, SIP_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { SipBridge } from './sip-bridge.js'
import type { SipCall, SipGateway } from './sip-gateway.js'
import type { SipEndReason } from '@auralink/protocol'
import type { AbortOptions, Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Logger } from 'pino'

/** A request's outcome, as `auralink_sip_requests_total{result}` counts it. */
export type SipRequestOutcome = 'placed' | 'bad_request' | 'no_name' | 'not_trunk' | 'limit' | 'failed'

export interface SipServiceInit {
  gateway: SipGateway
  /** SIP calls at once on this relay. */
  maxCalls: number
  /** SIP calls at once from one client. */
  maxCallsPerPeer: number
  /** Whether `peer` holds a name in this relay's directory: only those place calls. */
  holdsName(peer: PeerId, options: AbortOptions): Promise<boolean>
  log: Logger
  /** How long the request may take to arrive once the stream is open. @default 10000 */
  requestTimeoutMs?: number
  /** Called once per request with its outcome. */
  onRequest?: (outcome: SipRequestOutcome) => void
  /** Called once per placed call when it ended, with why. */
  onEnded?: (reason: SipEndReason) => void
}

interface Registrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** Words of a refusal sent to the client, by outcome. */
const REFUSAL_REASON: Record<Exclude<SipRequestOutcome, 'placed'>, SipEndReason> = { bad_request: 'refused', no_name: 'refused', not_trunk: 'refused', limit: 'limit', failed: 'failed' }

export class SipService {
  /** Calls (and requests being checked) by peer. */
  private readonly perPeer = new Map<string, number>()
  private total = 0
  private readonly calls = new Set<{ call?: SipCall, end: (why: string) => void }>()
  private readonly serving = new Set<Promise<void>>()
  private registrar: Registrar | undefined
  private stopping = false

  constructor (private readonly init: SipServiceInit) {}

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
    }, { maxInboundStreams: Math.max(1, this.init.maxCallsPerPeer) })
  }

  /** Hangs up every call (each client told why), stops serving, closes the gateway. */
  async stop (): Promise<void> {
    this.stopping = true
    await this.registrar?.unhandle(SIP_PROTOCOL).catch(() => {})
    for (const c of this.calls) c.end('the relay is stopping')
    await Promise.allSettled([...this.serving])
    await this.init.gateway.stop()
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const who = peer.toString()
    const log = this.init.log
    const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
    // the relay's messages go one at a time, in order; one that cannot be delivered is lost with the stream
    let said = Promise.resolve()
    const say = async (m: Parameters<typeof encodeSipEvent>[0]): Promise<void> => {
      said = said.then(async () => { await lp.write(encodeSipEvent(m), { signal: AbortSignal.timeout(5_000) }) }).catch(() => {})
      await said
    }
    const refuse = async (outcome: Exclude<SipRequestOutcome, 'placed'>, message: string): Promise<void> => {
      this.init.onRequest?.(outcome)
      log.info({ peer: who, outcome, reason: message }, 'sip request refused')
      await say({ state: 'ended', endReason: REFUSAL_REASON[outcome], message })
      await stream.close({ signal: AbortSignal.timeout(2_000) }).catch((err: Error) => { stream.abort(err) })
    }
    if (this.stopping) { await refuse('failed', 'the relay is stopping'); return }
    if (this.total >= this.init.maxCalls) { await refuse('limit', `this relay places ${this.init.maxCalls} SIP call(s) at once, all taken`); return }
    if ((this.perPeer.get(who) ?? 0) >= this.init.maxCallsPerPeer) { await refuse('limit', `this relay places ${this.init.maxCallsPerPeer} SIP call(s) at once for one client`); return }
    this.total++
    this.perPeer.set(who, (this.perPeer.get(who) ?? 0) + 1)
    try {
      await this.place(stream, lp, peer, say, refuse)
    } finally {
      this.total--
      const n = (this.perPeer.get(who) ?? 1) - 1
      if (n > 0) this.perPeer.set(who, n)
      else this.perPeer.delete(who)
    }
  }

  private async place (stream: Stream, lp: ReturnType<typeof lpStream<Stream>>, peer: PeerId, say: (m: Parameters<typeof encodeSipEvent>[0]) => Promise<void>, refuse: (outcome: Exclude<SipRequestOutcome, 'placed'>, message: string) => Promise<void>): Promise<void> {
    const who = peer.toString()
    const log = this.init.log
    let target: string
    let offerSdp: string
    try {
      const req = decodeSipRequest((await lp.read({ signal: AbortSignal.timeout(this.init.requestTimeoutMs ?? 10_000) })).subarray())
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
    entry.call = call
    this.calls.add(entry)
    // set when the relay ends the call (it stops, or the client's connection failed): why
    let stopWords: string | undefined
    entry.end = (why) => { stopWords ??= why; call.hangup() }
    bridge.attach(call)
    log.info({ peer: who, target, callId: call.callId }, 'sip call placed')
    // the answer first; the call's progress after it, in order (say() queues)
    void say({ answerSdp: bridge.answerSdp, state: 'calling' })
    call.on('state', (s) => { if (s === 'ringing' || s === 'connected') void say({ state: s }) })
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
    log.info({ peer: who, target, callId: call.callId, reason, ...(call.endStatus !== undefined ? { status: call.endStatus.status } : {}), bridge: bridge.stats, rtp: call.rtp }, 'sip call ended')
    await say({ state: 'ended', endReason: reason, status: call.endStatus?.status ?? 0, message: stopWords ?? call.endStatus?.reason ?? '' })
    await stream.close({ signal: AbortSignal.timeout(2_000) }).catch((err: Error) => { stream.abort(err) })
  }
}
