/* global window -- the functions passed to page.evaluate() run in the page */
// bench/aic/call: AIC tool 1 end to end, in real calls between two Chromium pages across a
// link shaped to 150, 300, 600 and 1200 kbit/s, against plain WebRTC in the same run.
//
// Two AuraLink clients (e2e/pages/aic-call.ts) in one Chromium that runs in a child network
// namespace whose UDP crosses an HTB class of the link's rate (e2e/harness/shaped-link.ts); the
// relay and the pages are served from the test namespace, unshaped. The sender's camera is
// Chromium's fake capture playing a held-out clip (bench/aic/call-clip.mjs) whose frames carry
// their number (e2e/pages/frame-stamp.ts); video goes one way, the receiver sends none. Arms,
// interleaved per rate (plain, aic, then aic, plain at the next rate, ...), each a fresh call:
//   plain  call(..., { aic: 'off' }) and accept({ aic: 'off' }): Chromium's own congestion
//          control and resolution adaptation
//   aic    call(..., { aic: 'adaptive' }) and accept({ aic: 'adaptive' }): AIC adaptive
//   forced as aic, but the sender's crossover table says half size wins at every rate: AIC at 2x
//          wherever the receiver's enhancer keeps up (not a mode users get: what AIC does in a
//          live call where the shipped table keeps it off)
// Each call settles (8 s), then a window (15 s) is measured:
//   sent kbit/s   the sender's video outbound-rtp bytesSent + headerBytesSent over the window
//                 (retransmissions included; SRTP, UDP and IP overhead not)
//   SSIM, PSNR    luma (BT.601, @auralink/aic's lumaOf, ssim, mse) of each frame the receiver's
//                 track delivered, against the source frame its stamp names, at the source size:
//                 a smaller frame is scaled up bilinearly (canvas drawImage, as a <video> element
//                 shows it) before measuring; the stamp's plate (top-left) is left out of both
//   fps           frames the receiver's track delivered per second of the window
//   delay         glass to glass: Date.now() when the receiver got a frame minus when the sender
//                 read the same stamp on its local camera track (one browser, one clock)
//   aic           call.stats().aic at both ends when the SDK has it (scale, enhancer ms, frames
//                 enhanced and passed through, fallback); "absent" when it does not: then the aic
//                 arm was a plain call and its BD-rate is plain against plain (noise)
// and AIC's BD-rate against plain (packages/aic bdRate: SSIM and PSNR over sent kbit/s) where the
// curves overlap. Writes bench/results/aic-call.json (--quick: aic-call-quick.json; --size
// 1280x720: aic-call-1280x720[-quick].json), relative paths only.
//
//   scripts/netns.sh node bench/aic/call.mjs [--quick] [--rates 150,300,600,1200] [--rounds 2]
//       [--settle-s 8] [--window-s 15] [--size 640x360] [--every 1] [--fps 30] [--threads N]
// (--fps N asks the camera for N frames a second, e.g. 10, where the WASM enhancer keeps up; the
// result file's name then says it)
// (after npm run build; needs ffmpeg, iproute2's tc, Chromium, opencv-doc, mate-backgrounds and
// python3-matplotlib). Full: 2 rounds of the 4 rates, about 10 minutes; --quick: 300 and 1200
// kbit/s, 1 round, 4 s settle, 6 s window, about 1 minute.
import { registerHooks } from 'node:module'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { bdRate, mse, ssim } from '@auralink/aic'
import { percentile, requireNetns, round, startRelay, writeResult } from '../lib.mjs'
import { FPS, prepareClip } from './call-clip.mjs'

