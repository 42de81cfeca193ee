// bench/aic/enhance-variants: what the enhancer's 'fast' variant (and any candidate model file)
// costs in quality against the 'standard' one and gains over bicubic, on the held-out clip.
//
// opencv-doc's Megamind.avi (held out from training) made as bench/aic/enhance.mjs makes its
// "megamind" clip (bench/aic/clips.mjs: from 1.5 s, scaled to cover 640x360 with Lanczos and
// cropped, 120 frames at 30 fps), then for each scale the sender's frames (320x180 at 2x; 426x240
// from the first 639 columns at 1.5x) through VP8 set up as enhance.mjs sets it up (WebRTC's
// libvpx settings, realtime, constant bitrate) at each rate, decoded, and restored by each arm
// from the same bitstream: ffmpeg's bicubic scaler, createEnhancer({ runtime: 'node', scale,
// variant }) for each variant, and `--model LABEL=FILE@SCALE` files (modelPath). The first 30
// frames count in nothing (as in enhance.mjs). Quality against the original frames over the whole
// 640x360 frame (a 639-wide output repeats its last column): luma PSNR from the mean MSE, mean
// luma SSIM (packages/aic's metrics). Reported per rate and as the mean over the rates of each
// arm's difference from bicubic and from the standard model (same bits, so differences are the
// restoration alone). Writes bench/results/aic-enhance-variants.json.
//
//   npm run build && node bench/aic/enhance-variants.mjs [--scales 2,1.5] [--model LABEL=FILE@SCALE] [--quick]
//   (needs ffmpeg and opencv-doc; about 2 minutes here)
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createEnhancer, lumaOf, mse, ssim } from '@auralink/aic'
import { root, round, writeResult } from '../lib.mjs'
import { ffmpeg, frames, VP8 } from './video.mjs'

const MEGAMIND = '/usr/share/doc/opencv-doc/examples/data/Megamind.avi'
const quick = process.argv.includes('--quick')
const arg = (name) => { const i = process.argv.indexOf(name); return i === -1 ? undefined : process.argv[i + 1] }
const SCALES = (arg('--scales') ?? '2,1.5').split(',').map(Number)
if (SCALES.length === 0 || SCALES.some((s) => s !== 2 && s !== 1.5)) {
  console.error(`aic/enhance-variants: --scales takes 2, 1.5 or 2,1.5, got ${arg('--scales')}`)
  process.exit(2)
}
const MODELS = process.argv.flatMap((a, i) => (a === '--model' ? [process.argv[i + 1] ?? ''] : [])).map((a) => {
  const m = /^([^=]+)=(.+)@(2|1\.5)$/.exec(a)
  if (m === null) { console.error(`aic/enhance-variants: --model takes LABEL=FILE@SCALE, got ${JSON.stringify(a)}`); process.exit(2) }
  return { label: m[1], file: m[2], scale: Number(m[3]) }
})
const VARIANTS = ['standard', 'fast']
const W = 640
const H = 360
const FPS = 30
const FRAMES = 120
const SKIP = 30
const RATES = quick ? [100, 250, 500, 1000] : [100, 200, 350, 500, 700, 1000]
// as bench/aic/enhance.mjs: WebRTC's libvpx settings for a call, speed 8 held fixed

if (!existsSync(MEGAMIND)) {
  console.error(`aic/enhance-variants: ${MEGAMIND} is missing: apt-get install opencv-doc`)
  process.exit(2)
}


