// bench/aic/image-codec: tool 2 (the learned image codec) against JPEG (mozjpeg), WebP and AVIF.
//
// Evaluation photos: the 12 nature photos of mate-backgrounds (GPL, evaluation only, never
// trained on), downscaled to 768 pixels wide (Lanczos; sharp), RGB. Each one is coded by
//   aic     createImageCodec({ runtime: 'node', quality }) at every quality level of the shipped model
//   jpeg    sharp's JPEG with mozjpeg (trellis quantisation, optimised scans), 4:2:0, over a range of qualities
//   webp    sharp's WebP (libwebp, effort 4), over a range of qualities
//   avif    sharp's AVIF (libaom via libheif, effort 4), over a range of qualities
// and measured against the 768-pixel original: bits per pixel (the whole file or bitstream, over
// width x height) and luma PSNR, SSIM and MS-SSIM (packages/aic/src/metrics.ts, BT.601 luma), and
// RGB PSNR. BD-rate of aic against each of the others (packages/aic/src/bd-rate.ts: piecewise
// linear in log-rate over efficient points) per photo, then the mean over photos, on each metric.
// Then speed: encode and decode ms of one 768x480 picture at the middle level on onnxruntime-node
// with 1 and 2 threads. Writes bench/results/aic-image-codec.json and
// docs/img/aic-codec-{psnr,msssim}.svg (mean curves over the photos).
//
//   node bench/aic/image-codec.mjs [--quick | --photos N]     (after npm run build -w packages/aic; needs mate-backgrounds)
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { bdRate, createImageCodec, readManifest } from '@auralink/aic'
import { progress, root, round, summary, writeResult } from '../lib.mjs'
import { evalPhotos, loadPhoto, measure, WIDTH } from './eval-photos.mjs'

const quick = process.argv.includes('--quick')
const CODECS = {
  // JPEG and WebP from quality 1 (round 2): tool 2's levels sit below JPEG quality 5, where
  // BD-rate has no shared range; the lowest settings give it one
  jpeg: { label: 'JPEG (mozjpeg)', qualities: [1, 2, 3, 5, 10, 15, 20, 30, 40, 50, 65, 80, 90], encode: (img, q) => img.jpeg({ quality: q, mozjpeg: true }) },
  webp: { label: 'WebP', qualities: [1, 2, 5, 10, 20, 35, 50, 65, 80, 90], encode: (img, q) => img.webp({ quality: q, effort: 4 }) },
  avif: { label: 'AVIF', qualities: [5, 10, 20, 30, 40, 50, 60, 75], encode: (img, q) => img.avif({ quality: q, effort: 4 }) }
}
const METRICS = ['psnr', 'ssim', 'msssim']

async function viaSharp (frame, codec, q) {
  const img = sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 4 } }).removeAlpha()
  const coded = await CODECS[codec].encode(img, q).toBuffer()
  const { data } = await sharp(coded).removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { bytes: coded.length, out: { width: frame.width, height: frame.height, data: new Uint8Array(data) } }
}

