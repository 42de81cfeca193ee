// bench/aic/clips: the held-out clips that bench/aic/enhance.mjs measures tool 1 on, made from files
// that Debian packages install (none of them is training data: packages/aic/training/sources.py and
// docs/aic-data.md list what trains; that page lists these clips with their licences too).
//
// Each clip is a short video made by ffmpeg (and, for the screen clip, one Chromium screenshot) in
// a temporary folder, the same bytes on every run: ffmpeg's zoompan, crop, drawtext and lutrgb
// filters are deterministic, and so is the screenshot (checked: two runs, one sha256).
// Motion: slow pans and zooms over stills (as before), a talking-head framing (a slow zoom that
// breathes and a small sway) on faces, a continuous scroll over a page of text, and a stepwise
// scroll (as a mouse wheel does) over a screen.
//
// Dark clips are stills darkened by one documented curve, DARK_CURVE below (labelled "darkened" in
// their names and in the results); no sensor noise is added.
//
//   node bench/aic/clips.mjs [--out DIR] [--frames 120]   (writes DIR/<clip>.mp4 to look at; the benchmark makes its own raw copies)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** Debian packages the clips come from, and a file each must have installed. */
export const PACKAGES = {
  ffmpeg: '/usr/bin/ffmpeg',
  'opencv-doc': '/usr/share/doc/opencv-doc/examples/data/Megamind.avi',
  'mate-backgrounds': '/usr/share/backgrounds/mate/nature/Garden.jpg',
  'python-matplotlib-data': '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg',
  'wordpress-theme-twentytwentyone': '/usr/share/wordpress/wp-content/themes/twentytwentyone/assets/images/self-portrait-1885.jpg',
  'lomiri-wallpapers-16.04': '/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg',
  'fonts-dejavu-core': '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',
  'base-files': '/usr/share/common-licenses/GPL-2',
  chromium: '/usr/bin/chromium'
}

const MPL = '/usr/share/matplotlib/mpl-data/sample_data'
const TT1 = '/usr/share/wordpress/wp-content/themes/twentytwentyone/assets/images'
const MATE = '/usr/share/backgrounds/mate/nature'
const SCREEN_PAGE = fileURLToPath(new URL('screen-page.html', import.meta.url))

/**
 * The darkening curve of the "darkened" clips, on each of R, G, B (0..255):
 * out = round(255 * 0.4 * (in / 255)^2). White becomes 102, mid grey (128) 26, 64 becomes 6:
 * a dim room, where most of the picture sits in the lowest fifth of the range.
 */
export const DARK_CURVE = { gain: 0.4, gamma: 2 }
const dark = () => {
  const e = `round(255*${DARK_CURVE.gain}*pow(val/255,${DARK_CURVE.gamma}))`
  return `format=rgb24,lutrgb=r='${e}':g='${e}':b='${e}'`
}

/** A 16:9 crop of a still, scaled up `pre` times (Lanczos) so that zoompan's whole-pixel steps are sub-pixel in the output. */
const still = (cw, ch, cx, cy, pre) => `crop=${cw}:${ch}:${cx}:${cy},scale=${cw * pre}:${ch * pre}:flags=lanczos`

/**
 * A talking-head framing: the zoom breathes around `z` by 3% and the frame sways a little, as a
 * person moving in front of a webcam shifts the picture (zoompan keeps x, y inside the picture).
 */
const talkingHead = (z, frames, fps, w, h) =>
  `zoompan=z='${z}+0.03*sin(on/23)':x='(iw-iw/zoom)/2+iw*0.025*sin(on/31)':y='(ih-ih/zoom)/2+ih*0.02*sin(on/19+1)':d=${frames}:s=${w}x${h}:fps=${fps}`

/** A slow pan from left to right across the spare width, with a slow zoom in from `z0` (as bench/aic/enhance.mjs has made its pans). */
const pan = (frames, fps, w, h, z0 = 1.2) =>
  `zoompan=z='min(${z0}+0.0015*on,1.5)':x='(iw-iw/zoom)*on/${frames}':y='(ih-ih/zoom)/2':d=${frames}:s=${w}x${h}:fps=${fps}`

