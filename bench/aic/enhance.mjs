// bench/aic/enhance: tool 1 (neural enhancement of the native codec) on held-out video.
//
// For each clip and each bitrate, five ways to send W x H video through VP8 (ffmpeg's libvpx,
// realtime, constant bitrate), measured against the original frames (luma PSNR and SSIM, our
// metrics in packages/aic, which match ffmpeg's filters):
//   vp8          VP8 at W x H
//   bicubic      VP8 at W/2 x H/2, upscaled by ffmpeg's bicubic scaler (a receiver without AIC)
//   aic          VP8 at W/2 x H/2, restored by createEnhancer({ runtime: 'node', scale: 2 })
//   bicubic1_5   VP8 at 2/3 the size, upscaled by ffmpeg's bicubic scaler
//   aic1_5       VP8 at 2/3 the size, restored by createEnhancer({ runtime: 'node', scale: 1.5 })
// at the same bitrates; rates are the coded bytes actually written (WebM) over the clip's
// duration. 2/3 of 640x360 is not whole: the sender codes 426x240 made from the first 639
// columns (exactly 1/1.5 of 639x360; 852x480 from 1278 columns at 720p), both 1.5x receivers
// restore 639x360 and repeat their last column to fill the frame, and quality is taken over the
// whole W x H frame as for the others. BD-rate (Bjøntegaard, piecewise linear over each curve's
// efficient points: see packages/aic/src/bd-rate.ts) of each against vp8 per clip, and per
// resolution their mean (as codec test conditions average per-sequence BD-rates; null where a
// clip's is undefined), their median, and on how many clips the arm needs fewer bits; and of aic
// against bicubic at the same scale. Then speed: ms per 640x360 output frame on onnxruntime-node
// with 1 and 2 threads, at each scale, model load time, memory. Writes
// bench/results/aic-enhance.json (--quick: aic-enhance-quick.json, so that a quick look does not
// replace the full run's figures).
//
//   node bench/aic/enhance.mjs [--quick] [--scales 2,1.5] [--clips face-hopper,text-doc] [--frames 120]
//
// Run it after npm run build. It installs nothing: it needs these Debian packages (apt-get install
// them first; it stops and names any that is missing): ffmpeg, opencv-doc, mate-backgrounds,
// python-matplotlib-data, wordpress-theme-twentytwentyone, lomiri-wallpapers-16.04,
// fonts-dejavu-core, base-files, chromium.
//
// Clips (bench/aic/clips.mjs; sources, licences and what each shows: docs/aic-data.md), 11 at
// 640x360 and 8 of them at 1280x720 (the three whose source would be enlarged more than about 1.6x
// are made at 360p only): faces (a photograph, a painted portrait, opencv-doc's Megamind.avi, which
// is held out from training), people (a painting), dark scenes (two stills darkened by a
// documented curve), text (a scrolling page), a screen (a code review in Chromium, scrolled), a
// room (a caller's background) and the two nature pans measured before. 120 frames each, of which
// the first 30 count neither in rate nor quality; of the other 90, rates count all and quality
// every third (the full runs up to 2026-12-02 had 5 clips of 150 frames, quality on all 120).
// --quick: 3 clips (a face and the text at 360p, the room at 720p), 4 rates, 75 frames.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { bdRate, createEnhancer, efficientPoints, lumaOf, mse, ssim } from '@auralink/aic'
import { portablePaths, root, round, summary, writeResult } from '../lib.mjs'
import { ffmpeg, frames, VP8 } from './video.mjs'
import { CLIPS, makeClip, missingPackages } from './clips.mjs'

