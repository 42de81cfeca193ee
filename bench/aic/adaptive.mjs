// bench/aic/adaptive: tool 1's adaptive mode (issue 20) on the path the product takes: the adaptive
// export of the fast 2x enhancer on onnxruntime-node (one thread), the sender's TailFitter refit
// and its WeightUpdate (makeWeightUpdate / readWeightUpdate of @auralink/aic), on the held-out
// clips of bench/aic/clips.mjs (docs/aic-data.md) coded by VP8 at half size as a call codes them
// (bench/aic/video.mjs).
//
// The sender refits once per window (--window frames, 2 s by default) on every --fit-every'th
// decoded frame of the window just sent (every 6th by default: 5 a second; 4,096 sampled blocks
// each), and the update applies from the first frame of the next window on; the first window runs
// the shipped tail. The sender fits on the decoded frames, as the receiver sees them (in a call it
// would decode its own stream). Quality (luma PSNR from the mean MSE, SSIM) is taken on every
// frame after the first window, for:
//   bicubic   ffmpeg's bicubic scaler on the decoded stream (a receiver without AIC)
//   shipped   the shipped fast network (the adaptive export with its shipped tail)
//   adaptive  the network with the last update received
// Rates: the coded bytes after the first window over its duration; adaptive's adds every
// update's bytes. Per rate, the sender's CPU (process time: the network up to the tail on the fit
// frames, the fit, the update) per second of video it fitted: what adapting all the time costs.
// Per clip, BD-rate of adaptive and of shipped against bicubic (PSNR and SSIM; adaptive's rate
// with its update bits). Writes bench/results/aic-adaptive.json (--quick: aic-adaptive-quick.json).
//
//   node bench/aic/adaptive.mjs [--quick] [--clips face-hopper,text-doc] [--rates 150,400,800] [--frames 180] [--window 60] [--fit-every 6]
//
// Run after npm run build. Needs the Debian packages bench/aic/clips.mjs names (it stops and
// names any that is missing).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as ort from 'onnxruntime-node'
import { bdRate, frameToTensor, lumaOf, makeWeightUpdate, mse, pixelUnshuffle, readWeightUpdate, ssim, TailFitter, tensorToFrame } from '@auralink/aic'
import { root, round, writeResult } from '../lib.mjs'
import { CLIPS, makeClip, missingPackages } from './clips.mjs'
import { ffmpeg, frames, VP8 } from './video.mjs'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    clips: { type: 'string' },
    rates: { type: 'string' },
    frames: { type: 'string' },
    window: { type: 'string', default: '60' },
    'fit-every': { type: 'string', default: '6' }
  }
})
const QUICK = values.quick
const CLIP_IDS = values.clips?.split(',') ?? (QUICK ? ['face-hopper'] : ['face-hopper', 'face-hopper-darkened', 'megamind', 'text-doc', 'screen-code', 'pan-garden', 'room-wine'])
const RATES = (values.rates ?? (QUICK ? '150,400' : '150,400,800')).split(',').map(Number)
const FRAMES = Number(values.frames ?? (QUICK ? 120 : 180))
const WINDOW = Number(values.window)
const FIT_EVERY = Number(values['fit-every'])
const FPS = 30
const SAMPLES = 4096
for (const [name, v, ok] of [['--frames', FRAMES, FRAMES >= 2 * WINDOW], ['--window', WINDOW, WINDOW >= 2], ['--fit-every', FIT_EVERY, FIT_EVERY >= 1], ['--rates', RATES.length, RATES.length >= 2 && RATES.every((r) => r >= 20)]]) {
  if (!Number.isInteger(v) || !ok) { console.error(`aic/adaptive: ${name} is not valid (${v}): --frames at least twice --window, --window >= 2, --fit-every >= 1, two or more --rates of at least 20 kbit/s`); process.exit(2) }
}
const unknown = CLIP_IDS.filter((id) => !CLIPS.some((c) => c.id === id))
if (unknown.length > 0) { console.error(`aic/adaptive: --clips: no clip ${unknown.join(', ')} (clips: ${CLIPS.map((c) => c.id).join(', ')})`); process.exit(2) }
const missing = missingPackages()
if (missing.length > 0) { console.error(`aic/adaptive: the clips need Debian packages that are not installed: ${missing.join(', ')}`); process.exit(2) }