requireNetns('aic/call')
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    rounds: { type: 'string' },
    'settle-s': { type: 'string' },
    'window-s': { type: 'string' },
    size: { type: 'string', default: '640x360' },
    every: { type: 'string' },
    fps: { type: 'string' },
    threads: { type: 'string' },
    n: { type: 'string', default: '42' }
  }
})
const quick = values.quick
const RATES = (values.rates ?? (quick ? '300,1200' : '150,300,600,1200')).split(',').map(Number)
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 2))
const SETTLE_MS = Number(values['settle-s'] ?? (quick ? 4 : 8)) * 1000
const WINDOW_MS = Number(values['window-s'] ?? (quick ? 6 : 15)) * 1000
const [W, H] = values.size.split('x').map(Number)
const EVERY = Number(values.every ?? (W > 640 ? 2 : 1))
// the camera's frame rate: the clip's 30 unless --fps asks the (fake) camera for fewer
const CAMERA_FPS = values.fps !== undefined ? Number(values.fps) : undefined
// WASM threads of each page's enhancers (aic.threads; the pages are cross-origin isolated); default: onnxruntime-web's choice
const THREADS = values.threads !== undefined ? Number(values.threads) : undefined
const bad = [
  RATES.some((r) => !(r >= 8)) && `--rates must be kbit/s >= 8, got ${values.rates}`,
  !(Number.isInteger(ROUNDS) && ROUNDS >= 1) && `--rounds must be a whole number >= 1, got ${values.rounds}`,
  !(SETTLE_MS >= 0 && WINDOW_MS >= 1000) && '--settle-s must be >= 0 and --window-s >= 1',
  !(values.size === '640x360' || values.size === '1280x720') && `--size must be 640x360 or 1280x720, got ${values.size}`,
  !(Number.isInteger(EVERY) && EVERY >= 1) && `--every must be a whole number >= 1, got ${values.every}`,
  THREADS !== undefined && !(Number.isInteger(THREADS) && THREADS >= 1 && THREADS <= 16) && `--threads must be a whole number from 1 to 16, got ${values.threads}`,
  CAMERA_FPS !== undefined && !(Number.isInteger(CAMERA_FPS) && CAMERA_FPS >= 1 && CAMERA_FPS <= 30) && `--fps must be a whole number from 1 to 30, got ${values.fps}`
].filter(Boolean)
if (bad.length > 0) {
  console.error(`aic/call: ${bad.join('; ')}`)
  process.exit(2)
}

// Node runs the e2e harness's TypeScript as is, but its imports name the .js files tsc would
// emit: resolve a missing relative .js imported from a .ts file to the .ts beside it
registerHooks({
  resolve (specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context)
    } catch (err) {
      if (err?.code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context)
      }
      throw err
    }
  }
})
const { createShapedLink, queuePacketsFor, SHAPED_LINK_DEFAULTS } = await import('../../e2e/harness/shaped-link.ts')
const { servePages } = await import('../../e2e/harness/server.ts')
const { trackPeerConnections } = await import('../../e2e/harness/webrtc.ts')
const stamp = await import('../../e2e/pages/frame-stamp.ts')

