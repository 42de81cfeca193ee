/* global window, document, navigator -- the functions passed to page.evaluate() run in the page */
// bench/aic/speed-browser: tool 1 (the enhancer) and tool 2 (the image codec) in Debian's
// Chromium, on onnxruntime-web.
//
// A page that imports @auralink/aic's build (dist/) as an app would, bundled by Vite (the worker,
// onnxruntime-web's .wasm and the models are copied by the bundler: the package's defaults), served
// on 127.0.0.1 cross-origin isolated (COOP + COEP, so that WASM threads exist). For each case a
// fresh browser context (nothing cached: the server sends no-store) makes
// createEnhancer({ runtime: 'wasm', scale, variant, threads }) (the session in its dedicated
// worker, the default), then restores a held-out VP8 frame: 320x180 to 640x360 at scale 2,
// 426x240 to 639x360 at scale 1.5. The cases: each scale (--scales, default 2,1.5) x each
// variant (--variants, default standard,fast: the shipped models, createEnhancer's `variant`)
// x 1 and 2 threads, and the standard 2x model on the page's main thread (worker: false, 1
// thread) for comparison. `--model LABEL=FILE@SCALE` (repeatable) adds a model file of your own
// (given as modelBytes, with 1 and 2 threads), to try a candidate before it ships.
// WARMUP frames, then FRAMES timed frames per case.
// Reported: model load ms (createEnhancer until ready: fetch, SHA-256, the WASM module compiled
// and started in the worker, the session made), ms per output frame (p50/p95, as an app
// sees it: copy, post to the worker, inference, post back), and agreement with onnxruntime-node's
// output of the same model for the same frame. WebGPU runs on whatever adapter Chromium has (here
// only SwiftShader, a software one, far slower): the standard 2x model on a 40x24 frame, for
// information and agreement only. The cases are measured in rounds (one frame of each in turn,
// with onnxruntime-node's standard 2x model in this process as a yardstick), so that other work
// on the machine weighs on each alike.
// Tool 2: createImageCodec({ runtime: 'wasm', threads: 1 }) at the middle level, in the page's
// own thread (tool 2 has no worker), on a 768x480 evaluation picture (the first of
// mate-backgrounds' nature photos at 768 wide, cut to 480 rows: the picture bench/aic/image-codec.mjs
// times in Node): CODEC_WARMUP encodes and decodes, then CODEC_RUNS rounds of one encode (of the
// picture) and one decode (of onnxruntime-node's bytes of it) in the page, and the same in
// onnxruntime-node (1 thread, this process) as the yardstick. Reported: ms per encode and decode
// (p50/p95), whether the page's bytes are Node's bit for bit, and the page's decode of Node's
// bytes against Node's decode. WebGPU (SwiftShader here): a 64x64 picture, for information.
// Writes bench/results/aic-speed-browser.json; `--tool 1` or `--tool 2` reruns one tool and keeps
// the other's entries from the file as they are.
//
//   npm run build && node bench/aic/speed-browser.mjs [--quick] [--tool 1|2] [--scales 2,1.5] [--variants standard,fast] [--model LABEL=FILE@SCALE]
//   (needs chromium, ffmpeg, opencv-doc; tool 2 also mate-backgrounds)
import { createServer } from 'node:http'
import { createReadStream, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { extname, join, normalize, sep } from 'node:path'
import { chromium } from 'playwright-core'
import sharp from 'sharp'
import { build } from 'vite'
import { createEnhancer, createImageCodec } from '@auralink/aic'
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../e2e/harness/browser.ts'
import { heldOutFrames } from '../../test-utils/aic-video.ts'
import { root, round, summary, writeResult } from '../lib.mjs'

const quick = process.argv.includes('--quick')
const toolArg = process.argv.includes('--tool') ? process.argv[process.argv.indexOf('--tool') + 1] : undefined
if (toolArg !== undefined && toolArg !== '1' && toolArg !== '2') throw new RangeError(`--tool must be 1 or 2, got ${toolArg}`)
const tool1 = toolArg !== '2'
const tool2 = toolArg !== '1'
const CODEC_WARMUP = 2
const CODEC_RUNS = quick ? 5 : 15
const CODEC_GPU_RUNS = 2
const PHOTOS = '/usr/share/backgrounds/mate/nature'
const WARMUP = 5
const FRAMES = quick ? 20 : 60
const GPU_FRAMES = quick ? 2 : 3
/** The values of `--name a,b` (or undefined). */
const listArg = (name) => process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? '').split(',').filter((x) => x !== '') : undefined
const SCALES = (listArg('--scales') ?? ['2', '1.5']).map(Number)
if (SCALES.length === 0 || SCALES.some((s) => s !== 2 && s !== 1.5)) throw new RangeError(`--scales takes 2, 1.5 or 2,1.5, got ${listArg('--scales')}`)
const VARIANTS = listArg('--variants') ?? ['standard', 'fast']
if (VARIANTS.some((v) => v !== 'standard' && v !== 'fast')) throw new RangeError(`--variants takes standard, fast or standard,fast, got ${VARIANTS}`)
// --model LABEL=FILE@SCALE: a candidate model file, measured like the shipped ones (modelBytes)
const MODELS = process.argv.flatMap((a, i) => (a === '--model' ? [process.argv[i + 1] ?? ''] : [])).map((arg) => {
  const m = /^([^=]+)=(.+)@(2|1\.5)$/.exec(arg)
  if (m === null) throw new RangeError(`--model takes LABEL=FILE@SCALE (scale 2 or 1.5), got ${JSON.stringify(arg)}`)
  return { label: m[1], file: m[2], scale: Number(m[3]) }
})
const THREADS = [1, 2]
const CASES = [
  ...SCALES.flatMap((scale) => VARIANTS.flatMap((variant) => THREADS.map((threads) => ({ label: `${scale}x ${variant}, WASM, ${threads} thread${threads > 1 ? 's' : ''}`, scale, variant, threads })))),
  ...MODELS.flatMap((m) => THREADS.map((threads) => ({ label: `${m.scale}x ${m.label} (${m.file}), WASM, ${threads} thread${threads > 1 ? 's' : ''}`, scale: m.scale, model: m, threads }))),
  // for comparison: the session on the page's main thread (what the worker saves the page, and costs per frame)
  ...(SCALES.includes(2) && VARIANTS.includes('standard') ? [{ label: '2x standard, WASM, 1 thread, on the main thread (worker: false)', scale: 2, variant: 'standard', threads: 1, worker: false }] : [])
]

