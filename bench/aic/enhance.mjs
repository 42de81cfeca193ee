// bench/aic/enhance: tool 1 (neural enhancement of the native codec) on held-out video.
//
// For each clip and each bitrate, three ways to send W x H video through VP8 (ffmpeg's libvpx,
// realtime, constant bitrate), measured against the original frames (luma PSNR and SSIM, our
// metrics in packages/aic, which match ffmpeg's filters):
//   vp8        VP8 at W x H
//   bicubic    VP8 at W/2 x H/2, upscaled by ffmpeg's bicubic scaler (a receiver without AIC)
//   aic        VP8 at W/2 x H/2, restored by createEnhancer({ runtime: 'node', scale: 2 })
// at the same bitrates; rates are the coded bytes actually written (WebM) over the clip's
// duration. BD-rate (Bjøntegaard, piecewise linear over each curve's efficient points: see
// packages/aic/src/bd-rate.ts) of bicubic and aic against vp8 per clip, and their mean per resolution.
// Then speed: ms per 640x360 output frame on onnxruntime-node with 1 and 2 threads, model load
// time, memory. Writes bench/results/aic-enhance.json.
//
//   node bench/aic/enhance.mjs [--quick]      (after npm run build; needs ffmpeg, opencv-doc, mate-backgrounds)
//
// Clips: opencv-doc's Megamind.avi (held out from training) at 640x360, and slow pans over
// mate-backgrounds' nature photos (GPL, evaluation only, never trained on) at 640x360 and
// 1280x720.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bdRate, createEnhancer, lumaOf, mse, ssim } from '@auralink/aic'
import { round, summary, writeResult } from '../lib.mjs'

const quick = process.argv.includes('--quick')
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

/** Coded bytes of the packets from frame `from` on, and the packet count (frames the encoder dropped are missing). */
function packets (file, from) {
  const res = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', file], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`ffprobe ${file}: ${res.stderr}`)
  const sizes = res.stdout.trim().split('\n').map(Number)
  return { count: sizes.length, bytes: sizes.slice(from).reduce((s, x) => s + x, 0) }
}