function bd (anchor, test, metric) {
  try {
    return round(bdRate(anchor.map((p) => ({ rate: p.bpp, quality: p[metric] })), test.map((p) => ({ rate: p.bpp, quality: p[metric] }))), 2)
  } catch (err) {
    return { error: err.message }
  }
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length

const manifest = await readManifest()
const tablesEntry = manifest.models.find((m) => m.tool === 'codec' && m.role === 'tables')
// --photos N: every (12 / N)th photo, for a shorter run on a loaded machine
const photosArg = process.argv.indexOf('--photos')
const wanted = photosArg > 0 ? Number(process.argv[photosArg + 1]) : quick ? 3 : Infinity
const files = evalPhotos(wanted, 'image-codec')
const first = await createImageCodec({ runtime: 'node' })
const levels = first.info.levels
await first.close()
const aics = []
for (let q = 0; q < levels; q++) aics.push(await createImageCodec({ runtime: 'node', quality: q }))
const photos = []
for (const [i, f] of files.entries()) {
  const frame = await loadPhoto(f)
  const curves = { aic: [] }
  for (const [q, codec] of aics.entries()) {
    const bytes = await codec.encode(frame)
    const out = await codec.decode(bytes)
    curves.aic.push({ level: q, ...measure(frame, out, bytes.length) })
  }
  for (const name of Object.keys(CODECS)) {
    curves[name] = []
    for (const q of CODECS[name].qualities) {
      const { bytes, out } = await viaSharp(frame, name, q)
      curves[name].push({ quality: q, ...measure(frame, out, bytes) })
    }
  }
  const bdRates = {}
  for (const anchor of Object.keys(CODECS)) bdRates[anchor] = Object.fromEntries(METRICS.map((m) => [m, bd(curves[anchor], curves.aic, m)]))
  photos.push({ file: f, width: frame.width, height: frame.height, curves, bdRates })
  progress('photos', i + 1, files.length)
}
for (const c of aics) await c.close()

// mean over photos: of the BD-rates, and the mean curves (by level or quality setting) for the tables and plots
const bdMean = {}
for (const anchor of Object.keys(CODECS)) {
  bdMean[anchor] = {}
  for (const m of METRICS) {
    const vals = photos.map((p) => p.bdRates[anchor][m]).filter((v) => typeof v === 'number')
    bdMean[anchor][m] = { mean: vals.length ? round(mean(vals), 2) : null, photos: vals.length }
  }
}
const meanCurves = {}
for (const name of ['aic', ...Object.keys(CODECS)]) {
  meanCurves[name] = photos[0].curves[name].map((_, k) => {
    const pts = photos.map((p) => p.curves[name][k])
    const setting = name === 'aic' ? { level: k } : { quality: CODECS[name].qualities[k] }
    return { ...setting, ...Object.fromEntries(['bpp', 'psnr', 'ssim', 'msssim', 'rgbPsnr'].map((m) => [m, round(mean(pts.map((p) => p[m])), 4)])) }
  })
}
const bdOfMeanCurves = Object.fromEntries(Object.keys(CODECS).map((a) => [a, Object.fromEntries(METRICS.map((m) => [m, bd(meanCurves[a], meanCurves.aic, m)]))]))

// speed at the middle level, one 768x480 picture
// (every photo is at least 480 pixels tall at 768 wide: 16:10 and 5:4 originals)
const speedFrame = await loadPhoto(files[0])
speedFrame.height = 480
speedFrame.data = speedFrame.data.subarray(0, WIDTH * 480 * 4)
const speed = {}
const decoded = {}
for (const threads of [1, 2]) {
  const codec = await createImageCodec({ runtime: 'node', quality: Math.floor(levels / 2), threads })
  const enc = []
  const dec = []
  let bytes
  for (let r = 0; r < (quick ? 2 : 5); r++) {
    let t = performance.now()
    bytes = await codec.encode(speedFrame)
    enc.push(performance.now() - t)
    t = performance.now()
    decoded[threads] = await codec.decode(bytes)
    dec.push(performance.now() - t)
  }
  speed[`bytes${threads}`] = bytes
  speed[`threads${threads}`] = { encodeMs: summary(enc), decodeMs: summary(dec), loadMs: round(codec.info.loadMs, 1), executionProvider: codec.info.executionProvider }
  await codec.close()
}

// the same bits decoded with 1 and 2 threads: the bits are the same by construction (integer
// hyper-synthesis); only the float synthesis may differ, in the last level of a few pixels
const sameBits = Buffer.from(speed.bytes1).equals(Buffer.from(speed.bytes2))
delete speed.bytes1
delete speed.bytes2
let differing = 0
let maxDiff = 0
for (let i = 0; i < decoded[1].data.length; i++) {
  const d = Math.abs(decoded[1].data[i] - decoded[2].data[i])
  if (d > 0) differing++
  maxDiff = Math.max(maxDiff, d)
}
const threadAgreement = { sameBits, differingBytes: differing, maxDiff }

const result = {
  photos: photos.length,
  width: WIDTH,
  model: { version: tablesEntry.version, steps: tablesEntry.training?.steps, levels, bytes: Object.fromEntries(manifest.models.filter((m) => m.tool === 'codec').map((m) => [m.file, m.bytes])) },
  settings: Object.fromEntries(Object.entries(CODECS).map(([k, v]) => [k, { label: v.label, qualities: v.qualities }])),
  bdRateOfAic: bdMean,
  bdRateOfAicOnMeanCurves: bdOfMeanCurves,
  meanCurves,
  speed768x480: speed,
  oneVersusTwoThreads: threadAgreement,
  perPhoto: photos
}
writeResult('aic-image-codec', result)

console.log('\nmean over photos, tool 2 (aic) by level:')
console.table(meanCurves.aic)
for (const name of Object.keys(CODECS)) {
  console.log(`${CODECS[name].label}:`)
  console.table(meanCurves[name])
}
console.log('BD-rate of aic (mean of per-photo BD-rates, %; negative = fewer bits than the anchor):')
console.table(Object.fromEntries(Object.entries(bdMean).map(([a, v]) => [a, Object.fromEntries(METRICS.map((m) => [m, v[m].mean]))])))
console.log(`1 and 2 threads: same bits ${sameBits}; decoded pixels: ${differing} bytes differ, by at most ${maxDiff}`)
console.log('speed, 768x480, ms (p50):')
console.table(Object.fromEntries(Object.entries(speed).map(([k, v]) => [k, { encode: v.encodeMs.p50, decode: v.decodeMs.p50, load: v.loadMs }])))

// plots: the mean curves, bpp against luma PSNR and MS-SSIM
const COLORS = { aic: '#d62728', jpeg: '#666', webp: '#1f77b4', avif: '#2ca02c' }
const LABELS = { aic: 'AIC tool 2', ...Object.fromEntries(Object.entries(CODECS).map(([k, v]) => [k, v.label])) }
function plot (metric, title) {
  const W = 760; const H = 380; const M = { l: 64, r: 170, t: 30, b: 50 }
  const maxBpp = Math.max(...meanCurves.aic.map((p) => p.bpp)) * 1.6
  const curves = Object.entries(meanCurves).map(([k, pts]) => ({ k, pts: pts.filter((p) => p.bpp <= maxBpp) }))
  const all = curves.flatMap((c) => c.pts)
  const x1 = Math.ceil(maxBpp * 10) / 10
  const ys = all.map((p) => p[metric])
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.06 || 0.01
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad]
  const sx = (x) => M.l + (x / x1) * (W - M.l - M.r)
  const sy = (y) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b)
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - M.r + M.l) / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`]
  for (let i = 0; i <= 5; i++) {
    const x = (x1 * i) / 5; const y = y0 + ((y1 - y0) * i) / 5
    out.push(`<line x1="${sx(x)}" y1="${M.t}" x2="${sx(x)}" y2="${H - M.b}" stroke="#eee"/><text x="${sx(x)}" y="${H - M.b + 16}" text-anchor="middle">${x.toFixed(2)}</text>`)
    out.push(`<line x1="${M.l}" y1="${sy(y)}" x2="${W - M.r}" y2="${sy(y)}" stroke="#eee"/><text x="${M.l - 6}" y="${sy(y) + 4}" text-anchor="end">${metric === 'psnr' ? y.toFixed(1) : y.toFixed(3)}</text>`)
  }
  out.push(`<text x="${(W - M.r + M.l) / 2}" y="${H - 12}" text-anchor="middle">bits per pixel</text>`)
  out.push(`<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">luma ${metric === 'psnr' ? 'PSNR (dB)' : 'MS-SSIM'}</text>`)
  curves.forEach((c, i) => {
    out.push(`<polyline fill="none" stroke="${COLORS[c.k]}" stroke-width="2" points="${c.pts.map((p) => `${sx(p.bpp).toFixed(1)},${sy(p[metric]).toFixed(1)}`).join(' ')}"/>`)
    for (const p of c.pts) out.push(`<circle cx="${sx(p.bpp).toFixed(1)}" cy="${sy(p[metric]).toFixed(1)}" r="3" fill="${COLORS[c.k]}"/>`)
    out.push(`<rect x="${W - M.r + 12}" y="${M.t + 10 + 18 * i}" width="12" height="3" fill="${COLORS[c.k]}"/><text x="${W - M.r + 30}" y="${M.t + 15 + 18 * i}">${LABELS[c.k]}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
mkdirSync(join(root, 'docs/img'), { recursive: true })
for (const [metric, name] of [['psnr', 'PSNR'], ['msssim', 'MS-SSIM']]) {
  const file = join(root, `docs/img/aic-codec-${metric}.svg`)
  writeFileSync(file, plot(metric, `Tool 2 against JPEG, WebP, AVIF: ${name} (mean of ${photos.length} photos at ${WIDTH} px wide)`))
  console.log(`wrote ${file}`)
}
