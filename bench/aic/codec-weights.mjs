// bench/aic/codec-weights: what tool 2 loses with smaller weights. Issue 16 asks for a decoder of
// at most 4 MB over the wire, in fp16 or int8 weights, with what each costs measured.
//
// packages/aic/training/compress_weights.py makes the shipped model's three ONNX files in fp16
// (float16 initializers, Cast back to float32 when the session loads) and in int8 (Conv weights
// int8 per output channel, DequantizeLinear), into a temporary folder with a manifest of their
// own. On the evaluation photos (eval-photos.mjs), at every level:
//   decoder only   the float32 encoder's bitstreams decoded by each variant's synthesis: the
//                  change in luma PSNR and the largest pixel difference against the float32 decode
//                  (what a receiver with the smaller download sees);
//   whole codec    every transform in the variant: bpp and luma PSNR, and the BD-rate of the curve
//                  against float32's (bitstreams change with the analysis weights).
// Then each file's bytes, raw and gzip -9 / brotli (what a server sends), and decode ms of one
// photo (5 rounds, after one warm-up) per variant on onnxruntime-node, 1 thread.
// Writes bench/results/aic-codec-weights.json.
//
//   node bench/aic/codec-weights.mjs [--photos N]     (after npm run build -w packages/aic; needs mate-backgrounds, /usr/bin/python3 with python3-onnx)
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { bdRate, createImageCodec, MODELS_DIR, readManifest } from '@auralink/aic'
import { progress, root, round, summary, writeResult } from '../lib.mjs'
import { evalPhotos, loadPhoto, measure } from './eval-photos.mjs'

const photosArg = process.argv.indexOf('--photos')
const files = evalPhotos(photosArg > 0 ? Number(process.argv[photosArg + 1]) : 6, 'codec-weights')
const ROLES = ['analysis', 'hyper-analysis', 'synthesis']
const manifest = await readManifest()
const entries = Object.fromEntries(ROLES.map((r) => [r, manifest.models.find((m) => m.tool === 'codec' && m.role === r)]))
const tables = manifest.models.find((m) => m.tool === 'codec' && m.role === 'tables')
const work = mkdtempSync(join(tmpdir(), 'aic-codec-weights-'))

/** A model folder: the shipped codec with `replaced` roles taken from `from` (files of compress_weights.py), its manifest rewritten to match. */
function modelDir (name, from, replaced) {
  const dir = join(work, name)
  spawnSync('mkdir', ['-p', dir])
  const models = manifest.models.map((m) => {
    if (m.tool !== 'codec') return m
    const src = replaced.includes(m.role) ? join(from, m.file) : join(MODELS_DIR, m.file)
    copyFileSync(src, join(dir, m.file))
    const bytes = readFileSync(src)
    return { ...m, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
  })
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, models: models.filter((m) => m.tool === 'codec') }, null, 1))
  return dir
}

const variants = {}
for (const weights of ['fp16', 'int8']) {
  const out = join(work, `${weights}-files`)
  const made = []
  for (const role of ROLES) {
    const res = spawnSync('/usr/bin/python3', [join(root, 'packages/aic/training/compress_weights.py'), '--in', join(MODELS_DIR, entries[role].file), '--out', join(out, entries[role].file), '--weights', weights], { encoding: 'utf8' })
    if (res.status !== 0) { console.error(`codec-weights: compress_weights.py failed for ${role} in ${weights}: ${res.stderr}`); process.exit(1) }
    made.push(JSON.parse(res.stdout))
  }
  variants[weights] = { files: out, made, decoderDir: modelDir(`${weights}-decoder`, out, ['synthesis']), wholeDir: modelDir(`${weights}-whole`, out, ROLES) }
}

const codecsAt = async (dir, levels) => Promise.all(Array.from({ length: levels }, async (_, q) => createImageCodec({ runtime: 'node', quality: q, threads: 1, ...(dir !== undefined ? { modelDir: dir } : {}) })))
const probe = await createImageCodec({ runtime: 'node' })
const levels = probe.info.levels
await probe.close()
const fp32 = await codecsAt(undefined, levels)
const decoders = Object.fromEntries(await Promise.all(Object.entries(variants).map(async ([w, v]) => [w, await createImageCodec({ runtime: 'node', threads: 1, modelDir: v.decoderDir })])))
const wholes = Object.fromEntries(await Promise.all(Object.entries(variants).map(async ([w, v]) => [w, await codecsAt(v.wholeDir, levels)])))