const arg = (name) => { const i = process.argv.indexOf(name); return i === -1 ? undefined : process.argv[i + 1] }
const quick = process.argv.includes('--quick')
const SCALES = arg('--scales')?.split(',').map(Number) ?? (process.argv.includes('--scales') ? [] : [2, 1.5])
if (SCALES.length === 0 || SCALES.some((s) => s !== 2 && s !== 1.5)) {
  console.error(`aic/enhance: --scales takes 2, 1.5 or 2,1.5, got ${arg('--scales')}`)
  process.exit(2)
}
// the methods each scale adds, and the size its sender codes: [coded w, h, restored w, h]
const ARMS = { 2: { bicubic: 'bicubic', aic: 'aic' }, 1.5: { bicubic: 'bicubic1_5', aic: 'aic1_5' } }
function sizes (scale, w, h) {
  if (scale === 2) return { lw: w / 2, lh: h / 2, ow: w, oh: h }
  const lw = Math.floor(w / 1.5 / 2) * 2
  const lh = Math.floor(h / 1.5 / 2) * 2
  return { lw, lh, ow: lw * 3 / 2, oh: lh * 3 / 2 }
}
const METHODS = ['vp8', ...SCALES.flatMap((s) => [ARMS[s].bicubic, ARMS[s].aic])]
const FPS = 30
const RATES = quick ? [100, 250, 500, 1000] : [100, 200, 350, 500, 700, 1000]
// --quick: a face at 360p, the scrolling text at 360p and the room at 720p
const QUICK_CLIPS = [['face-hopper', '360p'], ['text-doc', '360p'], ['room-wine', '720p']]
const FRAMES = Number(arg('--frames') ?? (quick ? 75 : 120))
// the first second (the key frame and the rate control settling) counts neither in the rate nor
// in the quality: a call runs for minutes, and on a 4 s clip the first key frame alone would be
// a third of the bits
const SKIP = 30
// quality is taken on every third of the frames after those (30 of 90 in a full run): the same
// frames for every arm; rates count every frame. The network, the costliest part, then runs on a
// third of the frames, which keeps a full run of 19 clips within reach of a shared 2-core machine.
const QUALITY_EVERY = 3
const measuredFrame = (i) => i >= SKIP && (i - SKIP) % QUALITY_EVERY === 0
if (!(Number.isInteger(FRAMES) && FRAMES >= SKIP + 10)) {
  console.error(`aic/enhance: --frames must be a whole number of at least ${SKIP + 10}, got ${arg('--frames')}`)
  process.exit(2)
}
const only = arg('--clips')?.split(',')
const unknown = only?.filter((id) => !CLIPS.some((c) => c.id === id)) ?? []
if (unknown.length > 0) {
  console.error(`aic/enhance: --clips: no clip ${unknown.join(', ')} (clips: ${CLIPS.map((c) => c.id).join(', ')})`)
  process.exit(2)
}
/** [clip, resolution] pairs to measure, 360p first. */
const PAIRS = quick && only === undefined
  ? QUICK_CLIPS.map(([id, res]) => [CLIPS.find((c) => c.id === id), res])
  : ['360p', '720p'].flatMap((res) => CLIPS.filter((c) => res in c.resolutions && (only === undefined || only.includes(c.id))).map((c) => [c, res]))
// VP8 (VP8 in ./video.mjs) is set up as WebRTC sets up libvpx for a call: realtime, no look-ahead, error resilient,
// constant bitrate with a 1 s buffer, quantizer 2..56, 100% undershoot and 15% overshoot, frames
// dropped when the buffer runs low (threshold 30), one key frame at the start (a call sends
// few); at speed 8 held fixed (cpu-used -8: a positive value lets VP8's realtime mode adapt its
// speed to the machine's load, and results then differ from run to run), as prepare_data.py
// makes tool 1's training pairs.
// Where the rate is too low for the size, the encoder drops frames: the decoded clip repeats
// the last frame, as a viewer would see it, and the drops are counted.

// --rebuild FILE: recompute the BD-rate summaries of a results file from its measured points
// (after a change to clipBdRates or bdRatesOver), measuring nothing
const REBUILD = arg('--rebuild')
if (REBUILD === undefined) {
  const missing = missingPackages()
  if (missing.length > 0) {
    console.error(`aic/enhance: the clips need Debian packages that are not installed: ${missing.join(', ')}. Install them first: apt-get install ${missing.join(' ')}`)
    process.exit(2)
  }
}


