// AIC's held-out video frames, shared by the AIC tests (packages/aic/test) and benchmarks (bench/aic):
// benchmarks import no test files.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Frame } from '@auralink/aic'

/** opencv-doc's Megamind.avi: AIC's held-out clip (never trained on; see docs/aic-data.md). */
export const HELD_OUT_CLIP = '/usr/share/doc/opencv-doc/examples/data/Megamind.avi'
// the reference framing training uses: scale down to cover 640x360, crop the middle
const FIT = 'scale=640:360:force_original_aspect_ratio=increase:flags=lanczos,crop=640:360'

function ffmpeg (args: string[]): Buffer {
  const res = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { maxBuffer: 1 << 30 })
  if (res.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${res.stderr.toString()}`)
  return res.stdout
}

function split (raw: Buffer, width: number, height: number): Frame[] {
  const size = width * height * 4
  const frames: Frame[] = []
  for (let o = 0; o + size <= raw.length; o += size) frames.push({ width, height, data: new Uint8Array(raw.subarray(o, o + size)) })
  return frames
}

/**
 * `count` frames of the held-out clip at 640x360 (ref), the same frames sent through VP8
 * (libvpx realtime) at 320x180 (scale 2) or 426x240 (scale 1.5: made from the reference's first
 * 639 columns, so that it is exactly 1/1.5 of 639x360, as training's pairs are) and `kbps` and
 * decoded (low), and those upscaled by ffmpeg's bicubic scaler to 640x360 or 639x360 (what a
 * receiver without AIC would show). cpu-used -8 (speed 8, held fixed) makes the bytes the same
 * on every run; a positive value lets libvpx's realtime mode adapt its speed to the machine's load.
 */
export function heldOutFrames (count: number, kbps: number, scale: 2 | 1.5 = 2): { ref: Frame[], low: Frame[], bicubic: Frame[] } {
  const [lw, lh] = scale === 2 ? [320, 180] : [426, 240]
  const [ow, oh] = scale === 2 ? [640, 360] : [639, 360]
  const down = scale === 2 ? 'scale=320:180:flags=bicubic' : 'crop=639:360:0:0,scale=426:240:flags=bicubic'
  const dir = mkdtempSync(join(tmpdir(), 'auralink-aic-fixture-'))
  try {
    const webm = join(dir, 'low.webm')
    const refFile = join(dir, 'ref.rgba')
    // the reference frames once, as raw bytes; the codec then reads exactly these at 30 fps, and
    // decoding passes frames through one for one (no frame dropped or repeated by a rate change)
    ffmpeg(['-i', HELD_OUT_CLIP, '-vf', FIT, '-frames:v', String(count), '-f', 'rawvideo', '-pix_fmt', 'rgba', refFile])
    const ref = split(readFileSync(refFile), 640, 360)
    ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', '640x360', '-r', '30', '-i', refFile, '-vf', down,
      '-pix_fmt', 'yuv420p', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '-8', '-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, webm])
    const decode = ['-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-']
    const low = split(ffmpeg(['-i', webm, ...decode]), lw, lh)
    const bicubic = split(ffmpeg(['-i', webm, '-vf', `scale=${ow}:${oh}:flags=bicubic`, ...decode]), ow, oh)
    return { ref, low, bicubic }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
