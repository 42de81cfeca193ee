// A frame number stamped into the top-left corner of every frame of a benchmark clip, as 16
// black or white blocks (8 by 2) on a black plate: 12 bits of number and a 4-bit check, so a
// receiver reads which source frame it shows and a misread (a block smeared by the codec or
// the downscaling) is refused rather than matched to the wrong frame. The blocks are large
// (1/15 of the height) so that they survive a call that sends a quarter of the pixels at
// 150 kbit/s. The plate (`maskWidth` x `maskHeight`, multiples of 4) is what quality metrics
// leave out.
//
// Shared by bench/aic/call.mjs (which draws it, and checks every reference frame reads back)
// and e2e/pages/aic-call.ts (which reads it in the browser). No imports: Node runs it as is.

export interface StampLayout {
  /** The source frame size the layout is for. */
  width: number
  height: number
  /** Side of one block, in source pixels. */
  block: number
  /** Black margin around the blocks. */
  pad: number
  cols: number
  rows: number
  /** The plate, rounded up to multiples of 4 (SSIM's 4x4 grid): what metrics mask out. */
  maskWidth: number
  maskHeight: number
}

export const NUMBER_BITS = 12
/** Frame numbers run from 0 to MAX_STAMP. */
export const MAX_STAMP = (1 << NUMBER_BITS) - 1

/** The layout for a source of `width` x `height` (blocks of about height/15, a multiple of 4). */
export function stampLayout (width: number, height: number): StampLayout {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 90) {
    throw new RangeError(`stampLayout: width and height must be whole numbers of at least 160 x 90, got ${width} x ${height}`)
  }
  const block = Math.max(8, Math.round(height / 60) * 4)
  const pad = block / 2
  const cols = 8
  const rows = 2
  const up4 = (x: number): number => Math.ceil(x / 4) * 4
  return { width, height, block, pad, cols, rows, maskWidth: up4(cols * block + 2 * pad), maskHeight: up4(rows * block + 2 * pad) }
}

function check (n: number): number {
  return (n ^ (n >> 4) ^ (n >> 8) ^ 0x5) & 0xf
}

/** The 16 bits drawn for frame `n`: bit i is block i (row-major), 1 = white. */
export function stampWord (n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_STAMP) throw new RangeError(`stamp number must be 0 to ${MAX_STAMP}, got ${n}`)
  return n | (check(n) << NUMBER_BITS)
}

/** Draws frame number `n` into packed RGB (channels 3) or RGBA (4) pixels of the layout's size. */
export function drawStamp (pixels: Uint8Array, channels: 3 | 4, n: number, layout: StampLayout): void {
  const { width, block, pad, cols, rows, maskWidth, maskHeight } = layout
  if (pixels.length !== width * layout.height * channels) throw new RangeError(`drawStamp: expected ${width * layout.height * channels} bytes, got ${pixels.length}`)
  const word = stampWord(n)
  for (let y = 0; y < maskHeight; y++) {
    for (let x = 0; x < maskWidth; x++) {
      const bx = Math.floor((x - pad) / block)
      const by = Math.floor((y - pad) / block)
      const inBlock = x >= pad && y >= pad && bx < cols && by < rows
      const v = inBlock && ((word >> (by * cols + bx)) & 1) === 1 ? 255 : 0
      const o = (y * width + x) * channels
      pixels[o] = v
      pixels[o + 1] = v
      pixels[o + 2] = v
    }
  }
}

/**
 * Reads the frame number from luma samples covering at least the plate, in source-pixel
 * coordinates (`stride` samples a row): each block's central half is averaged and compared
 * with mid-grey. Returns -1 when the check bits do not match.
 */
export function readStamp (luma: ArrayLike<number>, stride: number, layout: StampLayout): number {
  const { block, pad, cols, rows } = layout
  const q = block / 4
  let word = 0
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      const x0 = pad + bx * block + q
      const y0 = pad + by * block + q
      let sum = 0
      for (let y = y0; y < y0 + 2 * q; y++) for (let x = x0; x < x0 + 2 * q; x++) sum += luma[y * stride + x]!
      if (sum / (4 * q * q) > 128) word |= 1 << (by * cols + bx)
    }
  }
  const n = word & MAX_STAMP
  return (word >> NUMBER_BITS) === check(n) ? n : -1
}