const SENDER = '@aic-sender.aura'
const FORCED_SENDER = '@aic-forced.aura'
const RECEIVER = '@aic-receiver.aura'
const ARMS = { plain: 'off', aic: 'adaptive', forced: 'adaptive' }
// the forced arm's sender has a crossover table in which half size wins at every rate: AIC at 2x
// wherever the receiver keeps up, whatever the measured table says. Not a mode users get: it
// measures what AIC does in a live call where the shipped table keeps it off
const FORCE_2X_TABLE = {
  version: 1,
  generatedBy: 'bench/aic/call.mjs (forced arm)',
  generatedAt: '2026-12-04T00:00:00.000Z',
  source: 'bench/aic/call.mjs',
  clips: ['forced-a', 'forced-b'],
  rows: [0.0005, 0.005, 0.05, 0.5, 5].map((bpp) => ({ height: 360, scale: 2, bpp, kbps: Math.round(bpp * 640 * 360 * 30 / 1000), clips: 2, ssimDelta: { p25: 1, median: 1, mean: 1 }, psnrDelta: { p25: 1, median: 1, mean: 1 } }))
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function ok (result, what) {
  if (result != null && typeof result === 'object' && 'name' in result && 'message' in result) throw new Error(`${what}: ${result.name}: ${result.message}`)
  return result
}

const clip = await prepareClip(W, H, stamp)
const { layout, reference } = clip
const CLIP_MS = clip.frames / FPS * 1000

// metrics over the frame minus the stamp's plate: the strip right of it and everything below,
// combined by pixel count (MSE) and by 8x8 window count (SSIM); both start on SSIM's 4x4 grid
const REGIONS = [[layout.maskWidth, 0, W - layout.maskWidth, layout.maskHeight], [0, layout.maskHeight, W, H - layout.maskHeight]]
function crop (plane, [x0, y0, w, h]) {
  const out = new Uint8Array(w * h)
  for (let y = 0; y < h; y++) out.set(plane.subarray((y0 + y) * W + x0, (y0 + y) * W + x0 + w), y * w)
  return { width: w, height: h, data: out }
}
function masked (ref, got) {
  let sse = 0; let pixels = 0; let ssimSum = 0; let windows = 0
  for (const r of REGIONS) {
    const a = crop(ref, r)
    const b = crop(got, r)
    sse += mse(a, b) * r[2] * r[3]
    pixels += r[2] * r[3]
    const wins = ((r[2] >> 2) - 1) * ((r[3] >> 2) - 1)
    ssimSum += ssim(a, b) * wins
    windows += wins
  }
  const e = sse / pixels
  return { ssim: ssimSum / windows, psnr: e === 0 ? 100 : Math.min(100, 10 * Math.log10(255 * 255 / e)) }
}

const mean = (xs) => xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length
const median = (xs) => percentile(xs, 50)
const num = (x) => typeof x === 'number' && Number.isFinite(x) ? x : 0

const link = await createShapedLink({ n: Number(values.n) })
let server
let relay
let browser
const t0 = Date.now()
try {
  // cross-origin isolated, as an app that wants AIC serves itself (the web example does): the enhancer gets WASM threads
  server = await servePages(['aic-call'], { host: link.host, minify: true, sourcemap: false, crossOriginIsolated: true })
  relay = await startRelay({ args: ['--host', link.host] })
  browser = await link.launchBrowser({ secureOrigins: [server.origin], args: [`--use-file-for-fake-video-capture=${clip.y4m}`] })
  const page = async (label, name, table) => {
    const p = await browser.newPage(label)
    await trackPeerConnections(p)
    await p.goto(server.url('aic-call'), { timeout: 30_000 })
    await p.waitForFunction(() => 'aicCallPage' in window, undefined, { timeout: 10_000 })
    await p.evaluate(async ([r, n, t, th]) => window.aicCallPage.start(r, n, 'adaptive', t ?? undefined, th ?? undefined), [relay.addr, name, table ?? null, THREADS ?? null])
    await p.evaluate((l) => { window.aicCallPage.configure(l) }, layout)
    return p
  }
  const plainSender = await page('sender', SENDER)
  const forcedSender = await page('forced', FORCED_SENDER, FORCE_2X_TABLE)
  const receiver = await page('receiver', RECEIVER)
  let sender = plainSender
  let capturePath

  /** One call on the link at `rate`, arm `arm`: settle, measure, hang up; the figures. */
  async function measure (rate, arm, roundNo) {
    const mode = ARMS[arm]
    sender = arm === 'forced' ? forcedSender : plainSender
    await link.setRate(rate)
    await receiver.evaluate((m) => { window.aicCallPage.answer(m) }, mode)
    ok(await sender.evaluate(async ([n, m, f]) => window.aicCallPage.call(n, m, f ?? undefined), [RECEIVER, mode, CAMERA_FPS ?? null]), 'call()')
    ok(await receiver.evaluate(async () => window.aicCallPage.waitReady(30_000, true)), 'receiver ready')
    ok(await sender.evaluate(async () => window.aicCallPage.waitReady(10_000, false)), 'sender ready')
    // the sender's local stamps from the start of settling: the first frames of the window left it earlier
    await sender.evaluate(() => { window.aicCallPage.record(true) })
    if (capturePath === undefined) {
      // the capture path alone (fake camera -> track -> canvas -> luma) against the reference: the metrics' floor
      const probe = ok(await sender.evaluate(async () => window.aicCallPage.probeLocal(10, 10_000)), 'probeLocal')
      const scores = probe.map((b64) => Buffer.from(b64, 'base64')).map((luma) => {
        const n = stamp.readStamp(luma, W, layout)
        return n < 0 ? undefined : masked(reference[n], luma)
      }).filter((s) => s !== undefined)
      capturePath = { frames: scores.length, ssimMean: round(mean(scores.map((s) => s.ssim)), 5), psnrMean: round(mean(scores.map((s) => s.psnr)), 2) }
      console.log(`capture path (sender's own camera track vs the source, ${scores.length} frames): SSIM ${capturePath.ssimMean}, PSNR ${capturePath.psnrMean} dB`)
    }
    await sleep(SETTLE_MS)
    const statsBoth = async () => Promise.all([sender, receiver].map(async (p) => p.evaluate(async () => window.aicCallPage.stats())))
    const [s0, r0, l0, st0] = [await sender.evaluate(async () => window.aicCallPage.rtp()), await receiver.evaluate(async () => window.aicCallPage.rtp()), await link.stats(), await statsBoth()]
    await receiver.evaluate((e) => { window.aicCallPage.record(true, e) }, EVERY)
    const wStart = Date.now()
    await sleep(WINDOW_MS)
    await receiver.evaluate(() => { window.aicCallPage.record(false) })
    const wEnd = Date.now()
    await sender.evaluate(() => { window.aicCallPage.record(false) })
    const [s1, r1, l1, st1] = [await sender.evaluate(async () => window.aicCallPage.rtp()), await receiver.evaluate(async () => window.aicCallPage.rtp()), await link.stats(), await statsBoth()]
    const events = await Promise.all([sender, receiver].map(async (p) => p.evaluate(() => window.aicCallPage.aicEvents())))
    const tracks = await receiver.evaluate(() => window.aicCallPage.tracks())
    await sender.evaluate(async () => window.aicCallPage.hangup())
    ok(await receiver.evaluate(async () => window.aicCallPage.waitEnded(10_000)), 'receiver ended')

    // frames: the receiver's records and kept luma, the sender's local stamps
    const recs = await receiver.evaluate(() => window.aicCallPage.records())
    const local = await sender.evaluate(() => window.aicCallPage.records())
    const sentAt = new Map()
    for (const r of local) if (r.n >= 0) (sentAt.get(r.n) ?? sentAt.set(r.n, []).get(r.n)).push(r.t)
    const delays = []
    let unmatched = 0
    for (const r of recs) {
      if (r.n < 0) continue
      const ts = (sentAt.get(r.n) ?? []).filter((t) => t <= r.t && r.t - t < CLIP_MS / 2)
      if (ts.length === 0) unmatched++
      else delays.push(r.t - Math.max(...ts))
    }
    const scores = []
    const kept = recs.filter((r) => r.kept)
    for (let from = 0; from < kept.length; from += 16) {
      const batch = await receiver.evaluate(async ([f, c]) => window.aicCallPage.takeLuma(f, c), [from, 16])
      batch.forEach((b64, i) => { scores.push(masked(reference[kept[from + i].n], Buffer.from(b64, 'base64'))) })
    }
    await Promise.all([sender, receiver].map(async (p) => p.evaluate(() => { window.aicCallPage.clear() })))

    const secs = (s1.at - s0.at) / 1000
    const ob = (s, k) => num(s.outbound?.[k])
    const ib = (s, k) => num(s.inbound?.[k])
    const aicOf = (st) => (st != null && typeof st === 'object' && 'aic' in st && st.aic != null ? st.aic : undefined)
    const aic = { sender: aicOf(st1[0]), receiver: aicOf(st1[1]), senderAtWindowStart: aicOf(st0[0]), receiverAtWindowStart: aicOf(st0[1]) }
    // a stats() that failed (the call ended, say) is a PageError: keep what it said
    const errorOf = (st) => (st != null && typeof st === 'object' && 'name' in st && 'message' in st
      ? `${st.name}: ${st.message}`
      : st?.ended !== undefined ? `the call had ended: ${st.ended.reason} ${st.ended.message ?? ''}` : undefined)
    const statsErrors = [['sender at start', st0[0]], ['receiver at start', st0[1]], ['sender at end', st1[0]], ['receiver at end', st1[1]]]
      .map(([w, st]) => (errorOf(st) !== undefined ? `${w}: ${errorOf(st)}` : undefined)).filter((x) => x !== undefined)
    const sizes = recs.map((r) => `${r.w}x${r.h}`)
    const sizeCounts = Object.fromEntries([...new Set(sizes)].map((s) => [s, sizes.filter((x) => x === s).length]))
    return {
      rate,
      arm,
      round: roundNo,
      aicMode: mode,
      windowS: round((wEnd - wStart) / 1000, 2),
      sentKbit: round((ob(s1, 'bytesSent') + ob(s1, 'headerBytesSent') - ob(s0, 'bytesSent') - ob(s0, 'headerBytesSent')) * 8 / secs / 1000, 1),
      payloadKbit: round((ob(s1, 'bytesSent') - ob(s0, 'bytesSent')) * 8 / secs / 1000, 1),
      retransmittedKbit: round((ob(s1, 'retransmittedBytesSent') - ob(s0, 'retransmittedBytesSent')) * 8 / secs / 1000, 1),
      // everything the shaped class carried (both directions: media, RTCP, the libp2p connection), IP headers included
      linkKbit: round((l1.bytes - l0.bytes) * 8 / ((wEnd - wStart) / 1000) / 1000, 1),
      linkDrops: l1.drops - l0.drops,
      ...(statsErrors.length > 0 ? { statsErrors } : {}),
      fps: round(recs.length / ((wEnd - wStart) / 1000), 2),
      framesDelivered: recs.length,
      distinctFrames: new Set(recs.filter((r) => r.n >= 0).map((r) => r.n)).size,
      unreadableStamps: recs.filter((r) => r.n < 0).length,
      framesMeasured: scores.length,
      ssim: { mean: round(mean(scores.map((s) => s.ssim)), 4), median: round(median(scores.map((s) => s.ssim)), 4) },
      psnr: { mean: round(mean(scores.map((s) => s.psnr)), 2), median: round(median(scores.map((s) => s.psnr)), 2) },
      delayMs: { p50: round(percentile(delays, 50), 0), p95: round(percentile(delays, 95), 0), n: delays.length, unmatched },
      receivedSizes: sizeCounts,
      sender: {
        frameWidth: s1.outbound?.frameWidth,
        frameHeight: s1.outbound?.frameHeight,
        framesEncoded: ob(s1, 'framesEncoded') - ob(s0, 'framesEncoded'),
        qualityLimitationReason: s1.outbound?.qualityLimitationReason,
        targetBitrateKbit: s1.outbound?.targetBitrate !== undefined ? round(num(s1.outbound.targetBitrate) / 1000, 1) : undefined,
        availableOutgoingKbit: s1.pair?.availableOutgoingBitrate !== undefined ? round(num(s1.pair.availableOutgoingBitrate) / 1000, 1) : undefined,
        encoder: s1.outbound?.encoderImplementation
      },
      receiver: {
        framesDecoded: ib(r1, 'framesDecoded') - ib(r0, 'framesDecoded'),
        framesDropped: ib(r1, 'framesDropped') - ib(r0, 'framesDropped'),
        packetsLost: ib(r1, 'packetsLost') - ib(r0, 'packetsLost'),
        freezes: ib(r1, 'freezeCount') - ib(r0, 'freezeCount'),
        freezeS: round(ib(r1, 'totalFreezesDuration') - ib(r0, 'totalFreezesDuration'), 2),
        rttMs: s1.pair?.currentRoundTripTime !== undefined ? round(num(s1.pair.currentRoundTripTime) * 1000, 1) : undefined,
        decoder: r1.inbound?.decoderImplementation,
        videoTracks: tracks
      },
      codec: st1[1]?.codecs?.video,
      aic: aic.sender === undefined && aic.receiver === undefined ? 'absent' : aic,
      // the `aic` events of each end (sender, receiver), at most 20 each
      aicEvents: events.map((e) => e.slice(0, 20))
    }
  }

  const runs = []
  const failures = []
  let k = 0
  for (let roundNo = 1; roundNo <= ROUNDS; roundNo++) {
    for (const rate of RATES) {
      // plain first at even steps, aic first at odd ones: neither arm always follows the other
      const order = [['plain', 'aic', 'forced'], ['aic', 'forced', 'plain'], ['forced', 'plain', 'aic']][k++ % 3]
      for (const arm of order) {
        try {
          const r = await measure(rate, arm, roundNo)
          runs.push(r)
          console.log(`${rate} kbit/s ${arm.padEnd(6)}: sent ${r.sentKbit} kbit/s, ${r.fps} fps, SSIM ${r.ssim.mean}, PSNR ${r.psnr.mean} dB, delay ${r.delayMs.p50} ms, ${Object.keys(r.receivedSizes).join(' ')}${r.aic === 'absent' ? ', stats().aic absent' : ''}`)
        } catch (err) {
          failures.push({ rate, arm, round: roundNo, error: err.message })
          console.error(`${rate} kbit/s ${arm}: failed: ${err.message}`)
          await sender.evaluate(async () => window.aicCallPage.hangup()).catch(() => {})
          await sleep(2000)
          await Promise.all([sender, receiver].map(async (p) => p.evaluate(() => { window.aicCallPage.record(false); window.aicCallPage.clear() }).catch(() => {})))
        }
      }
    }
  }

  // per rate and arm: the mean over rounds
  const summaryRows = []
  for (const rate of RATES) {
    for (const arm of Object.keys(ARMS)) {
      const rs = runs.filter((r) => r.rate === rate && r.arm === arm)
      if (rs.length === 0) continue
      const m = (f) => mean(rs.map(f))
      const last = rs[rs.length - 1]
      summaryRows.push({
        rate,
        arm,
        runs: rs.length,
        sentKbit: round(m((r) => r.sentKbit), 1),
        fps: round(m((r) => r.fps), 2),
        ssimMean: round(m((r) => r.ssim.mean), 4),
        ssimMedian: round(m((r) => r.ssim.median), 4),
        psnrMean: round(m((r) => r.psnr.mean), 2),
        psnrMedian: round(m((r) => r.psnr.median), 2),
        delayP50Ms: round(m((r) => r.delayMs.p50), 0),
        delayP95Ms: round(m((r) => r.delayMs.p95), 0),
        receivedSize: Object.entries(last.receivedSizes).sort((a, b) => b[1] - a[1])[0]?.[0],
        aic: last.aic === 'absent'
          ? 'absent'
          : { scale: last.aic.sender?.scale ?? last.aic.receiver?.scale, enhanceMs: last.aic.receiver?.enhanceMs, framesEnhanced: last.aic.receiver?.framesEnhanced, framesPassedThrough: last.aic.receiver?.framesPassedThrough, fallback: last.aic.receiver?.fallback ?? last.aic.sender?.fallback, runtime: last.aic.receiver?.runtime }
      })
    }
  }
  const curve = (arm, q) => summaryRows.filter((r) => r.arm === arm && Number.isFinite(r[q]) && r.sentKbit > 0).map((r) => ({ rate: r.sentKbit, quality: r[q] }))
  const bdOf = (arm) => {
    const bd = {}
    for (const [name, q] of [['ssim', 'ssimMean'], ['psnr', 'psnrMean']]) {
      try {
        bd[name] = round(bdRate(curve('plain', q), curve(arm, q)), 1)
      } catch (err) {
        bd[name] = { error: err.message }
      }
    }
    return bd
  }
  const bd = bdOf('aic')
  const bdForced = bdOf('forced')
  // whether AIC did anything in the aic arm: absent (an SDK without AIC), never engaged (scale 1
  // and no frame enhanced in any aic call: frames only passed through), or engaged
  const engaged = (r) => r.aic !== 'absent' && ((r.aic.receiver?.framesEnhanced ?? 0) > 0 || (r.aic.sender?.scale ?? 1) !== 1 || (r.aic.receiver?.scale ?? 1) !== 1)
  const aicRuns = runs.filter((r) => r.arm === 'aic')
  const aicState = aicRuns.every((r) => r.aic === 'absent') ? 'absent' : aicRuns.some(engaged) ? 'engaged' : 'never-engaged'
  const bdNote = {
    absent: 'stats().aic was absent in every aic call: this SDK build has no AIC, both arms were plain calls, and this is plain against plain (run-to-run noise)',
    'never-engaged': 'stats().aic was present but AIC never sent reduced video nor enhanced a frame (scale 1 and framesEnhanced 0 in every aic call; frames passed through the receiver\'s pipeline count as plain): both arms sent full-size plain video, and this is plain against plain (run-to-run noise)',
    engaged: undefined
  }[aicState]

  console.log('\nrate kbit/s | arm   | sent kbit/s | fps   | SSIM mean / median | PSNR mean / median | delay p50 / p95 ms | received | aic')
  for (const r of summaryRows) {
    const aicCol = r.aic === 'absent' ? 'absent' : `scale ${r.aic.scale ?? '?'}, enh ${r.aic.enhanceMs?.p50 ?? '?'} ms, ${r.aic.framesEnhanced ?? '?'} enh / ${r.aic.framesPassedThrough ?? '?'} passed${r.aic.fallback !== undefined ? `, fallback ${r.aic.fallback.reason}` : ''}`
    console.log(`${String(r.rate).padStart(11)} | ${r.arm.padEnd(6)} | ${String(r.sentKbit).padStart(11)} | ${String(r.fps).padStart(5)} | ${r.ssimMean.toFixed(4)} / ${r.ssimMedian.toFixed(4)}    | ${r.psnrMean.toFixed(2)} / ${r.psnrMedian.toFixed(2)}      | ${String(r.delayP50Ms).padStart(5)} / ${String(r.delayP95Ms).padStart(5)}      | ${r.receivedSize ?? '-'} | ${aicCol}`)
  }
  const bdText = (x) => typeof x === 'number' ? `${x}%` : `n/a (${x.error})`
  console.log(`BD-rate of aic against plain: SSIM ${bdText(bd.ssim)}, PSNR ${bdText(bd.psnr)}${bdNote !== undefined ? ` -- ${bdNote}` : ''}`)
  console.log(`BD-rate of forced (2x wherever the receiver keeps up) against plain: SSIM ${bdText(bdForced.ssim)}, PSNR ${bdText(bdForced.psnr)}`)
  if (failures.length > 0) console.log(`${failures.length} calls failed: ${failures.map((f) => `${f.rate}/${f.arm}: ${f.error}`).join('; ')}`)

  const name = `aic-call${values.size !== '640x360' ? `-${values.size}` : ''}${CAMERA_FPS !== undefined ? `-${CAMERA_FPS}fps` : ''}${THREADS !== undefined ? `-${THREADS}threads` : ''}${quick ? '-quick' : ''}`
  writeResult(name, {
    command: `scripts/netns.sh node bench/aic/call.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    quick,
    durationS: round((Date.now() - t0) / 1000, 0),
    loadAvg1mAtEnd: round(loadavg()[0], 2),
    settings: { rates: RATES, rounds: ROUNDS, settleS: SETTLE_MS / 1000, windowS: WINDOW_MS / 1000, size: `${W}x${H}`, cameraFps: CAMERA_FPS ?? FPS, enhancerThreads: THREADS ?? 'default', lumaEvery: EVERY, arms: ARMS },
    link: { kind: 'HTB class on the child namespace lo, UDP only (both directions share it), pfifo queue; no added delay or loss (netem is not in this kernel)', queueMs: SHAPED_LINK_DEFAULTS.queueMs, queuePackets: Object.fromEntries(RATES.map((r) => [r, queuePacketsFor(r)])) },
    clip: { frames: clip.frames, fps: FPS, size: `${W}x${H}`, sha256: clip.sha256, segments: clip.segments, stamp: layout },
    method: {
      quality: 'luma (BT.601 of the canvas RGB, @auralink/aic lumaOf) of each frame the receiver track delivered, drawn at the source size (bilinear upscaling of smaller frames, as a <video> element shows them), against the source frame named by its stamp, decoded from the same y4m the same way; the stamp plate (top-left, maskWidth x maskHeight) left out; SSIM as @auralink/aic ssim (8x8 windows, step 4), PSNR from the mean squared error over the unmasked pixels',
      sent: 'outbound-rtp (video) bytesSent + headerBytesSent over the window, at the sender',
      delay: 'Date.now() at the receiver track minus Date.now() at the sender local track, same stamp',
      bdRate: 'packages/aic bdRate(plain, aic) over (sent kbit/s, mean quality) per link rate'
    },
    capturePath,
    aic: aicState,
    summary: summaryRows,
    bdRate: { ssim: bd.ssim, psnr: bd.psnr, note: bdNote },
    bdRateForced: { ...bdForced, note: 'the forced arm: a sender whose crossover table says 2x wins at every rate (not a mode users get); against plain' },
    runs,
    failures
  })
} finally {
  const bounded = async (what, p, ms = 15_000) => {
    let timer
    await Promise.race([Promise.resolve(p).catch((err) => { console.error(`close: ${what}: ${err.message}`) }), new Promise((resolve) => { timer = setTimeout(() => { console.error(`close: ${what} took over ${ms} ms, going on`); resolve() }, ms) })])
    clearTimeout(timer)
  }
  await bounded('browser', browser?.close())
  await bounded('page server', server?.close())
  await bounded('relay', relay?.stop())
  await bounded('shaped link', link.close())
}
