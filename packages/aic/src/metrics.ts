/** One 8-bit plane (luma or gray), row-major. */
export interface Plane {
  width: number
  height: number
  data: Uint8Array | Uint8ClampedArray
}

function check (a: Plane, b: Plane, what: string): void {
  for (const [name, p] of [['a', a], ['b', b]] as const) {
    if (p == null || !Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1) {
      throw new TypeError(`${what}: ${name} must be a plane with whole width and height >= 1`)
    }
    if (p.data?.length !== p.width * p.height) {
      throw new RangeError(`${what}: ${name}.data has ${p.data?.length} bytes, expected ${p.width} x ${p.height} = ${p.width * p.height}`)
    }
  }
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`${what}: planes differ in size (${a.width}x${a.height} and ${b.width}x${b.height})`)
  }
}

/** Mean squared error between two planes. */
export function mse (a: Plane, b: Plane): number {
  check(a, b, 'mse')
  let sum = 0
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!
    sum += d * d
  }
  return sum / a.data.length
}

/** PSNR in dB for 8-bit planes (peak 255), as ffmpeg's psnr filter computes it; Infinity when equal. */
export function psnr (a: Plane, b: Plane): number {
  const e = mse(a, b)
  return e === 0 ? Infinity : 10 * Math.log10((255 * 255) / e)
}

// SSIM constants for 8x8 windows of 8-bit samples, scaled by the window's 64 samples
const C1 = Math.round(0.01 * 0.01 * 255 * 255 * 64)
const C2 = Math.round(0.03 * 0.03 * 255 * 255 * 64 * 63)

/**
 * SSIM as x264 and ffmpeg's ssim filter compute it: 8x8 windows stepped by 4 pixels, built from
 * sums over 4x4 blocks, averaged over all windows. Planes need at least 8x8 pixels. For sizes
 * that are multiples of 4 (video frames: 640x360, 1280x720) results equal ffmpeg 5.1's to the
 * 6 decimals it prints (tested against ffmpeg). Where the right or bottom border is a partial
 * 4-pixel block this leaves it out, and ffmpeg does something else: measured up to 0.0067
 * apart on a 250x190 picture.
 */
export function ssim (a: Plane, b: Plane): number {
  check(a, b, 'ssim')
  const bw = a.width >> 2
  const bh = a.height >> 2
  if (bw < 2 || bh < 2) throw new RangeError(`ssim: planes need at least 8x8 pixels, got ${a.width}x${a.height}`)
  // per 4x4 block: sum a, sum b, sum a^2 + b^2, sum a*b
  const blocks = new Float64Array(bw * bh * 4)
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      let s1 = 0; let s2 = 0; let ss = 0; let s12 = 0
      for (let y = 0; y < 4; y++) {
        const row = (by * 4 + y) * a.width + bx * 4
        for (let x = 0; x < 4; x++) {
          const p = a.data[row + x]!
          const q = b.data[row + x]!
          s1 += p; s2 += q; ss += p * p + q * q; s12 += p * q
        }
      }
      const o = (by * bw + bx) * 4
      blocks[o] = s1; blocks[o + 1] = s2; blocks[o + 2] = ss; blocks[o + 3] = s12
    }
  }
  let total = 0
  for (let by = 0; by + 1 < bh; by++) {
    for (let bx = 0; bx + 1 < bw; bx++) {
      let s1 = 0; let s2 = 0; let ss = 0; let s12 = 0
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const o = ((by + dy) * bw + bx + dx) * 4
        s1 += blocks[o]!; s2 += blocks[o + 1]!; ss += blocks[o + 2]!; s12 += blocks[o + 3]!
      }
      const vars = ss * 64 - s1 * s1 - s2 * s2
      const covar = s12 * 64 - s1 * s2
      total += ((2 * s1 * s2 + C1) * (2 * covar + C2)) / ((s1 * s1 + s2 * s2 + C1) * (vars + C2))
    }
  }
  return total / ((bw - 1) * (bh - 1))
}

const MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]

function gaussian (size = 11, sigma = 1.5): Float64Array {
  const k = new Float64Array(size)
  let sum = 0
  for (let i = 0; i < size; i++) {
    const x = i - (size - 1) / 2
    k[i] = Math.exp(-(x * x) / (2 * sigma * sigma))
    sum += k[i]!
  }
  return k.map((v) => v / sum)
}

