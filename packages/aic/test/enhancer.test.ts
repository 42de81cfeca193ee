import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readShippedModel } from '../src/model-files.node.js'
import { createEnhancer, enhancerModel, frameToTensor, lumaOf, MODELS_DIR, parseManifest, psnr, readManifest, tensorToFrame } from '../src/index.node.js'
import { heldOutFrames } from '../../../test-utils/aic-video.js'
import type { Enhancer, Frame } from '../src/index.node.js'

const luma = (f: Frame): ReturnType<typeof lumaOf> => lumaOf({ ...f, channels: 4 })
const REFERENCE = resolve(import.meta.dirname, '../training/reference_output.py')
// the checkpoint that ship_model.py copied next to the shipped ONNX export
const CHECKPOINT = resolve(import.meta.dirname, '../training/checkpoints/enhancer-x2.pt')
const CHECKPOINT_X1_5 = resolve(import.meta.dirname, '../training/checkpoints/enhancer-x1.5.pt')
const checkpointOf = (name: string): string => resolve(import.meta.dirname, `../training/checkpoints/${name}.pt`)

/** Runs reference_output.py (Debian's torch) on `frame` and compares: at most 1 level apart, under 1% of values off. */
function expectAgreesWithPyTorch (out: Frame, frame: Frame, checkpoint: string, tmp: string): void {
  const input = join(tmp, 'low.rgba')
  const output = join(tmp, 'restored.rgba')
  writeFileSync(input, frame.data)
  const res = spawnSync('/usr/bin/python3', [REFERENCE, '--checkpoint', checkpoint, '--input', input, '--width', String(frame.width), '--height', String(frame.height), '--output', output], { encoding: 'utf8', timeout: 120_000 })
  expect(res.status, res.stderr).toBe(0)
  const expected = readFileSync(output)
  expect(out.data.length).toBe(expected.length)
  let off = 0
  let maxDiff = 0
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(out.data[i]! - expected[i]!)
    if (d > 0) off++
    if (d > maxDiff) maxDiff = d
  }
  // float sums differ between ONNX Runtime's kernels and PyTorch's in the last bits: a value that
  // lands near a rounding edge may go either way, by one level
  expect(maxDiff).toBeLessThanOrEqual(1)
  expect(off / expected.length).toBeLessThan(0.01)
}

