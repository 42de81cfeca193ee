import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SipGateway } from '../src/sip/sip-gateway.js'
import { freeUdpPort, startBaresip, toneShare } from '../../test-utils/baresip.js'
import type { Baresip } from '../../test-utils/baresip.js'
import type { SipCall, SipCallState } from '../src/sip/sip-gateway.js'

// The relay's SIP gateway against Debian's baresip on loopback (a SIP phone no one here wrote):
// outbound calls answered, rung, refused and hung up from each side, the phone's tone received
// over RTP, and a call the phone places to the gateway refused.

/** AURALINK_SIP_TRACE=1: each SIP message and baresip's output are printed. */
const trace = process.env.AURALINK_SIP_TRACE === '1'

/** Whether something holds UDP `port` on 127.0.0.1. */
async function portTaken (port: number): Promise<boolean> {
  const s = createSocket('udp4')
  const taken = await new Promise<boolean>((resolve) => {
    s.once('error', () => { resolve(true) })
    s.bind(port, '127.0.0.1', () => { resolve(false) })
  })
  await new Promise<void>((resolve) => { try { s.close(() => { resolve() }) } catch { resolve() } })
  return taken
}

/** Resolves once `call` is in `state`; rejects after `timeoutMs` naming the state it is in. */
async function reach (call: SipCall, state: SipCallState, timeoutMs: number): Promise<void> {
  if (call.state === state) return
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { call.off('state', on); reject(new Error(`call not ${state} within ${timeoutMs} ms: ${call.state} ${call.endReason ?? ''} ${JSON.stringify(call.endStatus ?? '')}`)) }, timeoutMs)
    const on = (s: SipCallState): void => { if (s === state) { clearTimeout(t); call.off('state', on); resolve() } }
    call.on('state', on)
  })
}