/**
 * Every clip: its id, what it shows (kind: face, people, dark, text, screen, room, nature), the
 * package and licence of its source, the resolutions it is made at, and how (ffmpeg input and
 * filter for an output of w x h). `upscale` is how far the source is enlarged at each resolution
 * (output pixels per source pixel at the clip's mean zoom; 1 or less: never enlarged): a clip
 * whose source would be enlarged by more than about 1.6 is not made at that resolution.
 */
export const CLIPS = [
  {
    id: 'face-hopper',
    kind: 'face',
    shows: 'a face close up (Grace Hopper, photograph: glasses, cap, a flag behind), talking-head framing',
    package: 'python-matplotlib-data',
    file: 'grace_hopper.jpg',
    licence: "matplotlib's licence (Debian copyright, Files: *); the JPEG's comment gives Wikimedia Commons' File:Grace_Hopper.jpg, a US Navy photograph, as its source",
    resolutions: { '360p': { upscale: 1.38 } }, // 512 px wide source: 720p would enlarge it 2.75x
    input: () => ['-i', join(MPL, 'grace_hopper.jpg')],
    filter: (w, h, frames, fps) => `${still(512, 288, 0, 60, 4)},${talkingHead(1.1, frames, fps, w, h)}`
  },
  {
    id: 'face-hopper-darkened',
    kind: 'dark',
    shows: 'face-hopper darkened by DARK_CURVE (a dim room), same framing',
    package: 'python-matplotlib-data',
    file: 'grace_hopper.jpg',
    licence: 'as face-hopper',
    resolutions: { '360p': { upscale: 1.38 } },
    input: () => ['-i', join(MPL, 'grace_hopper.jpg')],
    filter: (w, h, frames, fps) => `${dark()},${still(512, 288, 0, 60, 4)},${talkingHead(1.1, frames, fps, w, h)}`
  },
  {
    id: 'megamind',
    kind: 'face',
    shows: "an animated character's face talking (opencv-doc's Megamind.avi from 1.5 s, after its fade-in); dark background",
    package: 'opencv-doc',
    file: 'Megamind.avi',
    licence: "Apache-2.0 AND BSD-3-Clause (OpenCV samples, per Debian's copyright file); held out from training",
    resolutions: { '360p': { upscale: 0.89 } }, // 720x528: 720p would enlarge it 1.8x
    input: () => ['-ss', '1.5', '-i', PACKAGES['opencv-doc']],
    filter: (w, h) => `scale=${w}:${h}:force_original_aspect_ratio=increase:flags=lanczos,crop=${w}:${h}`
  },
  {
    id: 'face-morisot',
    kind: 'face',
    shows: "a painted head-and-shoulders portrait (Berthe Morisot's self-portrait, 1885), talking-head framing",
    package: 'wordpress-theme-twentytwentyone',
    file: 'self-portrait-1885.jpg',
    licence: "painting in the public domain (the theme's readme: \"Art by Berthe Morisot 1841-1895. Public domain.\"); package GPL-2+",
    resolutions: { '360p': { upscale: 0.78 }, '720p': { upscale: 1.56 } },
    input: () => ['-i', join(TT1, 'self-portrait-1885.jpg')],
    filter: (w, h, frames, fps) => `${still(904, 508, 0, 60, 2)},${talkingHead(1.1, frames, fps, w, h)}`
  },
  {
    id: 'people-reading',
    kind: 'people',
    shows: "a painted scene of a girl reading on a veranda (Berthe Morisot, Reading), slow pan",
    package: 'wordpress-theme-twentytwentyone',
    file: 'Reading.jpg',
    licence: 'as face-morisot',
    resolutions: { '360p': { upscale: 0.75 }, '720p': { upscale: 1.5 } },
    input: () => ['-i', join(TT1, 'Reading.jpg')],
    filter: (w, h, frames, fps) => `${still(1104, 620, 0, 130, 2)},${pan(frames, fps, w, h, 1.2)}`
  },
  {
    id: 'text-doc',
    kind: 'text',
    shows: 'a page of text scrolling up 2 px a frame at 720p (the GPL-2 text from base-files, DejaVu Serif 20 px, dark grey on white), as a shared document',
    package: 'base-files, fonts-dejavu-core',
    file: 'GPL-2',
    licence: 'GPL-2 text: verbatim copying permitted; DejaVu fonts: Bitstream Vera licence (free)',
    resolutions: { '360p': { upscale: 0.5 }, '720p': { upscale: 1 } },
    input: (frames, fps) => ['-f', 'lavfi', '-i', `color=c=0xd9d9d9:s=1280x720:r=${fps}:d=${frames / fps}`],
    // drawn at 1280x720; the 360p clip is that, scaled down (Lanczos), as a 720p screen shared at 360p
    filter: (w, h) => `drawbox=x=220:y=0:w=840:h=720:color=white:t=fill,drawtext=fontfile=${PACKAGES['fonts-dejavu-core']}:textfile=${PACKAGES['base-files']}:fontsize=20:fontcolor=0x202020:line_spacing=7:x=260:y=36-2*n${w === 1280 ? '' : `,scale=${w}:${h}:flags=lanczos`}`
  },
  {
    id: 'screen-code',
    kind: 'screen',
    shows: "a code-review screen (bench/aic/screen-page.html in Chromium: file tree, syntax-coloured code, a chart, a table, comments), scrolled by 60 px steps at 720p every half second, as a shared screen",
    package: 'chromium, fonts-dejavu-core',
    file: 'bench/aic/screen-page.html',
    licence: "the page is the project's own (written for this benchmark); DejaVu fonts: Bitstream Vera licence (free)",
    resolutions: { '360p': { upscale: 0.5 }, '720p': { upscale: 1 } },
    needs: 'screenshot',
    input: (frames, fps, tmp) => ['-loop', '1', '-framerate', String(fps), '-i', join(tmp, 'screen-code.png')],
    // a wheel step every 15 frames: 60 px in 5 frames, then 10 still frames
    filter: (w, h) => `crop=1280:720:0:'60*floor(n/15)+12*min(mod(n,15),5)'${w === 1280 ? '' : `,scale=${w}:${h}:flags=lanczos`}`
  },
  {
    id: 'room-wine',
    kind: 'room',
    shows: "a room with a loudspeaker, a table, a bottle and a glass of wine (photograph, Wine by Jakub Mede), slow pan: a caller's background",
    package: 'lomiri-wallpapers-16.04',
    file: 'Wine_by_Jakkub_Mede.jpg',
    licence: "CC-BY-4.0, Jakub Mede 2018 (Debian copyright file)",
    resolutions: { '360p': { upscale: 0.35 }, '720p': { upscale: 0.69 } },
    input: () => ['-i', '/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg'],
    filter: (w, h, frames, fps) => `crop=2560:1440:0:320,${pan(frames, fps, w, h, 1.3)}`
  },
  {
    id: 'room-wine-darkened',
    kind: 'dark',
    shows: 'room-wine darkened by DARK_CURVE (the room at dusk, lights off), same pan',
    package: 'lomiri-wallpapers-16.04',
    file: 'Wine_by_Jakkub_Mede.jpg',
    licence: 'as room-wine',
    resolutions: { '360p': { upscale: 0.35 }, '720p': { upscale: 0.69 } },
    input: () => ['-i', '/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg'],
    filter: (w, h, frames, fps) => `crop=2560:1440:0:320,${dark()},${pan(frames, fps, w, h, 1.3)}`
  },
  {
    id: 'pan-garden',
    kind: 'nature',
    shows: "an orange flower close up, sharp petals and stamens on a soft green background (mate-backgrounds' Garden.jpg), slow pan and zoom (as before)",
    package: 'mate-backgrounds',
    file: 'Garden.jpg',
    licence: 'GPL-2+ (evaluation only, never trained on)',
    resolutions: { '360p': { upscale: 0.32 }, '720p': { upscale: 0.65 } },
    input: () => ['-i', join(MATE, 'Garden.jpg')],
    filter: (w, h, frames, fps) => pan(frames, fps, w, h)
  },
  {
    id: 'pan-storm',
    kind: 'nature',
    shows: "dark storm clouds over a blurred road (mate-backgrounds' Storm.jpg, large smooth areas), slow pan and zoom (as before)",
    package: 'mate-backgrounds',
    file: 'Storm.jpg',
    licence: 'GPL-2+ (evaluation only, never trained on)',
    resolutions: { '360p': { upscale: 0.43 }, '720p': { upscale: 0.86 } },
    input: () => ['-i', join(MATE, 'Storm.jpg')],
    filter: (w, h, frames, fps) => pan(frames, fps, w, h)
  }
]