let tmp // the run's temporary folder
const raw = (name) => join(tmp, `${name}.rgba`)
const rawIn = (file, w, h) => ['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${w}x${h}`, '-r', String(FPS), '-i', file]
const rawOut = (file) => ['-fps_mode', 'cfr', '-r', String(FPS), '-f', 'rawvideo', '-pix_fmt', 'rgba', file]
const t0 = performance.now()
const elapsed = () => `${Math.round((performance.now() - t0) / 1000)} s`
const loadSamples = []
const sampleLoad = () => loadSamples.push(loadavg()[0])

/** Luma MSE and SSIM of one frame against the reference frame's luma. PSNR is taken from the
 * clip's mean MSE (as ffmpeg's psnr filter's average): per-frame PSNRs would let a near-perfect
 * frame weigh without limit. */
function quality (out, refLuma) {
  const a = lumaOf({ ...out, channels: 4 })
  return { mse: mse(a, refLuma), ssim: ssim(a, refLuma) }
}

const ordinal = (n) => n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`

function mean (xs) { return xs.reduce((s, x) => s + x, 0) / xs.length }

/** The median of numbers, ±Infinity allowed (an arm that wins or loses outright on a clip). */
function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** An ow x oh frame widened (and heightened) to w x h by repeating its last column (and row). */
function padTo (frame, w, h) {
  if (frame.width === w && frame.height === h) return frame
  const data = new Uint8Array(w * h * 4)
  for (let y = 0; y < h; y++) {
    const sy = Math.min(y, frame.height - 1)
    data.set(frame.data.subarray(sy * frame.width * 4, (sy + 1) * frame.width * 4), y * w * 4)
    const last = frame.data.subarray(((sy + 1) * frame.width - 1) * 4, (sy + 1) * frame.width * 4)
    for (let x = frame.width; x < w; x++) data.set(last, (y * w + x) * 4)
  }
  return { width: w, height: h, data }
}

/** Coded bytes of the packets from frame `from` on, and the packet count (frames the encoder dropped are missing). */
function packets (file, from) {
  const res = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', file], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`ffprobe ${file}: ${res.stderr}`)
  const sizes = res.stdout.trim().split('\n').map(Number)
  return { count: sizes.length, bytes: sizes.slice(from).reduce((s, x) => s + x, 0) }
}

async function measureClip (clip, enhancers, label) {
  const { name, width: w, height: h } = clip
  const ref = frames(raw(name), w, h)
  // the measured reference frames' luma, once for every rate and arm
  const count = ref.count
  const refLuma = new Map()
  for (let i = SKIP; i < count; i++) if (measuredFrame(i)) refLuma.set(i, lumaOf({ ...ref.get(i), channels: 4 }))
  ref.close()
  const points = []
  for (const kbps of RATES) {
    const say = (what) => console.log(`[${elapsed()}] ${label} ${name} ${kbps} kbps: ${what}`)
    say('vp8')
    const rate = ['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`]
    const full = join(tmp, `${name}-${kbps}-full.webm`)
    ffmpeg([...rawIn(raw(name), w, h), ...VP8, ...rate, '-bufsize', `${kbps}k`, full])
    ffmpeg(['-i', full, ...rawOut(raw('dec-full'))])
    const decFull = frames(raw('dec-full'), w, h)
    const q = { vp8: [] }
    for (const [i, r] of refLuma) q.vp8.push(quality(decFull.get(i), r))
    decFull.close()
    const seconds = (count - SKIP) / FPS
    const coded = { vp8: packets(full, SKIP) }
    const point = { targetKbps: kbps, frames: count - SKIP, qualityFrames: refLuma.size, droppedFrames: { full: count - coded.vp8.count }, wholeClipKbps: { full: round((statSync(full).size * 8) / (count / FPS) / 1000, 1) } }
    const ms = {}
    for (const scale of SCALES) {
      const { lw, lh, ow, oh } = sizes(scale, w, h)
      const { bicubic, aic } = ARMS[scale]
      say(`${bicubic}, ${aic}`)
      const tag = scale === 2 ? 'half' : 'x1_5'
      const low = join(tmp, `${name}-${kbps}-${tag}.webm`)
      const crop = ow === w && oh === h ? '' : `crop=${ow}:${oh}:0:0,`
      ffmpeg([...rawIn(raw(name), w, h), '-vf', `${crop}scale=${lw}:${lh}:flags=bicubic`, ...VP8, ...rate, '-bufsize', `${kbps}k`, low])
      ffmpeg(['-i', low, ...rawOut(raw('dec-low'))])
      ffmpeg(['-i', low, '-vf', `scale=${ow}:${oh}:flags=bicubic`, ...rawOut(raw('dec-bicubic'))])
      const decLow = frames(raw('dec-low'), lw, lh)
      const decBic = frames(raw('dec-bicubic'), ow, oh)
      q[bicubic] = []
      q[aic] = []
      ms[aic] = []
      for (const [i, r] of refLuma) {
        q[bicubic].push(quality(padTo(decBic.get(i), w, h), r))
        const t = performance.now()
        const out = await enhancers[scale].enhance(decLow.get(i))
        ms[aic].push(performance.now() - t)
        q[aic].push(quality(padTo(out, w, h), r))
      }
      decLow.close()
      decBic.close()
      coded[bicubic] = coded[aic] = packets(low, SKIP)
      point.droppedFrames[tag] = count - coded[aic].count
      point.wholeClipKbps[tag] = round((statSync(low).size * 8) / (count / FPS) / 1000, 1)
      if (scale !== 2) point.codedSize = { [tag]: [lw, lh], restored: [ow, oh] }
    }
    for (const method of METHODS) {
      const m = mean(q[method].map((x) => x.mse))
      point[method] = { kbps: round((coded[method].bytes * 8) / seconds / 1000, 1), psnr: round(m === 0 ? 100 : 10 * Math.log10(255 * 255 / m), 3), ssim: round(mean(q[method].map((x) => x.ssim)), 5) }
    }
    if (ms.aic) point.enhanceMsPerFrame = round(mean(ms.aic), 1)
    if (ms.aic1_5) point.enhanceMsPerFrame1_5 = round(mean(ms.aic1_5), 1)
    points.push(point)
    sampleLoad()
    const arm = (m) => `${m} ${point[m].kbps} kbps ${point[m].psnr} dB ${point[m].ssim}`
    say(`(dropped: ${JSON.stringify(point.droppedFrames)}): ${METHODS.map(arm).join(' | ')} (ms/frame: ${point.enhanceMsPerFrame ?? '-'} at 2x, ${point.enhanceMsPerFrame1_5 ?? '-'} at 1.5x)`)
  }
  return { ...clip, points }
}