describe('SipGateway: outbound calls to baresip', () => {
  const phones: Baresip[] = []
  const gateways: SipGateway[] = []
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.stop()
    for (const p of phones.splice(0)) {
      if (trace) console.log(p.output())
      await p.close()
    }
  })

  async function setup (answer: 'auto' | 'manual' = 'auto', answerTimeoutMs?: number): Promise<{ phone: Baresip, gw: SipGateway }> {
    const phone = await startBaresip({ answer, toneHz: 1000 })
    phones.push(phone)
    const gw = new SipGateway({ host: '127.0.0.1', port: await freeUdpPort(), trunks: [{ name: 'phone', host: '127.0.0.1', port: phone.port, transport: 'udp' }], log: (m) => { if (trace) console.log(m) }, trace, ...(answerTimeoutMs !== undefined ? { answerTimeoutMs } : {}) })
    gateways.push(gw)
    return { phone, gw }
  }

  it('an answered call: connected with PCMU, the phone\'s 1 kHz tone arrives over RTP (Goertzel), and our hangup sends BYE: the phone closes the call', async () => {
    const { phone, gw } = await setup('auto')
    const call = await gw.call(phone.uri('bob'))
    const pcm: Int16Array[] = []
    call.on('audio', (s) => { pcm.push(s) })
    await reach(call, 'connected', 10_000)
    expect(call.media?.codec).toBe('PCMU')
    expect(call.media?.dtmfPayloadType).toBe(101) // baresip keeps telephone-event
    await phone.waitFor('CALL_ESTABLISHED', 5_000)
    // a second of audio
    await expect.poll(() => pcm.reduce((n, s) => n + s.length, 0), { timeout: 5_000 }).toBeGreaterThanOrEqual(8000)
    const all = Int16Array.from(pcm.flatMap((s) => [...s]).slice(-8000))
    const at1k = toneShare(all, 1000)
    const at600 = toneShare(all, 600)
    console.log(`1 kHz share of the received second: ${at1k.toFixed(3)} (600 Hz: ${at600.toFixed(3)}); RTP ${JSON.stringify(call.rtp)}`)
    expect(at1k).toBeGreaterThan(0.8)
    expect(at600).toBeLessThan(0.05)
    expect(call.rtp.dropped).toBe(0)
    const before = phone.events.length
    call.hangup()
    expect(call.endReason).toBe('hangup')
    await phone.waitFor('CALL_CLOSED', 5_000, before)
  })

  it('audio we send (a 600 Hz tone, 2 s in 20 ms packets of PCMU) reaches the phone: the call as it recorded it holds 600 Hz, not its own 1 kHz', async () => {
    const { phone, gw } = await setup('auto')
    const call = await gw.call(phone.uri('bob'))
    await reach(call, 'connected', 10_000)
    await phone.waitFor('CALL_ESTABLISHED', 5_000)
    const frame = 160
    for (let i = 0; i < 100; i++) {
      const pcm = Int16Array.from({ length: frame }, (_, j) => Math.round(8000 * Math.sin(2 * Math.PI * 600 * (i * frame + j) / 8000)))
      expect(call.sendAudio(pcm)).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(call.rtpOut.packets).toBe(100)
    const before = phone.events.length
    call.hangup()
    await phone.waitFor('CALL_CLOSED', 5_000, before)
    const [got] = await phone.received()
    expect(got).toBeDefined()
    // its last second (the file also holds the moments before our first packet)
    const last = got!.slice(-8000)
    const at600 = toneShare(last, 600)
    const at1k = toneShare(last, 1000)
    console.log(`the phone received ${got!.length} samples; 600 Hz share of the last second: ${at600.toFixed(3)} (1 kHz: ${at1k.toFixed(3)})`)
    expect(at600).toBeGreaterThan(0.8)
    expect(call.sendAudio(new Int16Array(160))).toBe(false)
  })

  it('DTMF both ways as RFC 4733 telephone-events: "123#" we send is what the phone hears, "4*" the phone sends comes as dtmf events; digits that are not DTMF are a TypeError', async () => {
    const { phone, gw } = await setup('auto')
    const call = await gw.call(phone.uri('bob'))
    await reach(call, 'connected', 10_000)
    await phone.waitFor('CALL_ESTABLISHED', 5_000)
    const heard: string[] = []
    call.on('dtmf', (d) => { heard.push(d) })
    const from = phone.events.length
    await call.sendDtmf('123#')
    await expect.poll(() => phone.events.slice(from).filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param)), { timeout: 5_000 }).toEqual(['1', '2', '3', '#'])
    for (const d of ['4', '*']) {
      await phone.command('sndcode', d)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    await expect.poll(() => heard, { timeout: 5_000 }).toEqual(['4', '*'])
    await expect(call.sendDtmf('12x')).rejects.toThrow('sendDtmf(digits): digits must be one or more of 0-9 * # A-D, got "12x"')
    call.hangup()
  })

  it('the phone hangs up: our call ends "remote-hangup"', async () => {
    const { phone, gw } = await setup('auto')
    const call = await gw.call(phone.uri('bob'))
    await reach(call, 'connected', 10_000)
    await phone.waitFor('CALL_ESTABLISHED', 5_000)
    await phone.command('hangup')
    await reach(call, 'ended', 5_000)
    expect(call.endReason).toBe('remote-hangup')
  })

  it('a phone that rings: "ringing"; our hangup then CANCELs and the phone stops ringing; a call the phone rejects ends with the reason its answer means', async () => {
    const { phone, gw } = await setup('manual')
    const call = await gw.call(phone.uri('bob'))
    await reach(call, 'ringing', 10_000)
    await phone.waitFor('CALL_INCOMING', 5_000)
    const before = phone.events.length
    call.hangup()
    expect(call.endReason).toBe('hangup')
    await phone.waitFor('CALL_CLOSED', 5_000, before)

    const second = await gw.call(phone.uri('bob'))
    await reach(second, 'ringing', 10_000)
    await phone.command('hangup')
    await reach(second, 'ended', 5_000)
    console.log(`the phone's refusal: ${JSON.stringify(second.endStatus)} -> ${second.endReason ?? ''}`)
    expect(second.endStatus?.status).toBeGreaterThanOrEqual(400)
    expect(['busy', 'declined']).toContain(second.endReason)
  })

  it('a phone already in a call answers busy (486): the second call ends "busy"', async () => {
    const { phone, gw } = await setup('auto')
    const first = await gw.call(phone.uri('bob'))
    await reach(first, 'connected', 10_000)
    const second = await gw.call(phone.uri('bob'))
    await reach(second, 'ended', 10_000)
    expect(second.endStatus?.status).toBe(486)
    expect(second.endReason).toBe('busy')
    expect(first.state).toBe('connected')
  })

  it('a trunk where nothing answers ends "unreachable" after answerTimeoutMs; a target on no trunk is a TypeError naming it', async () => {
    const silent = await freeUdpPort()
    const gw = new SipGateway({ host: '127.0.0.1', port: await freeUdpPort(), trunks: [{ name: 'none', host: '127.0.0.1', port: silent, transport: 'udp' }], answerTimeoutMs: 1_500 })
    gateways.push(gw)
    const call = await gw.call(`sip:alice@127.0.0.1:${silent}`)
    await reach(call, 'ended', 5_000)
    expect(call.endReason).toBe('unreachable')
    await expect(gw.call('sip:alice@127.0.0.9:5060')).rejects.toThrow(/127\.0\.0\.9:5060 is none of this relay's trunks/)
    await expect(gw.call('tel:+15551234')).rejects.toThrow(/is not a sip:user@host\[:port\] URI/)
  })

  it('a call the phone places to the gateway is refused (403), and counted', async () => {
    const { phone, gw } = await setup('auto')
    await phone.command('dial', `sip:someone@127.0.0.1:${gw.port}`)
    const closed = await phone.waitFor('CALL_CLOSED', 10_000)
    expect(String(closed.param)).toMatch(/403/)
    expect(gw.refused.inbound_invite).toBe(1)
  })
  it('a trunk that asks for digest authentication (SIPp as the server): the INVITE is sent again with the trunk\'s credentials and answered; wrong ones end the call with the server\'s 403', async () => {
    for (const [password, expected] of [['s3cret-pass', 'connected'], ['not-it', 'failed']] as const) {
      const port = await freeUdpPort()
      const sipp = spawn('sipp', ['-sf', join(import.meta.dirname, 'fixtures/sipp-uas-digest.xml'), '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-timeout', '20s', '-timeout_error'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      sipp.stdout.on('data', (d) => { out += String(d) })
      sipp.stderr.on('data', (d) => { out += String(d) })
      const exited = new Promise<number | null>((resolve) => sipp.once('exit', (code) => { resolve(code) }))
      try {
        // SIPp listens once its port is taken
        await expect.poll(async () => portTaken(port), { timeout: 5_000 }).toBe(true)
        const gw = new SipGateway({ host: '127.0.0.1', port: await freeUdpPort(), trunks: [{ name: 'pbx', host: '127.0.0.1', port, transport: 'udp', username: 'gw', password }], log: (m) => { if (trace) console.log(m) }, trace })
        gateways.push(gw)
        const call = await gw.call(`sip:pbx@127.0.0.1:${port}`)
        await reach(call, expected === 'connected' ? 'connected' : 'ended', 10_000)
        if (expected === 'connected') {
          call.hangup()
          expect(await exited).toBe(0) // SIPp saw the BYE: its one call ran to the end
        } else {
          expect(call.endStatus?.status).toBe(403)
          expect(call.endReason).toBe('failed')
        }
      } finally {
        if (sipp.exitCode === null) sipp.kill('SIGKILL')
        await exited
        if (trace) console.log(out)
      }
    }
  })
  it('hostile datagrams: from an address that is no trunk\'s, dropped unread and unanswered; from a trunk, over 8 KiB dropped unread, and 3,000 mutated INVITEs parsed without harm; the event loop stays free and a call to the phone still connects', async () => {
    const { phone, gw } = await setup('auto')
    const bad = createSocket('udp4')
    await new Promise<void>((resolve) => bad.bind(0, '127.0.0.1', resolve))
    const stranger = createSocket('udp4')
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve))
    const answers: Buffer[] = []
    stranger.on('message', (m) => { answers.push(m) })
    const send = async (s: typeof bad, b: Buffer): Promise<void> => { await new Promise<void>((resolve) => { s.send(b, gw.port, '127.0.0.1', () => { resolve() }) }) }
    const invite = (from: string): Buffer => Buffer.from(`INVITE sip:x@127.0.0.1:${gw.port} SIP/2.0\r\nVia: SIP/2.0/UDP ${from};branch=z9hG4bK${Math.random()}\r\nFrom: <sip:a@${from}>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${Math.random()}@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`)
    // the event loop's worst stall while the datagrams come (the parser's regex on 60 KB of spaces took ~225 ms a datagram)
    let worst = 0
    let last = Date.now()
    const tick = setInterval(() => { worst = Math.max(worst, Date.now() - last - 10); last = Date.now() }, 10)
    try {
      // paced (5 ms apart), so that no datagram is lost to a full socket buffer and each is counted
      const paced = async (s: typeof bad, b: Buffer): Promise<void> => { await send(s, b); await new Promise((resolve) => setTimeout(resolve, 5)) }
      for (let i = 0; i < 20; i++) await paced(stranger, Buffer.alloc(60_000, 0x20))
      for (let i = 0; i < 20; i++) await paced(stranger, invite('127.0.0.2:5999'))
      for (let i = 0; i < 20; i++) await paced(bad, Buffer.alloc(60_000, 0x20))
      const valid = invite('127.0.0.1:5999')
      for (let i = 0; i < 3000; i++) {
        const b = Buffer.from(valid)
        for (let k = 0; k <= i % 8; k++) b[(i * 7919 + k * 104729) % b.length] = (i * 31 + k * 17) & 0xff
        await send(bad, b)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    } finally {
      clearInterval(tick)
    }
    console.log(`refused ${JSON.stringify(gw.refused)}; worst event-loop stall ${worst} ms`)
    expect(gw.refused.not_trunk).toBe(40)
    expect(gw.refused.too_large).toBe(20)
    expect(answers).toEqual([]) // nothing said to a stranger
    expect(worst).toBeLessThan(200)
    const call = await gw.call(phone.uri('bob'))
    await reach(call, 'connected', 10_000)
    call.hangup()
    stranger.close()
    bad.close()
  })
})