export const SIZES = { '360p': [640, 360], '720p': [1280, 720] }

/** The packages whose files are missing; [] when everything the clips need is installed. */
export function missingPackages () {
  return Object.entries(PACKAGES).filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg)
}

function run (cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 })
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${res.error?.message ?? res.stderr}`)
  return res
}

/** Chromium's screenshot of the screen page, 1280x1440, into `tmp`. */
function screenshot (tmp) {
  const profile = mkdtempSync(join(tmp, 'chromium-'))
  try {
    run(PACKAGES.chromium, ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--mute-audio',
      `--user-data-dir=${profile}`, '--force-device-scale-factor=1', '--window-size=1280,1440',
      `--screenshot=${join(tmp, 'screen-code.png')}`, pathToFileURL(SCREEN_PAGE).href])
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
  if (!existsSync(join(tmp, 'screen-code.png'))) throw new Error('chromium wrote no screenshot of bench/aic/screen-page.html')
}

/**
 * Makes one clip at one resolution: `frames` frames at `fps`, written by ffmpeg with `output`
 * (the arguments after the input and filter, e.g. raw RGBA to a file). Returns the clip's record
 * for the results (no paths of this machine in it).
 */
export function makeClip (clip, res, { tmp, frames, fps, output }) {
  const [w, h] = SIZES[res]
  if (clip.needs === 'screenshot' && !existsSync(join(tmp, 'screen-code.png'))) screenshot(tmp)
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...clip.input(frames, fps, tmp), '-vf', clip.filter(w, h, frames, fps), '-frames:v', String(frames), ...output])
  return {
    name: `${clip.id}-${res}`,
    clip: clip.id,
    kind: clip.kind,
    shows: clip.shows,
    source: `${clip.package}: ${clip.file}`,
    licence: clip.licence,
    upscale: clip.resolutions[res].upscale,
    width: w,
    height: h
  }
}

// as a script: writes each clip as a lossless-enough MP4 to look at
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const missing = missingPackages()
  if (missing.length > 0) {
    console.error(`aic/clips: missing Debian packages: apt-get install ${missing.join(' ')}`)
    process.exit(2)
  }
  const outArg = process.argv.indexOf('--out')
  const out = outArg === -1 ? mkdtempSync(join(tmpdir(), 'auralink-aic-clips-')) : process.argv[outArg + 1]
  const framesArg = process.argv.indexOf('--frames')
  const frames = framesArg === -1 ? 120 : Number(process.argv[framesArg + 1])
  for (const clip of CLIPS) {
    for (const res of Object.keys(clip.resolutions)) {
      const file = join(out, `${clip.id}-${res}.mp4`)
      makeClip(clip, res, { tmp: out, frames, fps: 30, output: ['-pix_fmt', 'yuv444p', '-c:v', 'libx264', '-crf', '10', '-preset', 'veryfast', file] })
      console.log(file)
    }
  }
}