/**
 * Which arm wins outright where two curves share no quality range: 'better' when the test
 * curve's worst point is above the anchor's best, 'worse' when its best point is below the
 * anchor's worst; undefined where the ranges overlap (the BD-rate is undefined for another
 * reason, such as a curve with one efficient point inside the other's range). Every arm is given
 * the same target rates (100 kbps to 1 Mbps), so an arm that never reaches the other's lowest
 * quality at any of them has lost, even where its encoder spent fewer bits than the target (as
 * it does on a still screen at half size, where more bits buy nothing).
 */
function outright (anchor, test) {
  const a = efficientPoints(anchor)
  const t = efficientPoints(test)
  if (a.length === 0 || t.length === 0) return undefined
  if (t[0].quality > a[a.length - 1].quality) return 'better'
  if (t[t.length - 1].quality < a[0].quality) return 'worse'
  return undefined
}

/** The BD-rate keys of every arm: against vp8, and AIC against bicubic from the same stream. */
const KEYS = [...METHODS.slice(1), ...SCALES.map((s) => `${ARMS[s].aic}VsBicubic`)]

/**
 * BD-rates of bicubic and aic against vp8 on one clip. A point where the encoder coded no frame
 * after the first second (0 kbps: it dropped them all) has no place on a log-rate curve and is
 * left out, and said so. Where the curves share no quality range the BD-rate is undefined (null,
 * with the error), and `<key>Outright` says whether the arm wins or loses outright there.
 */
function clipBdRates (clip) {
  const curve = (method, metric) => clip.points.filter((p) => p[method].kbps > 0).map((p) => ({ rate: p[method].kbps, quality: p[method][metric] }))
  const out = { excludedTargets: clip.points.filter((p) => METHODS.some((m) => p[m].kbps === 0)).map((p) => p.targetKbps) }
  const bd = (into, key, anchor, method, metric) => {
    try {
      into[key] = round(bdRate(curve(anchor, metric), curve(method, metric)), 1)
    } catch (err) {
      into[key] = null
      into[`${key}Error`] = err.message
      const side = outright(curve(anchor, metric), curve(method, metric))
      if (side !== undefined) into[`${key}Outright`] = side
    }
  }
  for (const metric of ['ssim', 'psnr']) {
    out[metric] = {}
    for (const method of METHODS.slice(1)) bd(out[metric], method, 'vp8', method, metric)
    // what the network adds: AIC against bicubic from the same VP8 stream
    for (const scale of SCALES) bd(out[metric], `${ARMS[scale].aic}VsBicubic`, ARMS[scale].bicubic, ARMS[scale].aic, metric)
  }
  return out
}