/** Separable 'valid' filtering of a float image with a 1-D kernel. */
function blur (img: Float64Array, w: number, h: number, k: Float64Array): { data: Float64Array, w: number, h: number } {
  const n = k.length
  const tw = w - n + 1
  const th = h - n + 1
  const tmp = new Float64Array(tw * h)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0
      for (let i = 0; i < n; i++) s += img[y * w + x + i]! * k[i]!
      tmp[y * tw + x] = s
    }
  }
  const out = new Float64Array(tw * th)
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0
      for (let i = 0; i < n; i++) s += tmp[(y + i) * tw + x]! * k[i]!
      out[y * tw + x] = s
    }
  }
  return { data: out, w: tw, h: th }
}

/** Mean SSIM and mean contrast-structure term with an 11x11 Gaussian window (sigma 1.5). */
function ssimTerms (x: Float64Array, y: Float64Array, w: number, h: number, k: Float64Array): { ssim: number, cs: number } {
  const c1 = (0.01 * 255) ** 2
  const c2 = (0.03 * 255) ** 2
  const xx = x.map((v) => v * v)
  const yy = y.map((v) => v * v)
  const xy = x.map((v, i) => v * y[i]!)
  const mx = blur(x, w, h, k); const my = blur(y, w, h, k)
  const sxx = blur(xx, w, h, k); const syy = blur(yy, w, h, k); const sxy = blur(xy, w, h, k)
  let s = 0; let c = 0
  const n = mx.data.length
  for (let i = 0; i < n; i++) {
    const ux = mx.data[i]!; const uy = my.data[i]!
    const vx = sxx.data[i]! - ux * ux; const vy = syy.data[i]! - uy * uy; const cov = sxy.data[i]! - ux * uy
    const csi = (2 * cov + c2) / (vx + vy + c2)
    c += csi
    s += ((2 * ux * uy + c1) / (ux * ux + uy * uy + c1)) * csi
  }
  return { ssim: s / n, cs: c / n }
}

/**
 * Multi-scale SSIM (Wang, Simoncelli and Bovik 2003): 5 scales, 11x11 Gaussian windows
 * (sigma 1.5), 2x2 average downsampling, the published weights. Planes need at least 176
 * pixels on each side (11 pixels at the coarsest scale).
 */
export function msssim (a: Plane, b: Plane): number {
  check(a, b, 'msssim')
  const min = 11 * 2 ** (MS_WEIGHTS.length - 1)
  if (a.width < min || a.height < min) throw new RangeError(`msssim: planes need at least ${min}x${min} pixels, got ${a.width}x${a.height}`)
  const k = gaussian()
  let x = Float64Array.from(a.data)
  let y = Float64Array.from(b.data)
  let w = a.width
  let h = a.height
  let result = 1
  for (let s = 0; s < MS_WEIGHTS.length; s++) {
    const { ssim: full, cs } = ssimTerms(x, y, w, h, k)
    const last = s === MS_WEIGHTS.length - 1
    // negative terms (anti-correlated content) are clamped at 0, as common implementations do
    result *= Math.max(last ? full : cs, 0) ** MS_WEIGHTS[s]!
    if (!last) {
      const nw = w >> 1; const nh = h >> 1
      const dx = new Float64Array(nw * nh); const dy = new Float64Array(nw * nh)
      for (let j = 0; j < nh; j++) {
        for (let i = 0; i < nw; i++) {
          const o = 2 * j * w + 2 * i
          dx[j * nw + i] = (x[o]! + x[o + 1]! + x[o + w]! + x[o + w + 1]!) / 4
          dy[j * nw + i] = (y[o]! + y[o + 1]! + y[o + w]! + y[o + w + 1]!) / 4
        }
      }
      x = dx; y = dy; w = nw; h = nh
    }
  }
  return result
}

/** The BT.601 luma plane (full range) of packed RGB or RGBA pixels. */
export function lumaOf (image: { width: number, height: number, data: Uint8Array | Uint8ClampedArray, channels: 3 | 4 }): Plane {
  const { width, height, data, channels } = image
  if (channels !== 3 && channels !== 4) throw new RangeError(`lumaOf: channels must be 3 or 4, got ${String(channels)}`)
  if (data.length !== width * height * channels) {
    throw new RangeError(`lumaOf: data has ${data.length} bytes, expected ${width * height * channels}`)
  }
  const out = new Uint8Array(width * height)
  for (let i = 0, j = 0; i < out.length; i++, j += channels) {
    out[i] = Math.round(0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!)
  }
  return { width, height, data: out }
}
