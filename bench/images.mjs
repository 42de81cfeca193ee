/* global window -- the functions passed to page.evaluate() run in the page */
// bench/images: photos in calls (call.sendImage(), docs/images.md) between two Chromium pages
// through a real relay: what each codec sends and what the other side sees.
//
// Two data calls in turn: pages as created by default (both offer WebP and JPEG: WebP goes), then
// pages with `images: { learned: true }` (tool 2, on onnxruntime-web WASM). Each sends the
// evaluation photos (bench/aic/eval-photos.mjs: mate-backgrounds, 768 pixels wide) at qualities
// 0.25, 0.5 (the default) and 0.75. Per picture: the bytes sent; the luma PSNR of what the other
// page decoded, against the original; the bytes JPEG needs for that PSNR (the smallest file over
// quality 1-100 that reaches it: libjpeg-turbo through sharp, 4:2:0, as a browser's canvas
// writes, and mozjpeg, the stronger JPEG); the ms until sendImage() resolved (coded and confirmed
// by the receiver) and until the other page's `image` event (decoded; both pages' clocks are this
// machine's).
// Writes bench/results/images.json.
//
//   scripts/netns.sh node bench/images.mjs [--photos N]     (after npm run build; needs mate-backgrounds)
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { lumaOf, psnr } from '@auralink/aic'
import { browserBench, ok } from './browser-lib.mjs'
import { progress, requireNetns, round, summary, writeResult } from './lib.mjs'
import { evalPhotos, loadPhoto } from './aic/eval-photos.mjs'

requireNetns('images')
const { values } = parseArgs({ options: { photos: { type: 'string', default: '6' } } })
const files = evalPhotos(Number(values.photos), 'images')
const QUALITIES = [0.25, 0.5, 0.75]

const lumaPsnr = (a, b) => psnr(lumaOf({ ...a, channels: 4 }), lumaOf({ ...b, channels: 4 }))

/** The smallest JPEG of `frame` reaching `target` dB (luma PSNR), over quality 1-100: { bytes, quality } or null. */
async function jpegFor (frame, target, mozjpeg) {
  const at = async (q) => {
    const coded = await sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 4 } }).removeAlpha().jpeg({ quality: q, mozjpeg }).toBuffer()
    const { data } = await sharp(coded).removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    return { bytes: coded.length, psnr: lumaPsnr(frame, { ...frame, data: new Uint8Array(data) }), quality: q }
  }
  if ((await at(100)).psnr < target) return null
  let lo = 1
  let hi = 100
  // PSNR rises with quality (near enough): the lowest quality that reaches the target, in 7 steps
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if ((await at(mid)).psnr >= target) hi = mid
    else lo = mid + 1
  }
  const r = await at(lo)
  return { bytes: r.bytes, quality: r.quality }
}

const bench = await browserBench({ relayArgs: ['--max-reservations-per-address', '64'] })
const result = { photos: files.length, qualities: QUALITIES, modes: {} }
try {
  const photos = []
  for (const f of files) photos.push({ file: f, frame: await loadPhoto(f) })
  for (const [mode, images] of [['default', {}], ['learned', { learned: true }]]) {
    const alice = await bench.page('sdk', `alice-${mode}`)
    const bob = await bench.page('sdk', `bob-${mode}`)
    await alice.evaluate(async ([r, name, im]) => window.sdkPage.start(r, name, undefined, undefined, im), [bench.relayAddr, `@alice-img-${mode}.aura`, images])
    await bob.evaluate(async ([r, name, im]) => window.sdkPage.start(r, name, undefined, undefined, im), [bench.relayAddr, `@bob-img-${mode}.aura`, images])
    ok(await alice.evaluate(async (name) => window.sdkPage.dataCall(name), `@bob-img-${mode}.aura`), `${mode}: data call`)
    const rows = []
    let received = 0
    for (const [i, { file, frame }] of photos.entries()) {
      const pixels = Buffer.from(frame.data).toString('base64')
      for (const quality of QUALITIES) {
        const t0 = performance.now()
        const sending = alice.evaluate(async ([w, h, o]) => window.sdkPage.sendImage(w, h, o), [frame.width, frame.height, { quality, pixels, decode: false }])
        // meanwhile, until the other page has decoded it (bounded: 60 s)
        while ((await bob.evaluate(() => window.sdkPage.images().length)) <= received) {
          if (performance.now() - t0 > 60_000) throw new Error(`${mode}: ${file} at ${quality} not shown within 60 s`)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        const sent = ok(await sending, `${mode}: sendImage`)
        const { pixels: shown, at } = await bob.evaluate((k) => window.sdkPage.images()[k], received)
        // from sendImage() on one page to the image event on the other
        const shownMs = at - sent.at
        received++
        const out = { width: frame.width, height: frame.height, data: new Uint8Array(Buffer.from(shown, 'base64')) }
        const dB = lumaPsnr(frame, out)
        const [jpeg, moz] = [await jpegFor(frame, dB, false), await jpegFor(frame, dB, true)]
        rows.push({ file, quality, codec: sent.codec, bytes: sent.bytes, bpp: round((sent.bytes * 8) / (frame.width * frame.height), 4), psnr: round(dB, 3), jpegBytes: jpeg?.bytes ?? null, mozjpegBytes: moz?.bytes ?? null, sendMs: round(sent.ms, 1), shownMs: round(shownMs, 1) })
      }
      progress(mode, i + 1, photos.length)
    }
    await alice.evaluate(async () => window.sdkPage.stop())
    await bob.evaluate(async () => window.sdkPage.stop())
    const byQuality = {}
    for (const q of QUALITIES) {
      const r = rows.filter((x) => x.quality === q)
      const mean = (k) => round(r.reduce((s, x) => s + x[k], 0) / r.length, 3)
      const ratio = (k) => { const v = r.filter((x) => x[k] !== null); return v.length > 0 ? round(v.reduce((s, x) => s + x.bytes / x[k], 0) / v.length, 3) : null }
      byQuality[q] = { codec: r[0].codec, bytes: mean('bytes'), bpp: mean('bpp'), psnr: mean('psnr'), bytesOverJpeg: ratio('jpegBytes'), bytesOverMozjpeg: ratio('mozjpegBytes'), sendMs: summary(r.map((x) => x.sendMs)), shownMs: summary(r.map((x) => x.shownMs)) }
    }
    result.modes[mode] = { images, byQuality, rows }
    console.log(mode, JSON.stringify(byQuality, null, 1))
  }
} finally {
  await bench.close()
}
writeResult('images', result)
