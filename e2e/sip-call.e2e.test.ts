import { createSocket } from 'node:dgram'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { runIn } from './harness/page-run.js'
import { startRelay } from './harness/relay.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import { until } from './harness/aic.js'
import { freeUdpPort, startBaresip, toneShare } from '../test-utils/baresip.js'
import type { Baresip } from '../test-utils/baresip.js'
import type { PageError, PhonePageWindow } from './pages/phone.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { Page } from 'playwright-core'

// Phone calls from Chromium (the SDK's client.call('sip:...')) through a real relay-node process
// started with --sip-listen, to Debian's baresip (a SIP phone no one here wrote) on a trunk:
// audio both ways checked by frequency (the page sends 600 Hz, the phone 1 kHz), DTMF both ways,
// hangup from each side, busy, and the relay's refusals (a target on no trunk, a client with no
// name there, a SIP datagram from an address that is no trunk's).

type Phone = PhonePageWindow['phonePage']

/** Runs `fn(window.phonePage, arg)` in `page`. */
const run = async <T>(page: Page, fn: (p: Phone, arg: unknown) => T | Promise<T>, arg?: unknown): Promise<T> => runIn(page, 'phonePage', fn, arg)

describe('client.call(\'sip:...\') from Chromium through a relay\'s SIP gateway to baresip', () => {
  let relay: E2eRelay | undefined
  let phone: Baresip | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let sipPort = 0
  let pages: Page[] = []
  let n = 0

  /** The AuraID each page registered. */
  const nameOf = new Map<Page, string>()

  async function user (label: string, name = true, incoming = false): Promise<Page> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('phone'), { timeout: 15_000 })
    await page.waitForFunction(() => 'phonePage' in window, undefined, { timeout: 10_000 })
    const auraId = name ? `@${label}-${++n}.aura` : ''
    nameOf.set(page, auraId)
    await run(page, async (p, a) => p.start(...(a as [string, string, boolean])), [relay!.addr, auraId, incoming])
    return page
  }

  /** The SIP URI a phone dials for a page's AuraID: `sip:<name>@<relay's SIP address>`. */
  const sipUriOf = (page: Page): string => `sip:${nameOf.get(page)!.slice(1, -'.aura'.length)}@127.0.0.1:${sipPort}`

  const metrics = async (): Promise<string> => {
    const http = /auralink-relay http (\S+)/.exec(relay!.output())?.[1]
    return (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  }

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startBaresip({ answer: 'auto', toneHz: 1000 }).then(async (p) => {
        phone = p
        sipPort = await freeUdpPort()
        relay = await startRelay({ args: ['--max-reservations-per-address', '64', '--named-min-age-ms', '0', '--sip-call-rate-limit', '5', '--sip-listen', `127.0.0.1:${sipPort}`, '--sip-trunk', `phone=127.0.0.1:${p.port}`] })
      }),
      servePages(['phone']).then((s) => { server = s }),
      launchBrowser({ args: ['--autoplay-policy=no-user-gesture-required'] }).then((b) => { browser = b })
    ])
    throwFirstRejection(started)
  })

  afterEach(async () => {
    for (const page of pages) {
      await Promise.race([run(page, async (p) => p.stop()).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5_000))])
      await page.context().close().catch(() => {})
    }
    pages = []
  })

  afterAll(async () => {
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop(), phone?.close()])
    throwFirstRejection(closed)
  })

  it('a call the phone answers: connected; the phone\'s 1 kHz tone plays in the page and the page\'s 600 Hz on the phone; DTMF both ways; the page hangs up and the phone closes the call', async () => {
    const page = await user('alice')
    const from = phone!.events.length
    expect(await run(page, async (p, t) => p.call(t as string, 600), phone!.uri('bob'))).toBeNull()
    expect(await run(page, async (p) => p.whenConnected(15_000))).toBeNull()
    await phone!.waitFor('CALL_ESTABLISHED', 5_000, from)
    // the phone's tone in the page (Opus from the relay, from the phone's G.711)
    const heard = await until('the page hears 1 kHz', async () => run(page, (p) => p.tone([1000, 600])), (t) => t.samples > 0 && t.shares[0]! > 0.8, 15_000)
    console.log(`[sip] page: 1 kHz share ${heard.shares[0]!.toFixed(3)}, 600 Hz ${heard.shares[1]!.toFixed(3)}, rms ${heard.rms.toFixed(3)} over ${heard.samples} samples`)
    expect(heard.shares[1]).toBeLessThan(0.05)
    // DTMF: the page's digits reach the phone as RFC 4733 events; the phone's reach the page
    expect(await run(page, async (p) => p.sendDtmf('159#'))).toBeNull()
    await expect.poll(() => phone!.events.slice(from).filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param)), { timeout: 10_000 }).toEqual(['1', '5', '9', '#'])
    for (const d of ['7', '*']) {
      await phone!.command('sndcode', d)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    await expect.poll(async () => run(page, (p) => p.dtmf()), { timeout: 10_000 }).toEqual(['7', '*'])
    expect(await run(page, async (p) => p.sendDtmf('12x'))).toMatchObject({ name: 'TypeError', message: expect.stringContaining('"12x"') })
    // two more seconds of the page's tone, then the page hangs up
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const before = phone!.events.length
    await run(page, async (p) => p.hangup())
    // baresip's words for a BYE it received (ECONNRESET from its SIP session)
    expect((await phone!.waitFor('CALL_CLOSED', 5_000, before)).param).toBe('Connection reset by peer')
    // baresip answers 180 before its 200, even when it answers at once
    expect(await run(page, (p) => p.states())).toMatchObject({ states: ['calling', 'ringing', 'connected', 'ended'], endReason: 'hangup' })
    // what the phone received: the page's 600 Hz (through Opus, the jitter buffer, PCMU)
    const got = (await phone!.received()).at(-1)!
    const last = got.slice(-16000, -4000)
    const at600 = toneShare(last, 600)
    console.log(`[sip] phone: 600 Hz share ${at600.toFixed(3)}, 1 kHz ${toneShare(last, 1000).toFixed(3)} over ${last.length} samples (${got.length} received)`)
    expect(at600).toBeGreaterThan(0.8)
    const m = await metrics()
    expect(m).toMatch(/^auralink_sip_requests_total\{result="placed"\} [1-9]/m)
    expect(m).toMatch(/^auralink_sip_calls_ended_total\{reason="hangup"\} [1-9]/m)
  })

  it('the phone hangs up: the page\'s call ends "remote-hangup"; a second call while the phone is busy ends "busy" (486)', async () => {
    const page = await user('carol')
    const from = phone!.events.length
    expect(await run(page, async (p, t) => p.call(t as string, 600), phone!.uri('bob'))).toBeNull()
    expect(await run(page, async (p) => p.whenConnected(15_000))).toBeNull()
    await phone!.waitFor('CALL_ESTABLISHED', 5_000, from)
    // a second page calls the same phone, which takes one call at a time
    const other = await user('dave')
    expect(await run(other, async (p, t) => p.call(t as string, 600), phone!.uri('bob'))).toBeNull()
    expect(await run(other, async (p) => p.whenConnected(15_000))).toMatchObject({ name: 'PhoneCallFailedError', reason: 'busy', status: 486 })
    expect(await run(other, (p) => p.states())).toMatchObject({ endReason: 'busy', endStatus: 486 })
    await phone!.command('hangup')
    await until('the page\'s call ends', async () => run(page, (p) => p.states()), (s) => s.endReason !== undefined, 10_000)
    expect(await run(page, (p) => p.states())).toMatchObject({ states: ['calling', 'ringing', 'connected', 'ended'], endReason: 'remote-hangup' })
  })

  it('refusals: a target on no trunk (PhoneCallFailedError "refused", nothing sent), a client holding no name at the relay ("refused"), a SIP datagram from an address that is no trunk\'s (dropped unanswered, counted), a client past --sip-call-rate-limit ("limit")', async () => {
    const page = await user('erin')
    const before = phone!.events.length
    const notTrunk = await run(page, async (p, t) => p.call(t as string, 600), `sip:bob@127.0.0.1:${phone!.port + 1}`) as PageError
    expect(notTrunk).toMatchObject({ name: 'PhoneCallFailedError', reason: 'refused' })
    expect(notTrunk.message).toContain('none of this relay\'s trunks')
    const stranger = await user('frank', false)
    const noName = await run(stranger, async (p, t) => p.call(t as string, 600), phone!.uri('bob')) as PageError
    expect(noName).toMatchObject({ name: 'PhoneCallFailedError', reason: 'refused' })
    expect(noName.message).toContain('holds a name')
    expect(phone!.events.slice(before).filter((e) => e.type === 'CALL_INCOMING')).toEqual([])
    // an INVITE from 127.0.0.2 (loopback, but no trunk's address): no answer
    const s = createSocket('udp4')
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.2', resolve))
    const answers: Buffer[] = []
    s.on('message', (b) => { answers.push(b) })
    const invite = `INVITE sip:x@127.0.0.1:${sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:${s.address().port};branch=z9hG4bK1\r\nFrom: <sip:scan@127.0.0.2>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: scan1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`
    s.send(invite, sipPort, '127.0.0.1')
    await expect.poll(async () => metrics(), { timeout: 5_000 }).toMatch(/^auralink_sip_refused_total\{reason="not_trunk"\} 1$/m)
    await new Promise((resolve) => setTimeout(resolve, 500))
    s.close()
    expect(answers).toEqual([])
    const m = await metrics()
    expect(m).toMatch(/^auralink_sip_requests_total\{result="not_trunk"\} 1$/m)
    expect(m).toMatch(/^auralink_sip_requests_total\{result="no_name"\} 1$/m)
    // --sip-call-rate-limit 5: erin's sixth request within the minute is refused for the rate,
    // refused requests counting (a client cannot try targets without end)
    const outcomes: string[] = []
    for (let i = 0; i < 5; i++) outcomes.push(((await run(page, async (p, t) => p.call(t as string, 600), `sip:bob${i}@127.0.0.1:${phone!.port + 1}`)) as PageError).reason ?? 'none')
    expect(outcomes).toEqual(['refused', 'refused', 'refused', 'refused', 'limit'])
    expect(await metrics()).toMatch(/^auralink_sip_requests_total\{result="rate"\} 1$/m)
  })

  it('the phone calls an AuraID whose page takes phone calls: the page rings with the caller\'s SIP URI, accepts; tones both ways, DTMF both ways; the phone hangs up', async () => {
    const page = await user('gina', true, true)
    const from = phone!.events.length
    await phone!.command('dial', sipUriOf(page))
    const rung = await until('the page rings', async () => run(page, (p) => p.rung()), (r) => r.length > 0, 10_000)
    expect(rung[0]).toMatchObject({ from: expect.stringMatching(/^sip:bob@127\.0\.0\.1/), state: 'ringing' })
    expect(await run(page, async (p) => p.accept(600))).toBeNull()
    await phone!.waitFor('CALL_ESTABLISHED', 10_000, from)
    const heard = await until('the page hears 1 kHz', async () => run(page, (p) => p.tone([1000, 600])), (t) => t.samples > 0 && t.shares[0]! > 0.8, 15_000)
    console.log(`[sip] inbound, page: 1 kHz share ${heard.shares[0]!.toFixed(3)}, 600 Hz ${heard.shares[1]!.toFixed(3)}`)
    await phone!.command('sndcode', '3')
    await expect.poll(async () => run(page, (p) => p.dtmf()), { timeout: 10_000 }).toEqual(['3'])
    expect(await run(page, async (p) => p.sendDtmf('0'))).toBeNull()
    await expect.poll(() => phone!.events.slice(from).filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param)), { timeout: 10_000 }).toEqual(['0'])
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    await phone!.command('hangup')
    await until('the page\'s call ends', async () => run(page, (p) => p.states()), (s) => s.endReason !== undefined, 10_000)
    expect(await run(page, (p) => p.states())).toMatchObject({ states: ['ringing', 'connected', 'ended'], endReason: 'remote-hangup' })
    const got = (await phone!.received()).at(-1)!
    const last = got.slice(-16000, -4000)
    console.log(`[sip] inbound, phone: 600 Hz share ${toneShare(last, 600).toFixed(3)} over ${last.length} samples`)
    expect(toneShare(last, 600)).toBeGreaterThan(0.8)
    expect(await metrics()).toMatch(/^auralink_sip_inbound_total\{result="rung"\} 1$/m)
  })

  it('the phone calls a name no one holds and one whose holder takes no phone calls: both 404, the same answer; a page that declines: 603', async () => {
    const closed = async (uri: string): Promise<string> => {
      const from = phone!.events.length
      await phone!.command('dial', uri)
      const e = await phone!.waitFor('CALL_CLOSED', 10_000, from)
      return String(e.param)
    }
    const notTaking = await user('hank')
    const nobody = await closed(`sip:nobody-here@127.0.0.1:${sipPort}`)
    const optedOut = await closed(sipUriOf(notTaking))
    console.log(`[sip] phone's closes: ${JSON.stringify({ nobody, optedOut })}`)
    expect(nobody).toContain('404')
    expect(optedOut).toBe(nobody)
    const decliner = await user('ivy', true, true)
    const from = phone!.events.length
    await phone!.command('dial', sipUriOf(decliner))
    await until('the page rings', async () => run(decliner, (p) => p.rung()), (r) => r.length > 0, 10_000)
    expect(await run(decliner, async (p) => p.reject())).toBeNull()
    expect(String((await phone!.waitFor('CALL_CLOSED', 10_000, from)).param)).toContain('603')
    expect(await run(decliner, (p) => p.states())).toMatchObject({ endReason: 'declined' })
    expect(await metrics()).toMatch(/^auralink_sip_inbound_total\{result="not_found"\} 2$/m)
  })

  it('a relay that stops hangs up its SIP calls: the page\'s connected call ends "failed" saying so and the phone gets a BYE; a call still ringing a page is refused 480 (a second baresip)', async () => {
    const phones = await Promise.all([startBaresip({ answer: 'auto', toneHz: 1000 }), startBaresip({ answer: 'auto', toneHz: 1000 })])
    const port = await freeUdpPort()
    const own = await startRelay({ args: ['--max-reservations-per-address', '64', '--named-min-age-ms', '0', '--sip-listen', `127.0.0.1:${port}`, '--sip-trunk', `a=127.0.0.1:${phones[0].port}`, '--sip-trunk', `b=127.0.0.1:${phones[1].port}`] })
    try {
      const talking = await browser!.newPage('kim')
      const rung = await browser!.newPage('lee')
      pages.push(talking, rung)
      for (const [page, name, incoming] of [[talking, `@kim-${++n}.aura`, false], [rung, `@lee-${++n}.aura`, true]] as const) {
        await page.goto(server!.url('phone'), { timeout: 15_000 })
        await page.waitForFunction(() => 'phonePage' in window, undefined, { timeout: 10_000 })
        await run(page, async (p, a) => p.start(...(a as [string, string, boolean])), [own.addr, name, incoming])
        nameOf.set(page, name)
      }
      expect(await run(talking, async (p, t) => p.call(t as string, 600), phones[0].uri('bob'))).toBeNull()
      expect(await run(talking, async (p) => p.whenConnected(15_000))).toBeNull()
      await phones[1].command('dial', `sip:${nameOf.get(rung)!.slice(1, -'.aura'.length)}@127.0.0.1:${port}`)
      await until('the second page rings', async () => run(rung, (p) => p.rung()), (r) => r.length > 0, 10_000)
      const from = phones.map((p) => p.events.length)
      await own.stop()
      const [bye, refused] = await Promise.all(phones.map(async (p, k) => p.waitFor('CALL_CLOSED', 10_000, from[k])))
      console.log(`[sip] relay stopped: the connected phone ${JSON.stringify(bye!.param)}, the ringing one ${JSON.stringify(refused!.param)}`)
      expect(bye!.param).toBe('Connection reset by peer')
      expect(String(refused!.param)).toContain('480')
      expect(await until('the page\'s call ends', async () => run(talking, (p) => p.states()), (x) => x.endReason !== undefined, 10_000)).toMatchObject({ endReason: 'failed', endMessage: 'the relay is stopping' })
    } finally {
      await own.stop()
      for (const p of phones) await p.close()
    }
  })
})