async function measureClip (clip, enhancer) {
  const { name, width: w, height: h } = clip
  const ref = frames(raw(name), w, h)
  const points = []
  for (const kbps of RATES) {
    const rate = ['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`]
    const full = join(tmp, `${name}-${kbps}-full.webm`)
    const half = join(tmp, `${name}-${kbps}-half.webm`)
    ffmpeg([...rawIn(raw(name), w, h), ...VP8, ...rate, '-bufsize', `${kbps}k`, full])
    ffmpeg([...rawIn(raw(name), w, h), '-vf', `scale=${w / 2}:${h / 2}:flags=bicubic`, ...VP8, ...rate, '-bufsize', `${kbps}k`, half])
    ffmpeg(['-i', full, ...rawOut(raw('dec-full'))])
    ffmpeg(['-i', half, ...rawOut(raw('dec-half'))])
    ffmpeg(['-i', half, '-vf', `scale=${w}:${h}:flags=bicubic`, ...rawOut(raw('dec-bicubic'))])
    const decFull = frames(raw('dec-full'), w, h)
    const decHalf = frames(raw('dec-half'), w / 2, h / 2)
    const decBic = frames(raw('dec-bicubic'), w, h)
    const q = { vp8: [], bicubic: [], aic: [] }
    const ms = []
    for (let i = SKIP; i < ref.count; i++) {
      const r = ref.get(i)
      q.vp8.push(quality(decFull.get(i), r))
      q.bicubic.push(quality(decBic.get(i), r))
      const t = performance.now()
      const out = await enhancer.enhance(decHalf.get(i))
      ms.push(performance.now() - t)
      q.aic.push(quality(out, r))
    }
    for (const f of [decFull, decHalf, decBic]) f.close()
    const seconds = (ref.count - SKIP) / FPS
    const coded = { full: packets(full, SKIP), half: packets(half, SKIP) }
    const point = {
      targetKbps: kbps,
      frames: ref.count - SKIP,
      droppedFrames: { full: ref.count - coded.full.count, half: ref.count - coded.half.count },
      wholeClipKbps: { full: round((statSync(full).size * 8) / (ref.count / FPS) / 1000, 1), half: round((statSync(half).size * 8) / (ref.count / FPS) / 1000, 1) }
    }
    for (const [method, c] of [['vp8', coded.full], ['bicubic', coded.half], ['aic', coded.half]]) {
      const m = mean(q[method].map((x) => x.mse))
      point[method] = { kbps: round((c.bytes * 8) / seconds / 1000, 1), psnr: round(m === 0 ? 100 : 10 * Math.log10(255 * 255 / m), 3), ssim: round(mean(q[method].map((x) => x.ssim)), 5) }
    }
    point.enhanceMsPerFrame = round(mean(ms), 1)
    points.push(point)
    console.log(`${name} ${kbps} kbps (dropped: full ${point.droppedFrames.full}, half ${point.droppedFrames.half}): vp8 ${point.vp8.kbps} kbps ${point.vp8.psnr} dB ${point.vp8.ssim} | half+bicubic ${point.bicubic.kbps} kbps ${point.bicubic.psnr} dB ${point.bicubic.ssim} | half+aic ${point.aic.psnr} dB ${point.aic.ssim} (${point.enhanceMsPerFrame} ms/frame)`)
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
  const out = { excludedTargets: clip.points.filter((p) => p.vp8.kbps === 0 || p.bicubic.kbps === 0).map((p) => p.targetKbps) }
  for (const metric of ['ssim', 'psnr']) {
    out[metric] = {}
    for (const method of ['bicubic', 'aic']) {
      try {
        out[metric][method] = round(bdRate(curve('vp8', metric), curve(method, metric)), 1)
      } catch (err) {
        out[metric][method] = null
        out[metric][`${method}Error`] = err.message
      }
    }
  }
  return out
}

/** Per resolution: the mean of the clips' BD-rates (as codec test conditions average per-sequence BD-rates). */
function meanBdRates (clips) {
  const out = { clips: clips.map((c) => c.name) }
  for (const metric of ['ssim', 'psnr']) {
    out[metric] = {}
    for (const method of ['bicubic', 'aic']) {
      const values = clips.map((c) => c.bdRate[metric][method]).filter((v) => v !== null)
      out[metric][method] = values.length === clips.length ? round(mean(values), 1) : null
      if (values.length !== clips.length) out[metric][`${method}Error`] = `BD-rate undefined on ${clips.length - values.length} of ${clips.length} clips`
    }
  }
  return out
}

async function speed () {
  const input = { width: 320, height: 180, data: new Uint8Array(320 * 180 * 4).map((_, i) => (i * 31) % 251) }
  const result = {}
  for (const threads of [1, 2]) {
    const rssBefore = process.memoryUsage().rss
    const e = await createEnhancer({ runtime: 'node', scale: 2, threads })
    const ms = []
    for (let i = 0; i < 43; i++) {
      const t = performance.now()
      await e.enhance(input)
      if (i >= 3) ms.push(performance.now() - t)
    }
    result[`threads${threads}`] = { msPer640x360Frame: summary(ms), loadMs: round(e.info.loadMs, 1), rssGrowthMiB: round((process.memoryUsage().rss - rssBefore) / 2 ** 20, 1), executionProvider: e.info.executionProvider }
    console.log(`speed, ${threads} thread(s): ${JSON.stringify(result[`threads${threads}`])}`)
    await e.close()
  }
  return result
}

try {
  const t0 = performance.now()
  const speedResult = await speed()
  const clips = makeClips()
  const enhancer = await createEnhancer({ runtime: 'node', scale: 2, threads: 2 })
  const measured = []
  for (const clip of clips) measured.push(await measureClip(clip, enhancer))
  await enhancer.close()
  for (const c of measured) c.bdRate = clipBdRates(c)
  const byRes = {
    '360p': meanBdRates(measured.filter((c) => c.height === 360)),
    '720p': meanBdRates(measured.filter((c) => c.height === 720))
  }
  console.log(`BD-rate against VP8 at full size (negative: fewer bits for the same quality): ${JSON.stringify(byRes)}`)
  writeResult('aic-enhance', {
    quick,
    model: enhancer.info.model,
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