/**
 * Per resolution, over its clips' BD-rates:
 * - `ssim`, `psnr`: the mean (as codec test conditions average per-sequence BD-rates), null
 *   where any clip's BD-rate is undefined (as before);
 * - `median.ssim`, `median.psnr`: the median, in which a clip where the arm wins or loses
 *   outright (no shared quality range) ranks below or above every number; null where a clip's
 *   BD-rate is undefined for another reason, or where the median falls on an outright clip;
 * - `wins.ssim`, `wins.psnr`: on how many of the clips the arm needs fewer bits (a negative
 *   BD-rate, or an outright win), and on how many that is known;
 * - `meanOfDefined`: the mean over the clips where the BD-rate is defined, with their count.
 */
function bdRatesOver (clips) {
  const out = { clips: clips.map((c) => c.name), median: {}, wins: {}, meanOfDefined: {} }
  for (const metric of ['ssim', 'psnr']) {
    out[metric] = {}
    out.median[metric] = {}
    out.wins[metric] = {}
    out.meanOfDefined[metric] = {}
    for (const key of KEYS) {
      const bds = clips.map((c) => c.bdRate[metric])
      const values = bds.map((b) => b[key]).filter((v) => v !== null)
      out[metric][key] = values.length === clips.length ? round(mean(values), 1) : null
      if (values.length !== clips.length) out[metric][`${key}Error`] = `BD-rate undefined on ${clips.length - values.length} of ${clips.length} clips`
      out.meanOfDefined[metric][key] = { value: values.length > 0 ? round(mean(values), 1) : null, clips: values.length }
      const ranked = bds.map((b) => b[key] ?? (b[`${key}Outright`] === 'better' ? -Infinity : b[`${key}Outright`] === 'worse' ? Infinity : undefined))
      const known = ranked.filter((v) => v !== undefined)
      out.wins[metric][key] = { clips: known.filter((v) => v < 0).length, of: known.length }
      if (known.length !== clips.length) {
        out.median[metric][key] = null
        out.median[metric][`${key}Error`] = `BD-rate undefined on ${clips.length - known.length} of ${clips.length} clips, with no outright winner`
      } else {
        const m = median(ranked)
        out.median[metric][key] = Number.isFinite(m) ? round(m, 1) : null
        if (!Number.isFinite(m)) out.median[metric][`${key}Error`] = `the median falls on a clip where the arm ${m < 0 ? 'wins' : 'loses'} outright`
      }
    }
  }
  return out
}

/**
 * Speed at 2x (320x180 in) and 1.5x (426x240 in, 639x360 out): about one 640x360 frame each.
 * For each thread count the scales take turns frame by frame, so that other work on the machine
 * weighs on each alike.
 */
async function speed () {
  const result = {}
  for (const threads of [1, 2]) {
    const runs = []
    for (const scale of SCALES) {
      const { lw, lh, ow, oh } = sizes(scale, 640, 360)
      const rssBefore = process.memoryUsage().rss
      const e = await createEnhancer({ runtime: 'node', scale, threads })
      runs.push({ scale, e, ms: [], rssGrowthMiB: round((process.memoryUsage().rss - rssBefore) / 2 ** 20, 1), input: { width: lw, height: lh, data: new Uint8Array(lw * lh * 4).map((_, i) => (i * 31) % 251) }, output: [ow, oh] })
    }
    for (let i = 0; i < 43; i++) {
      for (const r of runs) {
        const t = performance.now()
        await r.e.enhance(r.input)
        if (i >= 3) r.ms.push(performance.now() - t)
      }
    }
    for (const r of runs) {
      const into = r.scale === 2 ? result : (result.scale1_5 ??= { input: [r.input.width, r.input.height], output: r.output })
      into[`threads${threads}`] = { msPer640x360Frame: summary(r.ms), loadMs: round(r.e.info.loadMs, 1), rssGrowthMiB: r.rssGrowthMiB, executionProvider: r.e.info.executionProvider }
      console.log(`speed at ${r.scale}x, ${threads} thread(s): ${JSON.stringify(into[`threads${threads}`])}`)
      await r.e.close()
    }
  }
  result.loadAverageDuring = loadavg().map((x) => round(x, 2))
  return result
}

/** A model's description with its file relative to the repository (results hold no paths of this machine). */
const modelInfo = (model) => ({ ...model, file: relative(root, model.file) })

