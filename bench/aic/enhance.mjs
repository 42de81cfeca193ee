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
// efficient points: see packages/aic/src/bd-rate.ts) of each against vp8 per clip, and their
// mean per resolution; and of aic against bicubic at the same scale. Then speed: ms per 640x360
// output frame on onnxruntime-node with 1 and 2 threads, at each scale, model load time,
// memory. Writes bench/results/aic-enhance.json (--quick: aic-enhance-quick.json, so that a
// quick look does not replace the full run's figures).
//
//   node bench/aic/enhance.mjs [--quick] [--scales 2,1.5]   (after npm run build; needs ffmpeg, opencv-doc, mate-backgrounds)
//
// Clips: opencv-doc's Megamind.avi (held out from training) at 640x360, and slow pans over
// mate-backgrounds' nature photos (GPL, evaluation only, never trained on) at 640x360 and
// 1280x720.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { bdRate, createEnhancer, lumaOf, mse, ssim } from '@auralink/aic'
import { round, summary, writeResult } from '../lib.mjs'

const quick = process.argv.includes('--quick')
const scalesArg = process.argv.indexOf('--scales')
const SCALES = scalesArg === -1 ? [2, 1.5] : process.argv[scalesArg + 1]?.split(',').map(Number) ?? []
if (SCALES.length === 0 || SCALES.some((s) => s !== 2 && s !== 1.5)) {
  console.error(`aic/enhance: --scales takes 2, 1.5 or 2,1.5, got ${process.argv[scalesArg + 1]}`)
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
const MEGAMIND = '/usr/share/doc/opencv-doc/examples/data/Megamind.avi'
const PHOTOS = '/usr/share/backgrounds/mate/nature'
const PAN_PHOTOS = quick ? ['Garden.jpg'] : ['Garden.jpg', 'Storm.jpg']
const FRAMES = quick ? 75 : 150
// the first second (the key frame and the rate control settling) counts neither in the rate nor
// in the quality: a call runs for minutes, and on a 5 s clip the first key frame alone would be
// a third of the bits
const SKIP = 30
// VP8 set up as WebRTC sets up libvpx for a call: realtime, no look-ahead, error resilient,
// constant bitrate with a 1 s buffer, quantizer 2..56, 100% undershoot and 15% overshoot, frames
// dropped when the buffer runs low (threshold 30), one key frame at the start (a call sends
// few); at speed 8 held fixed (cpu-used -8: a positive value lets VP8's realtime mode adapt its
// speed to the machine's load, and results then differ from run to run), as prepare_data.py
// makes tool 1's training pairs.
// Where the rate is too low for the size, the encoder drops frames: the decoded clip repeats
// the last frame, as a viewer would see it, and the drops are counted.
const VP8 = ['-pix_fmt', 'yuv420p', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '-8', '-g', '3000', '-lag-in-frames', '0',
  '-error-resilient', '1', '-qmin', '2', '-qmax', '56', '-undershoot-pct', '100', '-overshoot-pct', '15', '-drop-threshold', '30', '-static-thresh', '1']

for (const [path, pkg] of [[MEGAMIND, 'opencv-doc'], [PHOTOS, 'mate-backgrounds']]) {
  if (!existsSync(path)) { console.error(`aic/enhance: ${path} is missing: apt-get install ${pkg}`); process.exit(2) }
}

function ffmpeg (args) {
  const res = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${res.stderr}`)
}

/** Reads raw RGBA frames of one size from a file, one at a time. */
function frames (file, width, height) {
  const size = width * height * 4
  const count = Math.floor(statSync(file).size / size)
  const fd = openSync(file, 'r')
  return {
    count,
    get (i) {
      const data = new Uint8Array(size)
      readSync(fd, data, 0, size, Math.min(i, count - 1) * size)
      return { width, height, data }
    },
    close () { closeSync(fd) }
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'auralink-bench-aic-'))
const raw = (name) => join(tmp, `${name}.rgba`)
const rawIn = (file, w, h) => ['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${w}x${h}`, '-r', String(FPS), '-i', file]
const rawOut = (file) => ['-fps_mode', 'cfr', '-r', String(FPS), '-f', 'rawvideo', '-pix_fmt', 'rgba', file]

function makeClips () {
  const clips = []
  const fit = (w, h) => `scale=${w}:${h}:force_original_aspect_ratio=increase:flags=lanczos,crop=${w}:${h}`
  // from 1.5 s on: the clip fades in from black
  ffmpeg(['-ss', '1.5', '-i', MEGAMIND, '-vf', fit(640, 360), '-frames:v', String(FRAMES), ...rawOut(raw('megamind-360p'))])
  clips.push({ name: 'megamind-360p', source: 'opencv-doc Megamind.avi from 1.5 s (held out)', width: 640, height: 360 })
  for (const [w, h, label] of [[640, 360, '360p'], [1280, 720, '720p']]) {
    for (const photo of PAN_PHOTOS) {
      const name = `pan-${photo.replace(/\.jpg$/, '').toLowerCase()}-${label}`
      // a slow zoom and pan over a 2560-wide photo: 4 px of motion a frame at 720p
      const zoom = `zoompan=z='min(1.2+0.0015*on,1.5)':x='(iw-iw/zoom)*on/${FRAMES}':y='(ih-ih/zoom)/2':d=${FRAMES}:s=${w}x${h}:fps=${FPS}`
      ffmpeg(['-i', join(PHOTOS, photo), '-vf', zoom, '-frames:v', String(FRAMES), ...rawOut(raw(name))])
      clips.push({ name, source: `mate-backgrounds ${photo} (evaluation only), pan and zoom`, width: w, height: h })
    }
  }
  return clips
}

/** Luma MSE and SSIM of one frame. PSNR is taken from the clip's mean MSE (as ffmpeg's psnr
 * filter's average): per-frame PSNRs would let a near-perfect frame weigh without limit. */
function quality (out, ref) {
  const a = lumaOf({ ...out, channels: 4 })
  const b = lumaOf({ ...ref, channels: 4 })
  return { mse: mse(a, b), ssim: ssim(a, b) }
}

function mean (xs) { return xs.reduce((s, x) => s + x, 0) / xs.length }

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

async function measureClip (clip, enhancers) {
  const { name, width: w, height: h } = clip
  const ref = frames(raw(name), w, h)
  const points = []
  for (const kbps of RATES) {
    const rate = ['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`]
    const full = join(tmp, `${name}-${kbps}-full.webm`)
    ffmpeg([...rawIn(raw(name), w, h), ...VP8, ...rate, '-bufsize', `${kbps}k`, full])
    ffmpeg(['-i', full, ...rawOut(raw('dec-full'))])
    const decFull = frames(raw('dec-full'), w, h)
    const q = { vp8: [] }
    for (let i = SKIP; i < ref.count; i++) q.vp8.push(quality(decFull.get(i), ref.get(i)))
    decFull.close()
    const seconds = (ref.count - SKIP) / FPS
    const coded = { vp8: packets(full, SKIP) }
    const point = { targetKbps: kbps, frames: ref.count - SKIP, droppedFrames: { full: ref.count - coded.vp8.count }, wholeClipKbps: { full: round((statSync(full).size * 8) / (ref.count / FPS) / 1000, 1) } }
    const ms = {}
    for (const scale of SCALES) {
      const { lw, lh, ow, oh } = sizes(scale, w, h)
      const { bicubic, aic } = ARMS[scale]
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
      for (let i = SKIP; i < ref.count; i++) {
        const r = ref.get(i)
        q[bicubic].push(quality(padTo(decBic.get(i), w, h), r))
        const t = performance.now()
        const out = await enhancers[scale].enhance(decLow.get(i))
        ms[aic].push(performance.now() - t)
        q[aic].push(quality(padTo(out, w, h), r))
      }
      decLow.close()
      decBic.close()
      coded[bicubic] = coded[aic] = packets(low, SKIP)
      point.droppedFrames[tag] = ref.count - coded[aic].count
      point.wholeClipKbps[tag] = round((statSync(low).size * 8) / (ref.count / FPS) / 1000, 1)
      if (scale !== 2) point.codedSize = { [tag]: [lw, lh], restored: [ow, oh] }
    }
    for (const method of METHODS) {
      const m = mean(q[method].map((x) => x.mse))
      point[method] = { kbps: round((coded[method].bytes * 8) / seconds / 1000, 1), psnr: round(m === 0 ? 100 : 10 * Math.log10(255 * 255 / m), 3), ssim: round(mean(q[method].map((x) => x.ssim)), 5) }
    }
    if (ms.aic) point.enhanceMsPerFrame = round(mean(ms.aic), 1)
    if (ms.aic1_5) point.enhanceMsPerFrame1_5 = round(mean(ms.aic1_5), 1)
    points.push(point)
    const arm = (m) => `${m} ${point[m].kbps} kbps ${point[m].psnr} dB ${point[m].ssim}`
    console.log(`${name} ${kbps} kbps (dropped: ${JSON.stringify(point.droppedFrames)}): ${METHODS.map(arm).join(' | ')} (ms/frame: ${point.enhanceMsPerFrame ?? '-'} at 2x, ${point.enhanceMsPerFrame1_5 ?? '-'} at 1.5x)`)
  }
  ref.close()
  return { ...clip, points }
}

/**
 * BD-rates of bicubic and aic against vp8 on one clip. A point where the encoder coded no frame
 * after the first second (0 kbps: it dropped them all) has no place on a log-rate curve and is
 * left out, and said so.
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

/** Per resolution: the mean of the clips' BD-rates (as codec test conditions average per-sequence BD-rates). */
function meanBdRates (clips) {
  const out = { clips: clips.map((c) => c.name) }
  for (const metric of ['ssim', 'psnr']) {
    out[metric] = {}
    for (const method of [...METHODS.slice(1), ...SCALES.map((s) => `${ARMS[s].aic}VsBicubic`)]) {
      const values = clips.map((c) => c.bdRate[metric][method]).filter((v) => v !== null)
      out[metric][method] = values.length === clips.length ? round(mean(values), 1) : null
      if (values.length !== clips.length) out[metric][`${method}Error`] = `BD-rate undefined on ${clips.length - values.length} of ${clips.length} clips`
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

try {
  const t0 = performance.now()
  const speedResult = await speed()
  const clips = makeClips()
  const enhancers = {}
  for (const scale of SCALES) enhancers[scale] = await createEnhancer({ runtime: 'node', scale, threads: 2 })
  const measured = []
  for (const clip of clips) measured.push(await measureClip(clip, enhancers))
  for (const e of Object.values(enhancers)) await e.close()
  const enhancer = enhancers[SCALES[0]]
  for (const c of measured) c.bdRate = clipBdRates(c)
  const byRes = {
    '360p': meanBdRates(measured.filter((c) => c.height === 360)),
    '720p': meanBdRates(measured.filter((c) => c.height === 720))
  }
  console.log(`BD-rate against VP8 at full size (negative: fewer bits for the same quality): ${JSON.stringify(byRes)}`)
  writeResult(quick ? 'aic-enhance-quick' : 'aic-enhance', {
    quick,
    scales: SCALES,
    model: enhancer.info.model,
    models: Object.fromEntries(SCALES.map((s) => [s, enhancers[s].info.model])),
    loadAverageAtEnd: loadavg().map((x) => round(x, 2)),
    runtime: { runtime: enhancer.info.runtime, executionProvider: enhancer.info.executionProvider },
    codec: `VP8 (ffmpeg libvpx ${VP8.join(' ')}), constant bitrate`,
    metrics: `luma (BT.601 from RGB) against the original frames, from frame ${SKIP} on: PSNR of the mean MSE, mean SSIM; kbps: coded VP8 packets of those frames (WebM overhead excluded)`,
    skipFrames: SKIP,
    rates: RATES,
    bdRate: byRes,
    speed: speedResult,
    clips: measured,
    seconds: round((performance.now() - t0) / 1000, 1)
  })
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