// the frames: the 11th of opencv-doc's Megamind.avi (held out from training) through VP8 at
// 200 kbps at 320x180 (scale 2) or 426x240 (scale 1.5), as the enhancer tests make them; and a
// 40x24 crop of the 320x180 one for WebGPU
const frames = tool1 ? Object.fromEntries([...new Set(CASES.map((c) => c.scale))].map((s) => [s, heldOutFrames(11, 200, s).low[10]])) : {}
const crop = (f, x0, y0, w, h) => {
  const data = new Uint8Array(w * h * 4)
  for (let y = 0; y < h; y++) data.set(f.data.subarray(((y0 + y) * f.width + x0) * 4, ((y0 + y) * f.width + x0 + w) * 4), y * w * 4)
  return { width: w, height: h, data }
}
const small = frames[2] !== undefined ? crop(frames[2], 140, 60, 40, 24) : undefined

// the references: onnxruntime-node running the same model on the same frame
const nodeInit = (c) => ({ runtime: 'node', threads: 1, scale: c.scale, ...(c.model !== undefined ? { modelPath: c.model.file } : { variant: c.variant }) })
const caseKey = (c) => `${c.scale}:${c.model?.file ?? c.variant}`
const nodeOut = {}
let nodeSmallOut
if (tool1) {
  for (const c of CASES) {
    if (nodeOut[caseKey(c)] !== undefined) continue
    const node = await createEnhancer(nodeInit(c))
    nodeOut[caseKey(c)] = await node.enhance(frames[c.scale])
    if (small !== undefined && c.scale === 2 && c.variant === 'standard') nodeSmallOut = await node.enhance(small)
    await node.close()
  }
}
const modelB64 = Object.fromEntries(await Promise.all(MODELS.map(async (m) => [m.file, (await readFile(m.file)).toString('base64')])))

