// bench/aic/call's camera: a held-out clip with a frame number stamped in each frame
// (e2e/pages/frame-stamp.ts), written as a y4m file that Chromium's fake capture plays in a loop
// (--use-file-for-fake-video-capture), and its reference luma planes for the metrics.
//
// Made by ffmpeg from files Debian packages install, none of them training data
// (packages/aic/training/sources.py, docs/aic-data.md): matplotlib's grace_hopper.jpg (a face,
// framed as a webcam would: a slow sway), opencv-doc's Megamind.avi (the clip held out from
// tool 1's training; 270 frames at 23.976 fps played at 30) and a pan over a mate-backgrounds
// nature photo (evaluation only). At 1280x720 the two small sources would be upscaled, so that
// size pans over two mate-backgrounds photos instead. The same bytes on every run (ffmpeg's
// scale, crop and rawvideo paths are deterministic; the y4m's sha256 goes into the results).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lumaOf } from '@auralink/aic'

export const FPS = 30
const HOPPER = { package: 'python3-matplotlib', path: '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg' }
const MEGAMIND = { package: 'opencv-doc', path: '/usr/share/doc/opencv-doc/examples/data/Megamind.avi' }
const LADYBIRD = { package: 'mate-backgrounds', path: '/usr/share/backgrounds/mate/nature/LadyBird.jpg' }
const WOOD = { package: 'mate-backgrounds', path: '/usr/share/backgrounds/mate/nature/Wood.jpg' }

/** The segments of the clip at W x H: each an ffmpeg input and filter giving `frames` RGB frames. */
export function segments (W, H) {
  const k = W / 640
  const still = (src) => ['-loop', '1', '-framerate', String(FPS), '-i', src.path]
  const pan = (name, src, frames) => ({
    name,
    source: src,
    frames,
    input: still(src),
    // the photo at twice the width, a 1.5x-size window panning left to right over 4 s
    filter: `scale=${2 * W}:-2:flags=lanczos,crop=${1.5 * W}:${1.5 * H}:x='(iw-ow)*min(1,t/4)':y='(ih-oh)/2',scale=${W}:${H}:flags=lanczos`
  })
  if (W >= 1280) return [pan('pan-ladybird', LADYBIRD, 120), pan('pan-wood', WOOD, 120)]
  return [
    {
      name: 'face-hopper',
      source: HOPPER,
      frames: 120,
      input: still(HOPPER),
      filter: `scale=${1.5 * W}:-2:flags=lanczos,crop=${1.25 * W}:${1.25 * H}:x='${80 * k}+${60 * k}*sin(2*PI*t/4)':y='${110 * k}+${40 * k}*sin(2*PI*t/3)',scale=${W}:${H}:flags=lanczos`
    },
    {
      name: 'megamind',
      source: MEGAMIND,
      frames: 270,
      input: ['-i', MEGAMIND.path],
      filter: `setpts=N/${FPS}/TB,scale=${W}:-2:flags=lanczos,crop=${W}:${H}`
    },
    pan('pan-ladybird', LADYBIRD, 120)
  ]
}

/** Runs ffmpeg; resolves when it exits 0 (rejects with its stderr otherwise). */
function ffmpeg (args, { stdin, onStdout } = {}) {
  const child = spawn('ffmpeg', ['-v', 'error', '-nostdin', ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', onStdout === undefined ? 'ignore' : 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d) => { err += d })
  const done = new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')} exited with ${code}: ${err.trim()}`)))
  })
  return { child, done }
}

/** Calls `onFrame(buffer)` for each `frameBytes`-sized frame of a stream (awaited in order). */
async function eachFrame (stream, frameBytes, onFrame) {
  let pending = []
  let have = 0
  for await (const chunk of stream) {
    pending.push(chunk)
    have += chunk.length
    while (have >= frameBytes) {
      const all = Buffer.concat(pending)
      await onFrame(all.subarray(0, frameBytes))
      pending = [all.subarray(frameBytes)]
      have -= frameBytes
    }
  }
  if (have !== 0) throw new Error(`a stream ended ${have} bytes into a frame`)
}

async function sha256 (file) {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk)
  return h.digest('hex')
}

