// The phone test page: one AuraLink client that calls SIP addresses through a relay
// (`client.call('sip:...')`), driven from Node through page.evaluate(() => window.phonePage.xxx()).
// Its microphone is a sine tone of the test's choosing (Web Audio), and what the far end sends is
// measured here: the share of the received audio's power at a frequency (Goertzel), over its last
// 0.68 s. Everything it reports is plain data.
import { AuraLink } from '@auralink/sdk'
import { toneShare } from '../../test-utils/tone.js'
import type { PhoneCall } from '@auralink/sdk'

export interface PageError { name: string, message: string, reason?: string, status?: number }

export interface PhonePage {
  /** AuraLink.create with `relay` (taking phone calls when `incoming`), then register(name) unless name is ''; the PeerId. */
  start(relay: string, name: string, incoming?: boolean): Promise<string>
  /** Phone calls that rang this page so far: caller, display name, state. */
  rung(): Array<{ from: string, displayName: string, state: string }>
  /** accept() on the call that rings, sending a tone at `toneHz`: null once connected, or the error. */
  accept(toneHz: number): Promise<PageError | null>
  /** reject() on the call that rings: null, or the error. */
  reject(): Promise<PageError | null>
  /** client.call(target) sending a sine tone at `toneHz`: null once placed, or the error. */
  call(target: string, toneHz: number): Promise<PageError | null>
  /** The call's states so far, in order, and its end. */
  states(): { states: string[], endReason?: string, endStatus: number, endMessage: string }
  /** whenConnected(): null, or the error. */
  whenConnected(timeoutMs: number): Promise<PageError | null>
  /** DTMF digits received, in order. */
  dtmf(): string[]
  /** call.sendDtmf(digits): null, or the error. */
  sendDtmf(digits: string): Promise<PageError | null>
  /** The received audio's power share at each of `hz` over its last 32768 samples (0.68 s at 48 kHz), and its RMS (0-1). */
  tone(hz: number[]): { shares: number[], rms: number, samples: number }
  hangup(): Promise<void>
  stop(): Promise<void>
}

export interface PhonePageWindow { phonePage: PhonePage }

let client: AuraLink | undefined
let call: PhoneCall | undefined
const states: string[] = []
const digits: string[] = []
const audio = document.getElementById('remote') as HTMLAudioElement
let ctx: AudioContext | undefined
let analyser: AnalyserNode | undefined

const errorOf = (err: unknown): PageError => {
  const e = err as { name?: string, message?: string, reason?: string, status?: number }
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), ...(e?.reason !== undefined ? { reason: e.reason } : {}), ...(e?.status !== undefined ? { status: e.status } : {}) }
}

const rang: PhoneCall[] = []

/** A sine tone at `hz` as a MediaStream (Web Audio): this page's microphone. */
async function tone (hz: number): Promise<MediaStream> {
  ctx ??= new AudioContext()
  await ctx.resume()
  const osc = new OscillatorNode(ctx, { frequency: hz })
  const gain = new GainNode(ctx, { gain: 0.3 })
  const dest = new MediaStreamAudioDestinationNode(ctx)
  osc.connect(gain).connect(dest)
  osc.start()
  return dest.stream
}

/** Records the call's states and digits, and measures its remote audio. */
function follow (c: PhoneCall): void {
  states.length = 0
  digits.length = 0
  // an outbound call() resolves in 'calling'; the relay's next word may have come meanwhile
  if (c.direction === 'outbound') states.push('calling')
  if (c.state !== 'calling') states.push(c.state)
  c.addEventListener('state', (e) => { states.push(e.detail) })
  c.addEventListener('dtmf', (e) => { digits.push(e.detail.digit) })
  const listen = (stream: MediaStream): void => {
    // Chromium plays a remote WebRTC track into Web Audio only while a media element has it
    audio.srcObject = stream
    ctx ??= new AudioContext()
    analyser = new AnalyserNode(ctx, { fftSize: 32768 })
    new MediaStreamAudioSourceNode(ctx, { mediaStream: stream }).connect(analyser)
  }
  if (c.remoteStream !== undefined) listen(c.remoteStream)
  c.addEventListener('track', (e) => { listen(e.detail.stream) })
}

const phonePage: PhonePage = {
  async start (relay, name, incoming = false) {
    client = await AuraLink.create({ relays: [relay], iceServers: [], keyStore: null, phone: { incoming } })
    if (name !== '') await client.register(name)
    client.addEventListener('incoming:phone', (e) => {
      call = e.detail.call
      rang.push(call)
      follow(call)
    })
    return client.peerId.toString()
  },
  async call (target, toneHz) {
    const stream = await tone(toneHz)
    try {
      call = await client!.call(target as `sip:${string}`, { stream })
    } catch (err) {
      return errorOf(err)
    }
    follow(call)
    return null
  },
  rung: () => rang.map((c) => ({ from: c.target, displayName: c.displayName, state: c.state })),
  async accept (toneHz) {
    try {
      await call!.accept({ stream: await tone(toneHz) })
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  async reject () {
    try {
      await call!.reject()
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  states: () => ({ states: states.slice(), ...(call?.endReason !== undefined ? { endReason: call.endReason } : {}), endStatus: call?.endStatus ?? 0, endMessage: call?.endMessage ?? '' }),
  async whenConnected (timeoutMs) {
    try {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([call!.whenConnected(), new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`not connected within ${timeoutMs} ms: ${call!.state}`)) }, timeoutMs) })])
      clearTimeout(timer)
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  dtmf: () => digits.slice(),
  async sendDtmf (d) {
    try {
      await call!.sendDtmf(d)
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  tone (hz) {
    if (analyser === undefined || ctx === undefined) return { shares: hz.map(() => 0), rms: 0, samples: 0 }
    const x = new Float32Array(analyser.fftSize)
    analyser.getFloatTimeDomainData(x)
    let sum = 0
    for (const v of x) sum += v * v
    return { shares: hz.map((f) => toneShare(x, f, ctx!.sampleRate)), rms: Math.sqrt(sum / x.length), samples: x.length }
  },
  async hangup () {
    await call?.hangup()
  },
  async stop () {
    await client?.stop()
  }
}

;(window as unknown as PhonePageWindow).phonePage = phonePage