// tool 2's pictures: 768x480 (WASM) and a 64x64 cut of it (WebGPU)
let picture
let smallPicture
if (tool2) {
  const first = readdirSync(PHOTOS).filter((f) => f.endsWith('.jpg')).sort()[0]
  const { data, info } = await sharp(join(PHOTOS, first)).resize({ width: 768, kernel: 'lanczos3' }).removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  if (info.height < 480) throw new Error(`${first} is ${info.width}x${info.height} at 768 wide, under 480 rows`)
  picture = { width: 768, height: 480, data: new Uint8Array(data.buffer, data.byteOffset, 768 * 480 * 4), file: first }
  smallPicture = crop(picture, 352, 208, 64, 64)
}

function difference (a, b) {
  let maxDiff = 0
  let differing = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i])
    if (d > 0) differing++
    if (d > maxDiff) maxDiff = d
  }
  return { maxDiff, differing, values: a.length, sharePercent: round((differing / a.length) * 100, 5) }
}

// the page: an app's own code, bundled by Vite from the package's dist/
const pageDir = await mkdtemp(join(tmpdir(), 'auralink-bench-aic-page-'))
const outDir = join(pageDir, 'dist')
await writeFile(join(pageDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>aic bench</title><script type="module" src="./main.js"></script>\n')
await writeFile(join(pageDir, 'main.js'), `
import { createEnhancer, createImageCodec } from '@auralink/aic'
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
const toB64 = (u8) => {
  let s = ''
  for (let i = 0; i < u8.length; i += 8192) s += String.fromCharCode(...u8.subarray(i, i + 8192))
  return btoa(s)
}
let codec
let picture
let nodeBits
let bits
let decoded
window.aicCodec = {
  async open (init) {
    codec = await createImageCodec(init)
    return { info: codec.info, crossOriginIsolated: self.crossOriginIsolated }
  },
  set ({ width, height, rgba, bytes }) {
    picture = { width, height, data: b64(rgba) }
    nodeBits = b64(bytes)
  },
  /** One encode of the picture, one decode of Node's bytes; the ms each took, as the page sees it. */
  async step () {
    let t = performance.now()
    bits = await codec.encode(picture)
    const encodeMs = performance.now() - t
    t = performance.now()
    decoded = await codec.decode(nodeBits)
    return { encodeMs, decodeMs: performance.now() - t }
  },
  output () { return { bytes: toB64(bits), width: decoded.width, height: decoded.height, rgba: toB64(decoded.data) } },
  async close () { await codec?.close() }
}
let enhancer
let frame
let out
window.aicBench = {
  async open (init) {
    // a model of one's own travels as base64 and becomes modelBytes
    const { modelB64, ...rest } = init
    enhancer = await createEnhancer(modelB64 === undefined ? rest : { ...rest, modelBytes: b64(modelB64) })
    return { info: enhancer.info, crossOriginIsolated: self.crossOriginIsolated }
  },
  setFrame ({ width, height, rgba }) { frame = { width, height, data: b64(rgba) } },
  /** One frame restored; the ms it took, as the page sees it. */
  async step () {
    const t = performance.now()
    out = await enhancer.enhance(frame)
    return performance.now() - t
  },
  output () {
    let s = ''
    for (let i = 0; i < out.data.length; i += 8192) s += String.fromCharCode(...out.data.subarray(i, i + 8192))
    return { width: out.width, height: out.height, rgba: btoa(s) }
  },
  async close () { await enhancer?.close() }
}
document.title = 'ready'
`)
const started = performance.now()
await build({
  configFile: false,
  root: pageDir,
  logLevel: 'warn',
  resolve: { alias: { '@auralink/aic': join(root, 'packages/aic/dist/index.js') } },
  // the enhancer's worker imports onnxruntime-web dynamically: module workers (Vite's default, iife, cannot split)
  worker: { format: 'es' },
  build: { outDir, emptyOutDir: true, minify: true, sourcemap: false, reportCompressedSize: false, chunkSizeWarningLimit: 100_000, rolldownOptions: { checks: { bundlerTimings: false } } }
})
console.error(`page built in ${Math.round(performance.now() - started)} ms`)

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' }
const server = createServer((req, res) => {
  void (async () => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
    const file = normalize(join(outDir, path === '/' ? 'index.html' : path))
    const info = file.startsWith(outDir + sep) ? await stat(file).catch(() => undefined) : undefined
    if (info?.isFile() !== true) { res.writeHead(404).end(); return }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
      // cross-origin isolated: SharedArrayBuffer, so WASM threads
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp'
    })
    createReadStream(file).pipe(res)
  })().catch((err) => { res.writeHead(500).end(String(err)) })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`

const userDataDir = await mkdtemp(join(tmpdir(), 'auralink-chromium-'))
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  headless: true,
  ignoreDefaultArgs: true,
  // the e2e harness's switches, and WebGPU (Chromium offers its SwiftShader adapter then)
  args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, '--enable-unsafe-webgpu'],
  timeout: 30_000
})

/** A fresh context and page with an enhancer made by createEnhancer(init), warmed up on `input`. */
async function open (init, input, warmup) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (err) => { console.error(`page error: ${err.message}`) })
  await page.goto(origin, { timeout: 30_000 })
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 })
  const opened = await page.evaluate(async (i) => window.aicBench.open(i), init)
  await page.evaluate((f) => { window.aicBench.setFrame(f) }, { width: input.width, height: input.height, rgba: Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength).toString('base64') })
  for (let i = 0; i < warmup; i++) await page.evaluate(async () => window.aicBench.step())
  return {
    ms: [],
    step: async () => page.evaluate(async () => window.aicBench.step()),
    /** What the runs measured, and the last output against the reference; closes the context. */
    async finish (reference) {
      const result = await page.evaluate(() => window.aicBench.output())
      await page.evaluate(async () => window.aicBench.close())
      await context.close()
      return {
        crossOriginIsolated: opened.crossOriginIsolated,
        info: opened.info,
        loadMs: round(opened.info.loadMs, 1),
        outputSize: `${result.width}x${result.height}`,
        msPerFrame: summary(this.ms),
        agreementWithNode: difference(Buffer.from(result.rgba, 'base64'), reference.data)
      }
    }
  }
}

const chromiumVersion = browser.version()
const loadBefore = loadavg().map((x) => round(x))
const results = { wasm: [], node: null, webgpu: null }
const measuredAt = new Date().toISOString()

/** The WebGPU adapter a page of this Chromium gets, or null. */
async function gpuAdapter () {
  const ctx = await browser.newContext()
  const p = await ctx.newPage()
  await p.goto(origin)
  const a = await p.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter()
    return adapter ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, isFallbackAdapter: adapter.info.isFallbackAdapter } : null
  })
  await ctx.close()
  return a
}

/** A fresh context and page with createImageCodec(init), given `input` and Node's bytes of it. */
async function openCodec (init, input, nodeBytes) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (err) => { console.error(`page error: ${err.message}`) })
  await page.goto(origin, { timeout: 30_000 })
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 })
  const opened = await page.evaluate(async (i) => window.aicCodec.open(i), init)
  await page.evaluate((f) => { window.aicCodec.set(f) }, { width: input.width, height: input.height, rgba: Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength).toString('base64'), bytes: Buffer.from(nodeBytes).toString('base64') })
  return {
    opened,
    encodeMs: [],
    decodeMs: [],
    async step () {
      const r = await page.evaluate(async () => window.aicCodec.step())
      this.encodeMs.push(r.encodeMs)
      this.decodeMs.push(r.decodeMs)
    },
    /** What the runs measured, and the page's last bytes and decode against Node's; closes the context. */
    async finish (nodeBytesRef, nodeDecoded) {
      const out = await page.evaluate(() => window.aicCodec.output())
      await page.evaluate(async () => window.aicCodec.close())
      await context.close()
      const bytes = Buffer.from(out.bytes, 'base64')
      return {
        crossOriginIsolated: opened.crossOriginIsolated,
        info: opened.info,
        loadMs: round(opened.info.loadMs, 1),
        encodeMs: summary(this.encodeMs),
        decodeMs: summary(this.decodeMs),
        bytes: bytes.length,
        nodeBytes: nodeBytesRef.length,
        bitIdenticalToNode: bytes.equals(Buffer.from(nodeBytesRef)),
        decodeOfNodeBytesVsNodeDecode: difference(Buffer.from(out.rgba, 'base64'), nodeDecoded.data)
      }
    }
  }
}

/** Tool 2: WASM (1 thread) on the 768x480 picture in rounds with onnxruntime-node; WebGPU on 64x64. */
async function benchImageCodec (gpu) {
  const probe = await createImageCodec({ runtime: 'node' })
  const quality = Math.floor(probe.info.levels / 2)
  const levels = probe.info.levels
  const version = probe.info.model.version
  await probe.close()
  const ref = await createImageCodec({ runtime: 'node', quality, threads: 1 })
  const nodeBytes = await ref.encode(picture)
  const nodeDecoded = await ref.decode(nodeBytes)
  const out = { measuredAt, model: { version, levels }, quality, picture: `${picture.file} of mate-backgrounds (nature), 768 wide (Lanczos), first 480 rows`, warmup: CODEC_WARMUP, runs: CODEC_RUNS }
  console.error(`tool 2, WASM 1 thread: load, ${CODEC_WARMUP} warm-up rounds, ${CODEC_RUNS} rounds of one encode and one decode of 768x480`)
  const run = await openCodec({ runtime: 'wasm', threads: 1, quality }, picture, nodeBytes)
  for (let i = 0; i < CODEC_WARMUP; i++) await run.step()
  run.encodeMs.length = 0
  run.decodeMs.length = 0
  const refEnc = []
  const refDec = []
  for (let i = 0; i < CODEC_RUNS; i++) {
    await run.step()
    let t = performance.now()
    await ref.encode(picture)
    refEnc.push(performance.now() - t)
    t = performance.now()
    await ref.decode(nodeBytes)
    refDec.push(performance.now() - t)
  }
  out.wasm = { case: 'WASM, 1 thread, in the page\'s thread', ...(await run.finish(nodeBytes, nodeDecoded)) }
  if (out.wasm.info.threads !== 1) throw new Error(`tool 2 ran ${out.wasm.info.threads} WASM thread(s), asked for 1`)
  out.node = { case: 'onnxruntime-node, 1 thread, in the same rounds (this process)', encodeMs: summary(refEnc), decodeMs: summary(refDec) }
  await ref.close()
  if (gpu === null) {
    console.error('tool 2, WebGPU: no adapter in this Chromium, not measured')
  } else {
    console.error(`tool 2, WebGPU (${gpu.architecture}): 1 + ${CODEC_GPU_RUNS} rounds of ${smallPicture.width}x${smallPicture.height}`)
    const sref = await createImageCodec({ runtime: 'node', quality, threads: 1 })
    const sBytes = await sref.encode(smallPicture)
    const sDecoded = await sref.decode(sBytes)
    await sref.close()
    const g = await openCodec({ runtime: 'webgpu', quality }, smallPicture, sBytes)
    await g.step()
    g.encodeMs.length = 0
    g.decodeMs.length = 0
    for (let i = 0; i < CODEC_GPU_RUNS; i++) await g.step()
    out.webgpu = { adapter: gpu, size: `${smallPicture.width}x${smallPicture.height}`, ...(await g.finish(sBytes, sDecoded)) }
  }
  return out
}

let imageCodec
try {
  const gpu = await gpuAdapter()
  if (tool1) {
    // every case loaded and warmed up first, then one frame of each in turn: other work on the
    // machine then weighs on every case alike; onnxruntime-node (this process, 1 thread, the
    // standard 2x model) in the same rounds, as the yardstick
    const runs = []
    for (const c of CASES) {
      console.error(`${c.label}: load, ${WARMUP} warm-up frames`)
      const init = { runtime: 'wasm', scale: c.scale, threads: c.threads, ...(c.model !== undefined ? { modelB64: modelB64[c.model.file] } : { variant: c.variant }), ...(c.worker === false ? { worker: false } : {}) }
      const run = await open(init, frames[c.scale], WARMUP)
      runs.push({ c, run })
    }
    const ref = await createEnhancer({ runtime: 'node', threads: 1 })
    const yardstick = frames[2] ?? heldOutFrames(11, 200).low[10]
    const refMs = []
    for (let i = 0; i < WARMUP; i++) await ref.enhance(yardstick)
    console.error(`${FRAMES} rounds of one frame per case`)
    const loadDuring = []
    for (let i = 0; i < FRAMES; i++) {
      for (const { run } of runs) run.ms.push(await run.step())
      const t = performance.now()
      await ref.enhance(yardstick)
      refMs.push(performance.now() - t)
      if (i % 10 === 9) loadDuring.push(loadavg()[0])
    }
    results.loadAverageDuring = { min: round(Math.min(...loadDuring)), max: round(Math.max(...loadDuring)) }
    await ref.close()
    for (const { c, run } of runs) {
      const r = await run.finish(nodeOut[caseKey(c)])
      if (r.info.threads !== c.threads) throw new Error(`${c.label}: the enhancer ran ${r.info.threads} thread(s) (cross-origin isolated: ${r.crossOriginIsolated})`)
      const f = frames[c.scale]
      results.wasm.push({
        case: c.label,
        scale: c.scale,
        variant: c.model !== undefined ? `file ${c.model.label}` : c.variant,
        threads: c.threads,
        worker: c.worker !== false,
        input: `${f.width}x${f.height}`,
        ...r,
        // 15 fps leaves 66.7 ms a frame
        fps15AtP50: r.msPerFrame.p50 <= 1000 / 15
      })
    }
    results.node = { case: 'onnxruntime-node, 1 thread, 2x standard, in the same rounds (this process)', msPerFrame: summary(refMs) }
    if (gpu === null || small === undefined) {
      console.error('WebGPU: no adapter in this Chromium (or no 2x case), not measured')
    } else {
      console.error(`WebGPU (${gpu.architecture}): 1 + ${GPU_FRAMES} frames of ${small.width}x${small.height}`)
      const run = await open({ runtime: 'webgpu' }, small, 1)
      for (let i = 0; i < GPU_FRAMES; i++) run.ms.push(await run.step())
      results.webgpu = { adapter: gpu, ...(await run.finish(nodeSmallOut)) }
    }
  }
  if (tool2) imageCodec = { ...(await benchImageCodec(gpu)), loadAverage: { before: loadBefore[0], after: round(loadavg()[0]) } }
} finally {
  await browser.close()
  server.close()
  await rm(userDataDir, { recursive: true, force: true })
  await rm(pageDir, { recursive: true, force: true })
}

// one tool rerun (--tool): the other's entries stay as the file has them
const resultFile = join(root, 'bench/results/aic-speed-browser.json')
const previous = tool1 && tool2 ? {} : JSON.parse(await readFile(resultFile, 'utf8').catch(() => '{}'))
const tool1Doc = tool1
  ? {
      tool1MeasuredAt: measuredAt,
      input: 'frame 10 of opencv-doc Megamind.avi (held out), VP8 at 200 kbps (libvpx realtime) at 320x180 restored to 640x360 (scale 2) or at 426x240 restored to 639x360 (scale 1.5)',
      // other work on the machine slows every figure: the 1-minute load average before and after
      loadAverage: { before: loadBefore[0], after: round(loadavg()[0]) },
      warmupFrames: WARMUP,
      frames: FRAMES,
      note: 'ms per frame: createEnhancer() default (session in a dedicated worker), measured in the page around enhance(): copy, postMessage, inference, postMessage back. Load: createEnhancer() until ready, in a fresh context (no cache).',
      ...results
    }
  : Object.fromEntries(Object.entries({ tool1MeasuredAt: previous.tool1MeasuredAt ?? previous.date, ...previous }).filter(([k]) => !['benchmark', 'date', 'machine', 'chromium', 'imageCodec'].includes(k)))
const doc = writeResult('aic-speed-browser', {
  chromium: chromiumVersion,
  ...tool1Doc,
  imageCodec: tool2 ? imageCodec : previous.imageCodec
})

if (tool1) {
  console.log(`\n| tool 1 in Chromium (load average ${doc.loadAverage.before} before, ${doc.loadAverage.after} after) | in -> out | p50 ms | p95 ms | load ms | agreement with Node: max diff, share of values differing |`)
  console.log('|---|---|---|---|---|---|')
  for (const r of doc.wasm) console.log(`| ${r.case} | ${r.input} -> ${r.outputSize} | ${r.msPerFrame.p50} | ${r.msPerFrame.p95} | ${r.loadMs} | ${r.agreementWithNode.maxDiff}, ${r.agreementWithNode.sharePercent}% |`)
  console.log(`| ${doc.node.case} | 320x180 -> 640x360 | ${doc.node.msPerFrame.p50} | ${doc.node.msPerFrame.p95} | | |`)
  if (doc.webgpu) {
    const g = doc.webgpu
    console.log(`| 2x standard, WebGPU (${g.adapter.architecture}${g.adapter.isFallbackAdapter ? ', software' : ''}) | ${small.width}x${small.height} -> ${g.outputSize} | ${g.msPerFrame.p50} | ${g.msPerFrame.p95} | ${g.loadMs} | ${g.agreementWithNode.maxDiff}, ${g.agreementWithNode.sharePercent}% |`)
  }
}
if (tool2) {
  const c = doc.imageCodec
  console.log(`\n| tool 2 in Chromium (level ${c.quality}) | encode p50 / p95 ms | decode p50 / p95 ms | load ms | bytes bit-identical to Node's | decode of Node's bytes vs Node: max diff, share differing |`)
  console.log('|---|---|---|---|---|---|')
  const row = (label, r) => console.log(`| ${label} | ${r.encodeMs.p50} / ${r.encodeMs.p95} | ${r.decodeMs.p50} / ${r.decodeMs.p95} | ${r.loadMs ?? ''} | ${r.bitIdenticalToNode ?? ''} | ${r.decodeOfNodeBytesVsNodeDecode ? `${r.decodeOfNodeBytesVsNodeDecode.maxDiff}, ${r.decodeOfNodeBytesVsNodeDecode.sharePercent}%` : ''} |`)
  row(`${c.wasm.case}, 768x480`, c.wasm)
  row(`${c.node.case}, 768x480`, c.node)
  if (c.webgpu) row(`WebGPU (${c.webgpu.adapter.architecture}${c.webgpu.adapter.isFallbackAdapter ? ', software' : ''}), ${c.webgpu.size}`, c.webgpu)
}
