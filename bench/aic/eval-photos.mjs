// The evaluation photos of tool 2's benchmarks (bench/aic/image-codec.mjs, codec-weights.mjs): the
// 12 nature photos of mate-backgrounds (GPL, evaluation only, never trained on), downscaled to 768
// pixels wide (Lanczos; sharp), RGB; and how a coded picture is measured against its original.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { lumaOf, msssim, psnr, ssim } from '@auralink/aic'
import { round } from '../lib.mjs'

export const PHOTOS = '/usr/share/backgrounds/mate/nature'
export const WIDTH = 768

/** The photos to use: `wanted` of them spread over the sorted list (all when it is Infinity); exits 2 naming the package when they are missing. */
export function evalPhotos (wanted, who) {
  if (!existsSync(PHOTOS)) {
    console.error(`${who}: ${PHOTOS} is missing: apt-get install mate-backgrounds`)
    process.exit(2)
  }
  const all = readdirSync(PHOTOS).filter((f) => f.endsWith('.jpg')).sort()
  return all.filter((_, i) => wanted >= all.length || i % Math.ceil(all.length / wanted) === 0)
}

/** One photo, 768 wide, as an RGBA frame. */
export async function loadPhoto (file) {
  const { data, info } = await sharp(join(PHOTOS, file)).resize({ width: WIDTH, kernel: 'lanczos3' }).removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, data: new Uint8Array(data) }
}

export function rgbPsnr (a, b) {
  let se = 0
  let n = 0
  for (let i = 0; i < a.data.length; i++) {
    if (i % 4 === 3) continue
    const d = a.data[i] - b.data[i]
    se += d * d
    n++
  }
  return 10 * Math.log10((255 * 255 * n) / se)
}

/** bpp (the whole file or bitstream over width x height), luma PSNR, SSIM, MS-SSIM (BT.601 luma) and RGB PSNR of `out` against `ref`. */
export function measure (ref, out, bytes) {
  const la = lumaOf({ ...ref, channels: 4 })
  const lb = lumaOf({ ...out, channels: 4 })
  return { bpp: round((bytes * 8) / (ref.width * ref.height), 4), psnr: round(psnr(la, lb), 3), ssim: round(ssim(la, lb), 5), msssim: round(msssim(la, lb), 5), rgbPsnr: round(rgbPsnr(ref, out), 3) }
}