/**
 * Makes (or reuses, from an earlier run) the stamped clip at W x H in a folder under the system's
 * temporary directory, checks that every frame's stamp reads back, and returns the reference.
 * `stamp` is e2e/pages/frame-stamp.ts's module; `only` keeps the segments it names (e2e tests use
 * Megamind's alone: its Debian package is one the test command installs).
 */
export async function prepareClip (W, H, stamp, log = console.log, { only } = {}) {
  const segs = segments(W, H).filter((s) => only === undefined || only.includes(s.name))
  if (segs.length === 0) throw new Error(`prepareClip: no segment named ${only.join(', ')} (segments: ${segments(W, H).map((s) => s.name).join(', ')})`)
  const missing = segs.filter((s) => !existsSync(s.source.path)).map((s) => `${s.source.path} (Debian package ${s.source.package})`)
  if (missing.length > 0) throw new Error(`aic/call's clip needs ${[...new Set(missing)].join(', ')}: apt-get install them`)
  const layout = stamp.stampLayout(W, H)
  const total = segs.reduce((n, s) => n + s.frames, 0)
  if (total - 1 > stamp.MAX_STAMP) throw new Error(`the clip has ${total} frames; stamps number at most ${stamp.MAX_STAMP + 1}`)
  const recipe = JSON.stringify({ v: 1, W, H, FPS, layout, segs: segs.map(({ name, input, filter, frames }) => ({ name, input, filter, frames })) })
  const dir = join(tmpdir(), `auralink-aic-call-${W}x${H}-${createHash('sha256').update(recipe).digest('hex').slice(0, 12)}`)
  const y4m = join(dir, 'clip.y4m')
  const rgbBytes = W * H * 3
  // a y4m frame: "FRAME\n" and the I420 planes
  const expectedSize = (bytes) => bytes > total * (6 + W * H * 1.5) && bytes < total * (6 + W * H * 1.5) + 200
  if (!existsSync(y4m) || !expectedSize(statSync(y4m).size)) {
    const t0 = Date.now()
    mkdirSync(dir, { recursive: true })
    const partial = join(dir, 'clip.partial.y4m')
    const enc = ffmpeg(['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', 'pipe:0', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', partial], { stdin: true })
    let n = 0
    for (const s of segs) {
      const dec = ffmpeg([...s.input, '-vf', s.filter, '-fps_mode', 'passthrough', '-frames:v', String(s.frames), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { onStdout: true })
      let got = 0
      await Promise.all([
        eachFrame(dec.child.stdout, rgbBytes, async (frame) => {
          const copy = Buffer.from(frame)
          stamp.drawStamp(copy, 3, n++, layout)
          got++
          if (!enc.child.stdin.write(copy)) await new Promise((resolve) => enc.child.stdin.once('drain', resolve))
        }),
        dec.done
      ])
      if (got !== s.frames) throw new Error(`segment ${s.name}: ffmpeg gave ${got} frames, expected ${s.frames}`)
    }
    enc.child.stdin.end()
    await enc.done
    renameSync(partial, y4m)
    log(`made the ${W}x${H} clip (${total} frames) in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }
  // the reference: the y4m decoded to RGB (BT.601, as Chromium shows it) and its luma
  const reference = []
  const dec = ffmpeg(['-i', y4m, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { onStdout: true })
  await Promise.all([
    eachFrame(dec.child.stdout, rgbBytes, async (frame) => { reference.push(lumaOf({ width: W, height: H, data: frame, channels: 3 }).data) }),
    dec.done
  ])
  if (reference.length !== total) throw new Error(`the clip decoded to ${reference.length} frames, expected ${total}`)
  const bad = reference.map((luma, i) => [i, stamp.readStamp(luma, W, layout)]).filter(([i, n]) => i !== n)
  if (bad.length > 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`${bad.length} reference frames do not read back their stamp (first: frame ${bad[0][0]} reads ${bad[0][1]})`)
  }
  let first = 0
  return {
    y4m,
    layout,
    reference,
    frames: total,
    sha256: await sha256(y4m),
    segments: segs.map((s) => {
      const seg = { name: s.name, package: s.source.package, file: s.source.path.split('/').pop(), frames: s.frames, firstFrame: first }
      first += s.frames
      return seg
    })
  }
}
