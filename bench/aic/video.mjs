// What bench/aic/enhance.mjs and enhance-variants.mjs share: ffmpeg run quietly, VP8 set up as
// WebRTC sets up libvpx for a call, and raw RGBA frames read from a file one at a time.
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, readSync, statSync } from 'node:fs'

/**
 * VP8 as WebRTC sets up libvpx for a call: realtime, no look-ahead, error resilient, frame
 * dropping on, speed 8 held fixed (`-cpu-used -8`: `8` lets libvpx adapt its speed to the
 * machine's load, and results then differ from run to run), as prepare_data.py makes tool 1's
 * training pairs.
 */
export const VP8 = ['-pix_fmt', 'yuv420p', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '-8', '-g', '3000', '-lag-in-frames', '0',
  '-error-resilient', '1', '-qmin', '2', '-qmax', '56', '-undershoot-pct', '100', '-overshoot-pct', '15', '-drop-threshold', '30', '-static-thresh', '1']

/** Runs ffmpeg (errors only, overwriting); throws with its stderr when it fails. */
export function ffmpeg (args) {
  const res = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${res.stderr}`)
}

/** Raw RGBA frames of one size in a file, read one at a time (a frame past the end repeats the last). */
export function frames (file, width, height) {
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
