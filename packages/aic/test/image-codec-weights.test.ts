import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createImageCodec, lumaOf, MODELS_DIR, psnr, readManifest } from '../src/index.node.js'
import type { ImageCodec } from '../src/index.node.js'

const SCRIPT = resolve(import.meta.dirname, '../training/compress_weights.py')

/** A test picture: gradients and stripes, 200x136 (not multiples of 64). */
function picture (width = 200, height = 136): { width: number, height: number, data: Uint8Array } {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4
      data[i] = Math.round((255 * x) / width)
      data[i + 1] = Math.round((255 * y) / height)
      data[i + 2] = (x >> 3) % 2 === 0 ? 40 : 200
      data[i + 3] = 255
    }
  }
  return { width, height, data }
}

// training/compress_weights.py on the shipped tool 2: the fp16 and int8 synthesis load in
// onnxruntime-node and decode the float32 encoder's bits to nearly the same picture, at half and
// about a quarter of the bytes (what each costs on the evaluation photos: bench/aic/codec-weights.mjs).
describe('compress_weights.py: tool 2\'s decoder in fp16 and int8 weights', () => {
  let work: string
  let fp32: ImageCodec
  const variants: Record<string, { codec: ImageCodec, bytes: number }> = {}

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'aic-weights-'))
    fp32 = await createImageCodec({ runtime: 'node', quality: 2, threads: 1 })
    const manifest = await readManifest()
    const synthesis = manifest.models.find((m) => m.tool === 'codec' && m.role === 'synthesis')!
    for (const weights of ['fp16', 'int8']) {
      const dir = join(work, weights)
      await mkdir(dir)
      const res = spawnSync('/usr/bin/python3', [SCRIPT, '--in', join(MODELS_DIR, synthesis.file), '--out', join(dir, synthesis.file), '--weights', weights], { encoding: 'utf8', timeout: 60_000 })
      expect(res.status, res.stderr).toBe(0)
      expect(JSON.parse(res.stdout)).toMatchObject({ weights, bytesBefore: synthesis.bytes })
      const models = []
      for (const m of manifest.models.filter((e) => e.tool === 'codec')) {
        if (m.role !== 'synthesis') await copyFile(join(MODELS_DIR, m.file), join(dir, m.file))
        const bytes = await readFile(join(dir, m.file))
        models.push({ ...m, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
      }
      await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, models }))
      variants[weights] = { codec: await createImageCodec({ runtime: 'node', threads: 1, modelDir: dir }), bytes: (await stat(join(dir, synthesis.file))).size }
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([fp32, ...Object.values(variants).map((v) => v.codec)].map(async (c) => c?.close()))
    await rm(work, { recursive: true, force: true })
  })

  it('fp16: half the bytes, and the same bits decode within one level of float32', async () => {
    const manifest = await readManifest()
    const full = manifest.models.find((m) => m.tool === 'codec' && m.role === 'synthesis')!.bytes
    expect(variants.fp16!.bytes).toBeLessThan(full * 0.55)
    const bits = await fp32.encode(picture())
    const a = await fp32.decode(bits)
    const b = await variants.fp16!.codec.decode(bits)
    let max = 0
    for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!))
    expect(max).toBeLessThanOrEqual(1)
  })

  it('int8: under 30% of the bytes, and the same bits decode above 40 dB (luma) against float32\'s picture', async () => {
    const manifest = await readManifest()
    const full = manifest.models.find((m) => m.tool === 'codec' && m.role === 'synthesis')!.bytes
    expect(variants.int8!.bytes).toBeLessThan(full * 0.3)
    const bits = await fp32.encode(picture())
    const a = await fp32.decode(bits)
    const b = await variants.int8!.codec.decode(bits)
    expect(psnr(lumaOf({ ...a, channels: 4 }), lumaOf({ ...b, channels: 4 }))).toBeGreaterThan(40)
  })

  it('refuses a model with nothing to convert, naming it', () => {
    const res = spawnSync('/usr/bin/python3', [SCRIPT, '--in', join(MODELS_DIR, 'image-codec-hyper-analysis.onnx'), '--out', join(work, 'x.onnx'), '--weights', 'int8', '--min-elements', '100000000'], { encoding: 'utf8', timeout: 60_000 })
    expect(res.status).not.toBe(0)
    expect(res.stderr).toMatch(/has no initializer to convert to int8/)
  })
})