// Real inference: the model this package ships, on onnxruntime-node, on frames of the held-out
// clip sent through the real codec (ffmpeg's libvpx) at a quarter of the pixels, checked against
// PyTorch running the checkpoint the model was exported from. How much the model restores is a
// benchmark's question (bench/aic/enhance.mjs, docs/aic.md), not a test's.
describe('createEnhancer({ runtime: "node", scale: 2 })', () => {
  let enhancer: Enhancer
  const tmp = mkdtempSync(join(tmpdir(), 'auralink-aic-enhancer-'))
  beforeAll(async () => { enhancer = await createEnhancer({ runtime: 'node', scale: 2, threads: 2 }) })
  afterAll(async () => {
    await enhancer?.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('info says what runs: onnxruntime-node\'s CPU provider and the shipped enhancer-x2 model with its version and checksum', async () => {
    const manifest = await readManifest()
    const entry = manifest.models.find((m) => m.name === 'enhancer-x2')!
    expect(enhancer.info).toMatchObject({ runtime: 'node', executionProvider: 'cpu', scale: 2, threads: 2, model: { name: 'enhancer-x2', version: entry.version, sha256: entry.sha256 } })
    expect(enhancer.info.model.file).toBe(join(MODELS_DIR, 'enhancer-x2.onnx'))
    expect(enhancer.info.loadMs).toBeGreaterThan(0)
  })

  it('enhance() of a held-out VP8 frame agrees with the PyTorch checkpoint it was exported from (Debian\'s torch), within 1 level per value', async () => {
    const { low } = heldOutFrames(12, 200)
    const frame = low[10]!
    const out = await enhancer.enhance(frame)
    expect([out.width, out.height]).toEqual([640, 360])
    expectAgreesWithPyTorch(out, frame, CHECKPOINT, tmp)
  })

  it('enhance() of held-out VP8 frames stays close to plain bicubic upscaling of them (the network adds a residual, not a new picture)', async () => {
    const { low, bicubic } = heldOutFrames(20, 400)
    for (const i of [5, 12, 19]) {
      const out = await enhancer.enhance(low[i]!)
      // the restoration changes detail, not the picture: far closer to bicubic than a frame of another scene
      expect(psnr(luma(out), luma(bicubic[i]!))).toBeGreaterThan(30)
    }
  })

  it('enhance() takes any frame size and keeps alpha at 255', async () => {
    const data = new Uint8Array(37 * 23 * 4).map((_, i) => (i * 7) % 256)
    const out = await enhancer.enhance({ width: 37, height: 23, data })
    expect([out.width, out.height]).toEqual([74, 46])
    for (let p = 3; p < out.data.length; p += 4) if (out.data[p] !== 255) throw new Error(`alpha ${out.data[p]} at ${p}`)
  })

  it('enhance() refuses a frame whose data does not match its size, naming it', async () => {
    await expect(enhancer.enhance({ width: 10, height: 10, data: new Uint8Array(399) })).rejects.toThrow(/frame\.data has 399 bytes, expected 10 x 10 x 4 = 400 \(RGBA\)/)
    await expect(enhancer.enhance({ width: 0, height: 10, data: new Uint8Array(0) })).rejects.toThrow(RangeError)
    await expect(enhancer.enhance({ width: 2, height: 2, data: [1, 2, 3] as unknown as Uint8Array })).rejects.toThrow(/frame\.data must be a Uint8Array/)
    await expect(enhancer.enhance(null as unknown as Frame)).rejects.toThrow(TypeError)
  })

  it('enhance() honours an aborted signal', async () => {
    await expect(enhancer.enhance({ width: 8, height: 8, data: new Uint8Array(256) }, { signal: AbortSignal.abort() })).rejects.toThrow(/aborted/)
  })

  it('createEnhancer() refuses bad options, naming them', async () => {
    await expect(createEnhancer({ scale: 3 })).rejects.toThrow(/scale must be one of the shipped enhancer scales \(1\.5, 2\), got 3/)
    await expect(createEnhancer({ scale: 1.25 })).rejects.toThrow(/scale must be one of the shipped enhancer scales \(1\.5, 2\), got 1\.25/)
    await expect(createEnhancer({ scale: Math.PI })).rejects.toThrow(/scale must be a number > 1 that makes whole output sizes .*got 3\.14159/)
    await expect(createEnhancer({ scale: 1 })).rejects.toThrow(RangeError)
    await expect(createEnhancer({ runtime: 'wasm' })).rejects.toThrow(/runtime 'wasm' does not run here/)
    await expect(createEnhancer({ runtime: 'cuda' as 'node' })).rejects.toThrow(/runtime must be 'auto', 'webgpu', 'wasm' or 'node', got "cuda"/)
    await expect(createEnhancer({ threads: 0 })).rejects.toThrow(/threads must be a whole number from 1 to 64, got 0/)
    await expect(createEnhancer({ scale: Number.NaN })).rejects.toThrow(/scale must be a number > 1/)
  })

  it('createEnhancer({ modelPath }) names a missing file (ModelNotFoundError) and a corrupt one (ModelLoadError)', async () => {
    const missing = join(tmp, 'nope.onnx')
    await expect(createEnhancer({ modelPath: missing })).rejects.toMatchObject({ name: 'ModelNotFoundError', file: missing, message: expect.stringContaining(missing) })
    const corrupt = join(tmp, 'corrupt.onnx')
    writeFileSync(corrupt, readFileSync(join(MODELS_DIR, 'enhancer-x2.onnx')).subarray(0, 5000))
    await expect(createEnhancer({ modelPath: corrupt })).rejects.toMatchObject({ name: 'ModelLoadError', file: corrupt, message: expect.stringContaining(corrupt) })
  })

  it('a shipped model file that is truncated or altered fails its manifest check with ModelLoadError naming the file', async () => {
    const entry = (await readManifest()).models.find((m) => m.name === 'enhancer-x2')!
    const dir = `${mkdtempSync(join(tmp, 'models-'))}/`
    const bytes = readFileSync(join(MODELS_DIR, entry.file))
    writeFileSync(join(dir, entry.file), bytes.subarray(0, bytes.length - 1))
    await expect(readShippedModel(entry, dir)).rejects.toMatchObject({ name: 'ModelLoadError', message: expect.stringMatching(/enhancer-x2\.onnx cannot be loaded: .* bytes, the manifest says/) })
    const altered = Buffer.from(bytes)
    altered[altered.length - 10] = altered[altered.length - 10]! ^ 0xff
    writeFileSync(join(dir, entry.file), altered)
    await expect(readShippedModel(entry, dir)).rejects.toMatchObject({ name: 'ModelLoadError', message: expect.stringMatching(/SHA-256 [0-9a-f]{64} differs/) })
    await expect(readShippedModel(entry, `${join(tmp, 'empty')}/`)).rejects.toMatchObject({ name: 'ModelNotFoundError' })
    copyFileSync(join(MODELS_DIR, entry.file), join(dir, entry.file))
    await expect(readShippedModel(entry, dir)).resolves.toMatchObject({ file: join(dir, entry.file) })
  })

  it('close() is idempotent and enhance() after it throws InvalidStateError', async () => {
    const e = await createEnhancer()
    await e.close()
    await e.close()
    await expect(e.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).rejects.toMatchObject({ name: 'InvalidStateError' })
  })
})

// Tool 1 at 1.5x: every 2x2 block of the input becomes 3x3 (the sender's scaleResolutionDownBy: 1.5).
describe('createEnhancer({ runtime: "node", scale: 1.5 })', () => {
  let enhancer: Enhancer
  const tmp = mkdtempSync(join(tmpdir(), 'auralink-aic-enhancer-x1_5-'))
  beforeAll(async () => { enhancer = await createEnhancer({ runtime: 'node', scale: 1.5, threads: 2 }) })
  afterAll(async () => {
    await enhancer?.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('info says what runs: the shipped enhancer-x1.5 model with its version and checksum, scale 1.5', async () => {
    const entry = (await readManifest()).models.find((m) => m.name === 'enhancer-x1.5')!
    expect(entry).toMatchObject({ tool: 'enhance', scale: 1.5, opset: 17 })
    expect(enhancer.info).toMatchObject({ runtime: 'node', executionProvider: 'cpu', scale: 1.5, threads: 2, model: { name: 'enhancer-x1.5', version: entry.version, sha256: entry.sha256 } })
    expect(enhancer.info.model.file).toBe(join(MODELS_DIR, 'enhancer-x1.5.onnx'))
  })

  it('enhance() of a held-out 426x240 VP8 frame gives 639x360 and agrees with the PyTorch checkpoint it was exported from, within 1 level per value', async () => {
    const { low, bicubic } = heldOutFrames(12, 300, 1.5)
    const frame = low[10]!
    expect([frame.width, frame.height]).toEqual([426, 240])
    const out = await enhancer.enhance(frame)
    expect([out.width, out.height]).toEqual([639, 360])
    expectAgreesWithPyTorch(out, frame, CHECKPOINT_X1_5, tmp)
    // a residual over bicubic, not a new picture
    expect(psnr(luma(out), luma(bicubic[10]!))).toBeGreaterThan(30)
  })

  it('enhance() takes any even frame size and keeps alpha at 255', async () => {
    const data = new Uint8Array(38 * 22 * 4).map((_, i) => (i * 7) % 256)
    const out = await enhancer.enhance({ width: 38, height: 22, data })
    expect([out.width, out.height]).toEqual([57, 33])
    for (let p = 3; p < out.data.length; p += 4) if (out.data[p] !== 255) throw new Error(`alpha ${out.data[p]} at ${p}`)
  })

  it('enhance() refuses a frame with an odd width or height, naming its size', async () => {
    await expect(enhancer.enhance({ width: 37, height: 22, data: new Uint8Array(37 * 22 * 4) })).rejects.toThrow(/frame must have a width and height that are multiples of 2 at scale 1\.5 \(each 2x2 block becomes 3x3\), got 37x22/)
    await expect(enhancer.enhance({ width: 38, height: 23, data: new Uint8Array(38 * 23 * 4) })).rejects.toThrow(/got 38x23/)
    await expect(enhancer.enhance({ width: 1, height: 1, data: new Uint8Array(4) })).rejects.toThrow(RangeError)
  })
})

// The 'fast' variant: a narrower network for CPUs that cannot run the standard one at call frame
// rates (onnxruntime-web's WASM); bench/aic/speed-browser.mjs measures its speed, and
// bench/aic/enhance-variants.mjs what it costs in quality (docs/aic.md).
describe.each([
  { scale: 2, name: 'enhancer-x2-fast', low: [320, 180], out: [640, 360], kbps: 200 },
  { scale: 1.5, name: 'enhancer-x1.5-fast', low: [426, 240], out: [639, 360], kbps: 300 }
] as const)('createEnhancer({ runtime: "node", scale: $scale, variant: "fast" })', ({ scale, name, low: lowSize, out: outSize, kbps }) => {
  let fast: Enhancer
  let standard: Enhancer
  const tmp = mkdtempSync(join(tmpdir(), 'auralink-aic-enhancer-fast-'))
  beforeAll(async () => {
    fast = await createEnhancer({ runtime: 'node', scale, variant: 'fast', threads: 2 })
    standard = await createEnhancer({ runtime: 'node', scale, threads: 2 })
  })
  afterAll(async () => {
    await fast?.close()
    await standard?.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  it(`info says what runs: the shipped ${name} model (variant "fast") with its version and checksum; the default stays "standard"`, async () => {
    const manifest = await readManifest()
    const entry = manifest.models.find((m) => m.name === name)!
    expect(entry).toMatchObject({ tool: 'enhance', scale, variant: 'fast', file: `${name}.onnx`, input: 'low', output: 'restored' })
    expect(enhancerModel(manifest, scale, 'fast')).toBe(entry)
    expect(fast.info).toMatchObject({ runtime: 'node', executionProvider: 'cpu', scale, variant: 'fast', model: { name, version: entry.version, sha256: entry.sha256 } })
    expect(fast.info.model.file).toBe(join(MODELS_DIR, `${name}.onnx`))
    expect(standard.info).toMatchObject({ variant: 'standard', model: { name: name.replace('-fast', '') } })
    // the point of the variant: a smaller network than the standard one
    const std = manifest.models.find((m) => m.name === name.replace('-fast', ''))!
    expect((entry.training as { parameters: number }).parameters).toBeLessThan((std.training as { parameters: number }).parameters / 2)
  })

  it('enhance() of a held-out VP8 frame gives the full size and agrees with the PyTorch checkpoint it was exported from, within 1 level per value', async () => {
    const { low } = heldOutFrames(12, kbps, scale)
    const frame = low[10]!
    expect([frame.width, frame.height]).toEqual(lowSize)
    const out = await fast.enhance(frame)
    expect([out.width, out.height]).toEqual(outSize)
    expectAgreesWithPyTorch(out, frame, checkpointOf(name), tmp)
  })

  it('enhance() of held-out VP8 frames stays a residual over bicubic, and moves toward what the standard model restores', async () => {
    const { low, bicubic } = heldOutFrames(20, kbps, scale)
    for (const i of [5, 12, 19]) {
      const out = await fast.enhance(low[i]!)
      const std = await standard.enhance(low[i]!)
      // a residual over bicubic, not a new picture (as the standard model's test asks)
      expect(psnr(luma(out), luma(bicubic[i]!))).toBeGreaterThan(30)
      // both networks learned the same correction: the fast one's output is nearer the standard
      // one's than plain bicubic is (an untrained residual, which leaves bicubic as it is, fails)
      expect(psnr(luma(out), luma(std))).toBeGreaterThan(psnr(luma(bicubic[i]!), luma(std)))
    }
  })

  it('createEnhancer() refuses a variant that does not exist, and a variant with a model of one\'s own, naming them', async () => {
    await expect(createEnhancer({ scale, variant: 'tiny' as 'fast' })).rejects.toThrow(/variant must be 'standard' or 'fast', got "tiny"/)
    await expect(createEnhancer({ scale, variant: 'fast', modelPath: join(MODELS_DIR, `${name}.onnx`) })).rejects.toThrow(TypeError)
    // a model of one's own has no variant
    const own = await createEnhancer({ scale, modelPath: join(MODELS_DIR, `${name}.onnx`) })
    expect(own.info.variant).toBeUndefined()
    await own.close()
  })
})

describe('enhancerModel(manifest, scale, variant)', () => {
  const entry = (name: string, scale: number, variant?: 'standard' | 'fast'): Record<string, unknown> => ({ name, file: `${name}.onnx`, tool: 'enhance', scale, version: 1, sha256: '0'.repeat(64), bytes: 1, input: 'low', output: 'restored', ...(variant !== undefined ? { variant } : {}) })
  const manifest = parseManifest({ models: [entry('enhancer-x2', 2), entry('enhancer-x1.5', 1.5, 'standard'), entry('enhancer-x2-fast', 2, 'fast')] }, 'manifest.json')

  it('takes an entry without "variant" as the standard one, and picks by scale and variant', () => {
    expect(enhancerModel(manifest, 2).name).toBe('enhancer-x2')
    expect(enhancerModel(manifest, 2, 'standard').name).toBe('enhancer-x2')
    expect(enhancerModel(manifest, 1.5).name).toBe('enhancer-x1.5')
    expect(enhancerModel(manifest, 2, 'fast').name).toBe('enhancer-x2-fast')
  })

  it('names the scales shipped for the variant asked for when none fits', () => {
    expect(() => enhancerModel(manifest, 1.5, 'fast')).toThrow(/scale must be one of the shipped 'fast' enhancer scales \(2\), got 1\.5/)
    expect(() => enhancerModel(manifest, 3)).toThrow(/scale must be one of the shipped enhancer scales \(1\.5, 2\), got 3/)
  })

  it('parseManifest() refuses an entry whose variant is unknown, naming it', () => {
    expect(() => parseManifest({ models: [entry('enhancer-x2', 2), { ...entry('x', 2), variant: 'tiny' }] }, 'manifest.json')).toThrow(/models\[1\]\.variant must be one of standard, fast, got "tiny"/)
  })
})

describe('frameToTensor / tensorToFrame', () => {
  it('round-trip every byte value of RGB, and set alpha to 255', () => {
    const data = new Uint8Array(256 * 4).map((_, i) => (i % 4 === 3 ? 7 : (i >> 2) & 255))
    const back = tensorToFrame(frameToTensor({ width: 16, height: 16, data }), 16, 16)
    for (let i = 0; i < data.length; i++) expect(back.data[i]).toBe(i % 4 === 3 ? 255 : data[i])
  })

  it('tensorToFrame clamps out-of-range values and refuses a tensor of the wrong length', () => {
    const t = new Float32Array([-0.5, 1.5, 0.5])
    expect(Array.from(tensorToFrame(t, 1, 1).data)).toEqual([0, 255, 128, 255])
    expect(() => tensorToFrame(t, 2, 1)).toThrow(/tensor has 3 values, expected 3 x 2 x 1/)
  })
})