/** An ow x oh frame widened to W x H by repeating its last column and row. */
function padTo (frame) {
  if (frame.width === W && frame.height === H) return frame
  const data = new Uint8Array(W * H * 4)
  for (let y = 0; y < H; y++) {
    const sy = Math.min(y, frame.height - 1)
    data.set(frame.data.subarray(sy * frame.width * 4, (sy + 1) * frame.width * 4), y * W * 4)
    const last = frame.data.subarray(((sy + 1) * frame.width - 1) * 4, (sy + 1) * frame.width * 4)
    for (let x = frame.width; x < W; x++) data.set(last, (y * W + x) * 4)
  }
  return { width: W, height: H, data }
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length
const tmp = mkdtempSync(join(tmpdir(), 'auralink-bench-aic-variants-'))
const loadBefore = round(loadavg()[0])
const t0 = performance.now()
const out = { clip: 'megamind (opencv-doc Megamind.avi from 1.5 s, 640x360, held out)', frames: FRAMES, skipped: SKIP, rates: RATES, scales: {} }
try {
  const ref = join(tmp, 'ref.rgba')
  ffmpeg(['-ss', '1.5', '-i', MEGAMIND, '-vf', `scale=${W}:${H}:force_original_aspect_ratio=increase:flags=lanczos,crop=${W}:${H}`, '-frames:v', String(FRAMES),
    '-r', String(FPS), '-f', 'rawvideo', '-pix_fmt', 'rgba', ref])
  const refFrames = frames(ref, W, H)
  const refLuma = []
  for (let i = SKIP; i < refFrames.count; i++) refLuma.push(lumaOf({ ...refFrames.get(i), channels: 4 }))
  const count = refFrames.count
  refFrames.close()
  for (const scale of SCALES) {
    const [lw, lh] = scale === 2 ? [W / 2, H / 2] : [426, 240]
    const [ow, oh] = scale === 2 ? [W, H] : [639, 360]
    const arms = []
    for (const variant of VARIANTS) {
      const e = await createEnhancer({ runtime: 'node', threads: 1, scale, variant })
      // the file relative to the repository: results name no path of this machine
      arms.push({ label: variant, enhancer: e, model: { ...e.info.model, file: relative(root, e.info.model.file) } })
    }
    for (const m of MODELS.filter((m) => m.scale === scale)) {
      const e = await createEnhancer({ runtime: 'node', threads: 1, scale, modelPath: m.file })
      arms.push({ label: m.label, enhancer: e, model: { file: m.file } })
    }
    const points = []
    for (const kbps of RATES) {
      console.error(`[${Math.round((performance.now() - t0) / 1000)} s] ${scale}x ${kbps} kbps`)
      const rate = ['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`]
      const low = join(tmp, `low-${scale}-${kbps}.webm`)
      const crop = ow === W ? '' : `crop=${ow}:${oh}:0:0,`
      ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${W}x${H}`, '-r', String(FPS), '-i', ref, '-vf', `${crop}scale=${lw}:${lh}:flags=bicubic`, ...VP8, ...rate, low])
      const rawOut = (file) => ['-fps_mode', 'cfr', '-r', String(FPS), '-f', 'rawvideo', '-pix_fmt', 'rgba', file]
      ffmpeg(['-i', low, ...rawOut(join(tmp, 'dec-low.rgba'))])
      ffmpeg(['-i', low, '-vf', `scale=${ow}:${oh}:flags=bicubic`, ...rawOut(join(tmp, 'dec-bicubic.rgba'))])
      const decLow = frames(join(tmp, 'dec-low.rgba'), lw, lh)
      const decBic = frames(join(tmp, 'dec-bicubic.rgba'), ow, oh)
      const q = { bicubic: [] }
      for (const a of arms) q[a.label] = []
      const quality = (f, r) => { const l = lumaOf({ ...padTo(f), channels: 4 }); return { mse: mse(l, r), ssim: ssim(l, r) } }
      for (let i = SKIP; i < count; i++) {
        const r = refLuma[i - SKIP]
        q.bicubic.push(quality(decBic.get(i), r))
        const input = decLow.get(i)
        for (const a of arms) q[a.label].push(quality(await a.enhancer.enhance(input), r))
      }
      decLow.close()
      decBic.close()
      const point = { targetKbps: kbps }
      for (const [k, xs] of Object.entries(q)) {
        const m = mean(xs.map((x) => x.mse))
        point[k] = { psnr: round(10 * Math.log10(255 * 255 / m), 3), ssim: round(mean(xs.map((x) => x.ssim)), 5) }
      }
      points.push(point)
    }
    for (const a of arms) await a.enhancer.close()
    const diff = (k, base) => ({
      psnrDb: round(mean(points.map((p) => p[k].psnr - p[base].psnr)), 3),
      ssim: round(mean(points.map((p) => p[k].ssim - p[base].ssim)), 5)
    })
    out.scales[scale] = {
      sent: `${lw}x${lh}`,
      restored: `${ow}x${oh}`,
      models: Object.fromEntries(arms.map((a) => [a.label, a.model])),
      points,
      meanOverRates: Object.fromEntries(arms.map((a) => [a.label, { vsBicubic: diff(a.label, 'bicubic'), vsStandard: diff(a.label, 'standard') }]))
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
out.loadAverage = { before: loadBefore, after: round(loadavg()[0]) }
out.seconds = round((performance.now() - t0) / 1000, 1)
writeResult('aic-enhance-variants', out)
for (const [scale, s] of Object.entries(out.scales)) {
  console.log(`\n| ${scale}x (${s.sent} -> ${s.restored}), Megamind, mean over ${RATES.length} rates | luma PSNR vs bicubic (dB) | SSIM vs bicubic | PSNR vs standard (dB) | SSIM vs standard |`)
  console.log('|---|---|---|---|---|')
  for (const [k, d] of Object.entries(s.meanOverRates)) console.log(`| ${k} | ${d.vsBicubic.psnrDb} | ${d.vsBicubic.ssim} | ${d.vsStandard.psnrDb} | ${d.vsStandard.ssim} |`)
}