function maxDiff (a, b) {
  let m = 0
  for (let i = 0; i < a.data.length; i++) if (i % 4 !== 3) m = Math.max(m, Math.abs(a.data[i] - b.data[i]))
  return m
}
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length

const photos = []
for (const [i, f] of files.entries()) {
  const frame = await loadPhoto(f)
  const curves = { fp32: [], fp16: [], int8: [] }
  const decoderOnly = { fp16: [], int8: [] }
  for (let q = 0; q < levels; q++) {
    const bytes = await fp32[q].encode(frame)
    const out = await fp32[q].decode(bytes)
    const base = measure(frame, out, bytes.length)
    curves.fp32.push({ level: q, bpp: base.bpp, psnr: base.psnr })
    for (const w of Object.keys(variants)) {
      const o = await decoders[w].decode(bytes)
      decoderOnly[w].push({ level: q, dPsnr: round(measure(frame, o, bytes.length).psnr - base.psnr, 3), maxDiff: maxDiff(out, o) })
      const wb = await wholes[w][q].encode(frame)
      const m = measure(frame, await wholes[w][q].decode(wb), wb.length)
      curves[w].push({ level: q, bpp: m.bpp, psnr: m.psnr })
    }
  }
  const bd = {}
  for (const w of Object.keys(variants)) {
    try {
      bd[w] = round(bdRate(curves.fp32.map((p) => ({ rate: p.bpp, quality: p.psnr })), curves[w].map((p) => ({ rate: p.bpp, quality: p.psnr }))), 2)
    } catch (err) {
      bd[w] = { error: err.message }
    }
  }
  photos.push({ file: f, width: frame.width, height: frame.height, curves, decoderOnly, bdRateAgainstFp32: bd })
  progress('photos', i + 1, files.length)
}

// decode time: one photo at the middle level, the float32 bitstream, each variant's decoder
const speedFrame = await loadPhoto(files[0])
const speedBytes = await fp32[Math.floor(levels / 2)].encode(speedFrame)
const decodeMs = {}
for (const [w, codec] of [['fp32', fp32[0]], ...Object.entries(decoders)]) {
  await codec.decode(speedBytes)
  const times = []
  for (let r = 0; r < 5; r++) {
    const t = performance.now()
    await codec.decode(speedBytes)
    times.push(performance.now() - t)
  }
  decodeMs[w] = summary(times)
}
for (const c of [...fp32, ...Object.values(decoders), ...Object.values(wholes).flat()]) await c.close()

const wire = (file) => {
  const b = readFileSync(file)
  return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length, brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length }
}
const sizes = { fp32: {}, fp16: {}, int8: {} }
for (const role of ROLES) {
  sizes.fp32[role] = wire(join(MODELS_DIR, entries[role].file))
  for (const w of Object.keys(variants)) sizes[w][role] = wire(join(variants[w].files, entries[role].file))
}
const tablesWire = wire(join(MODELS_DIR, tables.file))
for (const w of Object.keys(sizes)) {
  sizes[w].tables = tablesWire
  const dec = ['synthesis', 'tables']
  sizes[w].decoder = Object.fromEntries(['raw', 'gzip', 'brotli'].map((k) => [k, dec.reduce((s, r) => s + sizes[w][r][k], 0)]))
}

const summaryOf = (w) => ({
  decoderOnly: {
    meanDeltaPsnr: round(mean(photos.flatMap((p) => p.decoderOnly[w].map((d) => d.dPsnr))), 4),
    worstDeltaPsnr: round(Math.min(...photos.flatMap((p) => p.decoderOnly[w].map((d) => d.dPsnr))), 4),
    maxPixelDiff: Math.max(...photos.flatMap((p) => p.decoderOnly[w].map((d) => d.maxDiff)))
  },
  wholeCodecBdRate: (() => {
    const v = photos.map((p) => p.bdRateAgainstFp32[w]).filter((x) => typeof x === 'number')
    return { mean: v.length > 0 ? round(mean(v), 2) : null, photos: v.length }
  })()
})
const result = {
  photos: photos.length,
  model: { version: tables.version, levels },
  variants: Object.fromEntries(Object.keys(variants).map((w) => [w, { made: variants[w].made, ...summaryOf(w) }])),
  sizes,
  decodeMs,
  perPhoto: photos
}
rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify({ variants: result.variants, decoderBytes: Object.fromEntries(Object.entries(sizes).map(([w, s]) => [w, s.decoder])), decodeMsP50: Object.fromEntries(Object.entries(decodeMs).map(([w, s]) => [w, s.p50])) }, null, 1))
writeResult('aic-codec-weights', result)