/** --rebuild: the summaries of an existing results file, recomputed from its points; the file keeps its date and gains `bdRateRecomputed`. */
function rebuildSummaries (file) {
  const result = JSON.parse(readFileSync(file, 'utf8'))
  if (JSON.stringify(result.scales ?? [2]) !== JSON.stringify(SCALES)) {
    console.error(`aic/enhance: ${file} has scales ${JSON.stringify(result.scales)}: pass --scales ${(result.scales ?? [2]).join(',')}`)
    process.exit(2)
  }
  for (const c of result.clips) c.bdRate = clipBdRates(c)
  for (const res of Object.keys(result.bdRate)) result.bdRate[res] = bdRatesOver(result.clips.filter((c) => `${c.height}p` === res))
  result.bdRateRecomputed = new Date().toISOString()
  writeFileSync(file, JSON.stringify(portablePaths(result), null, 2) + '\n')
  console.log(`rewrote the BD-rate summaries of ${relative(root, file) || file}`)
}

if (REBUILD !== undefined) rebuildSummaries(resolve(REBUILD))
else await measureAll()

async function measureAll () {
  tmp = mkdtempSync(join(tmpdir(), 'auralink-bench-aic-'))
  try {
    sampleLoad()
    const loadAverageAtStart = loadavg().map((x) => round(x, 2))
    console.log(`aic/enhance: ${PAIRS.length} clips (${PAIRS.map(([c, res]) => `${c.id}-${res}`).join(', ')}), ${FRAMES} frames each (${FRAMES - SKIP} measured), rates ${RATES.join(', ')} kbps, arms ${METHODS.join(', ')}`)
    const speedResult = await speed()
    const enhancers = {}
    for (const scale of SCALES) enhancers[scale] = await createEnhancer({ runtime: 'node', scale, threads: 2 })
    const measured = []
    for (const [k, [spec, res]] of PAIRS.entries()) {
      const label = `[${k + 1}/${PAIRS.length}]`
      console.log(`[${elapsed()}] ${label} making ${spec.id}-${res}`)
      const made = makeClip(spec, res, { tmp, frames: FRAMES, fps: FPS, output: rawOut(raw(`${spec.id}-${res}`)) })
      measured.push(await measureClip(made, enhancers, label))
      rmSync(raw(made.name), { force: true })
    }
    for (const e of Object.values(enhancers)) await e.close()
    const enhancer = enhancers[SCALES[0]]
    for (const c of measured) c.bdRate = clipBdRates(c)
    const byRes = {}
    for (const res of ['360p', '720p']) {
      const clips = measured.filter((c) => `${c.height}p` === res)
      if (clips.length > 0) byRes[res] = bdRatesOver(clips)
    }
    console.log(`BD-rate against VP8 at full size (negative: fewer bits for the same quality): ${JSON.stringify(byRes)}`)
    writeResult(quick ? 'aic-enhance-quick' : 'aic-enhance', {
      quick,
      scales: SCALES,
      model: modelInfo(enhancer.info.model),
      models: Object.fromEntries(SCALES.map((s) => [s, modelInfo(enhancers[s].info.model)])),
      loadAverageAtStart,
      loadAverageAtEnd: loadavg().map((x) => round(x, 2)),
      loadAverage1MinDuring: { samples: loadSamples.length, min: round(Math.min(...loadSamples), 2), mean: round(mean(loadSamples), 2), max: round(Math.max(...loadSamples), 2) },
      runtime: { runtime: enhancer.info.runtime, executionProvider: enhancer.info.executionProvider },
      codec: `VP8 (ffmpeg libvpx ${VP8.join(' ')}), constant bitrate`,
      metrics: `luma (BT.601 from RGB) against the original frames, from frame ${SKIP} on, every ${QUALITY_EVERY === 1 ? '' : ordinal(QUALITY_EVERY) + ' '}frame: PSNR of the mean MSE, mean SSIM; kbps: coded VP8 packets of every frame from frame ${SKIP} on (WebM overhead excluded)`,
      frames: FRAMES,
      skipFrames: SKIP,
      qualityEvery: QUALITY_EVERY,
      rates: RATES,
      clipMaker: 'bench/aic/clips.mjs (sources and licences: docs/aic-data.md)',
      bdRate: byRes,
      speed: speedResult,
      clips: measured,
      seconds: round((performance.now() - t0) / 1000, 1),
      command: `node bench/aic/enhance.mjs${process.argv.slice(2).length > 0 ? ' ' + process.argv.slice(2).join(' ') : ''}`
    })
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