const MODELS = join(root, 'packages/aic/models')
const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8'))
const entry = manifest.models.find((m) => m.name === 'enhancer-x2-fast')
const A = entry.adaptive
const G = A.tail
const shapes = new Map([['tail_weight', [G.outChannels, G.channels, G.kernel, G.kernel]], ['tail_bias', [G.outChannels]]])
const tailRaw = readFileSync(join(MODELS, G.file))
const tailAll = new Float32Array(tailRaw.buffer.slice(tailRaw.byteOffset, tailRaw.byteOffset + tailRaw.byteLength))
const nWeight = G.outChannels * G.channels * G.kernel * G.kernel
const SHIPPED = { weight: tailAll.slice(0, nWeight), bias: tailAll.slice(nWeight) }
const session = await ort.InferenceSession.create(readFileSync(join(MODELS, A.file)), { intraOpNumThreads: 1, interOpNumThreads: 1 })
const run = async (low, tail) => session.run({
  low: new ort.Tensor('float32', frameToTensor(low), [1, 3, low.height, low.width]),
  tail_weight: new ort.Tensor('float32', tail.weight, shapes.get('tail_weight')),
  tail_bias: new ort.Tensor('float32', tail.bias, shapes.get('tail_bias'))
})
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

const tmp = mkdtempSync(join(tmpdir(), 'auralink-aic-adaptive-'))
const loadStart = loadavg()
const t0 = performance.now()
const say = (what) => console.log(`[${Math.round((performance.now() - t0) / 1000)} s] ${what}`)
const results = []
try {
  for (const id of CLIP_IDS) {
    const spec = CLIPS.find((c) => c.id === id)
    const raw = join(tmp, `${id}.rgba`)
    const clip = makeClip(spec, '360p', { tmp, frames: FRAMES, fps: FPS, output: ['-f', 'rawvideo', '-pix_fmt', 'rgba', raw] })
    const { width: w, height: h } = clip
    const ref = frames(raw, w, h)
    const points = []
    for (const kbps of RATES) {
      const webm = join(tmp, `${id}-${kbps}.webm`)
      const rate = ['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`]
      ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${w}x${h}`, '-r', String(FPS), '-i', raw, '-vf', `scale=${w / 2}:${h / 2}:flags=bicubic`, ...VP8, ...rate, webm])
      const out = ['-fps_mode', 'cfr', '-r', String(FPS), '-f', 'rawvideo', '-pix_fmt', 'rgba']
      ffmpeg(['-i', webm, ...out, join(tmp, 'low.rgba')])
      ffmpeg(['-i', webm, '-vf', `scale=${w}:${h}:flags=bicubic`, ...out, join(tmp, 'bic.rgba')])
      const low = frames(join(tmp, 'low.rgba'), w / 2, h / 2)
      const bic = frames(join(tmp, 'bic.rgba'), w, h)
      const sizes = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', webm], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number)
      const codedBits = sizes.slice(WINDOW).reduce((s, x) => s + x, 0) * 8
      const seconds = (FRAMES - WINDOW) / FPS
      const acc = { bicubic: { mse: 0, ssim: 0 }, shipped: { mse: 0, ssim: 0 }, adaptive: { mse: 0, ssim: 0 } }
      let current = SHIPPED
      let fitter = new TailFitter(G, SHIPPED, { samplesPerFrame: SAMPLES, seed: kbps })
      let updates = 0
      let updateBytes = 0
      let senderMs = 0
      for (let i = 0; i < FRAMES; i++) {
        if (i > 0 && i % WINDOW === 0) {
          // the window just sent is fitted; its update applies from this frame on
          const c0 = cpuMs()
          const fitted = fitter.solve()
          const { bytes } = makeWeightUpdate({ modelVersion: entry.version, scaleX100: 200, sequence: updates + 1, tensors: [{ name: 'tail_weight', shape: shapes.get('tail_weight'), values: fitted.weight }, { name: 'tail_bias', shape: shapes.get('tail_bias'), values: fitted.bias }] })
          senderMs += cpuMs() - c0
          const got = readWeightUpdate(bytes, { modelVersion: entry.version, scaleX100: 200, shapes })
          current = { weight: got.tensors.get('tail_weight'), bias: got.tensors.get('tail_bias') }
          updates++
          updateBytes += bytes.byteLength
          fitter = new TailFitter(G, SHIPPED, { samplesPerFrame: SAMPLES, seed: kbps + i })
        }
        const lowFrame = low.get(i)
        const refFrame = ref.get(i)
        // fitted only where the window's update applies to a later frame of the clip
        if (i % FIT_EVERY === 0 && (Math.floor(i / WINDOW) + 1) * WINDOW < FRAMES) {
          // the sender: the network up to the tail on this decoded frame, then the frame's rows
          const c0 = cpuMs()
          const o = await run(lowFrame, SHIPPED)
          fitter.add({ features: o.features.data, height: h / 2, width: w / 2, base: o.base.data, target: pixelUnshuffle(frameToTensor(refFrame), h, w, 2, h / 2, w / 2) })
          senderMs += cpuMs() - c0
        }
        if (i < WINDOW) continue
        const refLuma = lumaOf({ ...refFrame, channels: 4 })
        const judge = (key, frame) => { const l = lumaOf({ ...frame, channels: 4 }); acc[key].mse += mse(l, refLuma); acc[key].ssim += ssim(l, refLuma) }
        judge('bicubic', bic.get(i))
        judge('shipped', tensorToFrame((await run(lowFrame, SHIPPED)).restored.data, w, h))
        judge('adaptive', tensorToFrame((await run(lowFrame, current)).restored.data, w, h))
      }
      low.close()
      bic.close()
      const n = FRAMES - WINDOW
      const arm = (key, extraBits = 0) => ({ kbps: round((codedBits + extraBits) / seconds / 1000, 1), psnr: round(10 * Math.log10(255 * 255 / (acc[key].mse / n)), 3), ssim: round(acc[key].ssim / n, 5) })
      const point = {
        targetKbps: kbps,
        bicubic: arm('bicubic'),
        shipped: arm('shipped'),
        adaptive: arm('adaptive', updateBytes * 8),
        updates,
        updateBytes: updates > 0 ? round(updateBytes / updates, 0) : 0,
        updateKbps: round(updateBytes * 8 / seconds / 1000, 2),
        // per second of the video the sender fitted (every window but the last): what adapting all the time costs
        senderCpuMsPerVideoSecond: updates > 0 ? round(senderMs / (updates * WINDOW / FPS), 0) : 0
      }
      points.push(point)
      say(`${id} ${kbps} kbit/s: bicubic ${point.bicubic.psnr} dB ${point.bicubic.ssim} | shipped ${point.shipped.psnr} ${point.shipped.ssim} | adaptive ${point.adaptive.psnr} ${point.adaptive.ssim} at ${point.adaptive.kbps} kbit/s (${updates} updates of ${point.updateBytes} bytes, ${point.updateKbps} kbit/s); sender ${point.senderCpuMsPerVideoSecond} ms CPU per second of video`)
    }
    ref.close()
    const curve = (key, metric) => points.map((p) => ({ rate: p[key].kbps, quality: p[key][metric] }))
    // where the curves share no quality range the BD-rate is undefined: the arm wins (or loses) outright
    const bd = (key, metric) => {
      try {
        return round(bdRate(curve('bicubic', metric), curve(key, metric)), 1)
      } catch (err) {
        const [a, t] = [curve('bicubic', metric).map((p) => p.quality), curve(key, metric).map((p) => p.quality)]
        const outright = Math.min(...t) > Math.max(...a) ? 'better' : Math.max(...t) < Math.min(...a) ? 'worse' : undefined
        return { error: err.message, ...(outright !== undefined ? { outright } : {}) }
      }
    }
    results.push({ clip: id, kind: clip.kind, width: w, height: h, points, bdRateVsBicubicPercent: { adaptive: { psnr: bd('adaptive', 'psnr'), ssim: bd('adaptive', 'ssim') }, shipped: { psnr: bd('shipped', 'psnr'), ssim: bd('shipped', 'ssim') } } })
    say(`${id}: BD-rate against bicubic (negative: fewer bits) ${JSON.stringify(results.at(-1).bdRateVsBicubicPercent)}`)
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}

const median = (xs) => { const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b); return s.length === 0 ? null : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const summary = {}
for (const key of ['adaptive', 'shipped']) {
  for (const metric of ['psnr', 'ssim']) {
    const all = results.map((r) => r.bdRateVsBicubicPercent[key][metric])
    // the median of the clips with a BD-rate; the clips won or lost outright are counted beside it
    summary[`${key}BdRateVsBicubic_${metric}`] = { median: median(all), clips: all.filter((x) => typeof x === 'number').length, better: all.filter((x) => x?.outright === 'better').length, worse: all.filter((x) => x?.outright === 'worse').length }
  }
}
console.log('median BD-rate against bicubic, % (negative: fewer bits for the same quality):', summary)
writeResult(QUICK ? 'aic-adaptive-quick' : 'aic-adaptive', {
  unit: 'luma PSNR (dB) and SSIM on the frames after the first window; kbit/s of coded bytes after it (adaptive: plus its updates)',
  model: `${A.file} (enhancer-x2-fast v${entry.version}), onnxruntime-node ${ort.env.versions?.common ?? ''}, 1 thread`,
  settings: { frames: FRAMES, windowFrames: WINDOW, fitEvery: FIT_EVERY, samplesPerFrame: SAMPLES, rates: RATES, scale: 2, resolution: '640x360' },
  cpus: cpus().length,
  loadavg: { start: loadStart, end: loadavg() },
  summary,
  clips: results
})
