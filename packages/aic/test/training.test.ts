import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createImageCodec } from '../src/index.node.js'

const SCRIPT = resolve(import.meta.dirname, '../training/prepare_data.py')
const TRAIN = resolve(import.meta.dirname, '../training/train_enhancer.py')
const CONFIG = resolve(import.meta.dirname, '../training/configs/enhancer-x2.json')
const CONFIG_X1_5 = resolve(import.meta.dirname, '../training/configs/enhancer-x1.5.json')
const CODEC_TRAIN = resolve(import.meta.dirname, '../training/train_image_codec.py')
const CODEC_CONFIG = resolve(import.meta.dirname, '../training/configs/image-codec.json')
const CODEC_SHIP = resolve(import.meta.dirname, '../training/ship_image_codec.py')

interface Item { file: string, package: string, licence: string, split: string, kind: string, frames?: number, size: number[], lowSize?: number[], scale?: number, refCrop?: number[], source: string }

// The training pipeline's smoke run, with Debian's python3 as the issue asks: data preparation on
// the Debian packages it reads (opencv-doc, python3-skimage, ffmpeg), then a few seconds of
// training with python3-torch, a resumed run, and the ONNX export checked by python3-onnx.
describe('packages/aic/training (smoke)', () => {
  const out = mkdtempSync(join(tmpdir(), 'auralink-aic-data-'))
  afterAll(() => { rmSync(out, { recursive: true, force: true }) })

  it('writes downscaled stills and VP8 training pairs with a manifest that names every source and licence', () => {
    const res = spawnSync('/usr/bin/python3', [SCRIPT, '--smoke', '--out', out], { encoding: 'utf8', timeout: 120_000 })
    expect(res.status, res.stderr).toBe(0)
    expect(res.stdout).toMatch(/\| package \| kind \| split \|/)
    const { items, seed } = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { items: Item[], seed: string }
    expect(seed).toBe('auralink-aic-v1')
    const stills = items.filter((i) => i.kind === 'still')
    const pairs = items.filter((i) => i.kind === 'pair')
    expect(stills.length).toBeGreaterThan(0)
    expect(pairs.length).toBeGreaterThan(0)
    for (const item of items) {
      expect(item.licence).toBeTruthy()
      expect(['opencv-doc', 'python3-skimage']).toContain(item.package)
      expect(item.source).not.toMatch(/lena/i)
    }
    for (const pair of pairs) {
      const ref = readdirSync(join(out, pair.file, 'ref'))
      const low = readdirSync(join(out, pair.file, 'low'))
      expect(low.length).toBe(ref.length)
      expect(ref.length).toBe(pair.frames)
      expect(pair.lowSize![0]).toBeLessThan(pair.size[0]!)
    }
    // 1.5x pairs too: 426x240, made from the reference's first 639 columns (exactly 1/1.5)
    const x1_5 = pairs.filter((p) => p.scale === 1.5)
    expect(x1_5.length).toBeGreaterThan(0)
    for (const pair of x1_5) expect([pair.lowSize, pair.refCrop]).toEqual([[426, 240], [639, 360]])
    // a second run keeps what matches instead of making it again
    const again = spawnSync('/usr/bin/python3', [SCRIPT, '--smoke', '--out', out], { encoding: 'utf8', timeout: 120_000 })
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/kept .*x1\.5/)
  }, 240_000) // 4 smoke pairs (2x and 1.5x) in about 15 s when the machine is idle, the second run in a few

  it('train_enhancer.py --smoke trains, resumes from its checkpoint, and exports a valid opset-17 ONNX model under 2 MB', () => {
    const runs = join(out, 'runs')
    const train = (extra: string[]): { steps: number, onnx: string, onnxBytes: number, valPsnr: number, valPsnrBicubic: number } => {
      const res = spawnSync('/usr/bin/python3', [TRAIN, '--config', CONFIG, '--data', out, '--runs', runs, '--smoke', ...extra], { encoding: 'utf8', timeout: 120_000 })
      expect(res.status, res.stderr).toBe(0)
      return JSON.parse(res.stdout) as { steps: number, onnx: string, onnxBytes: number, valPsnr: number, valPsnrBicubic: number }
    }
    const first = train([])
    expect(first.steps).toBeGreaterThan(0)
    expect(Number.isFinite(first.valPsnr) && Number.isFinite(first.valPsnrBicubic)).toBe(true)
    const second = train(['--resume'])
    expect(second.steps).toBeGreaterThan(first.steps)
    expect(second.onnxBytes).toBeLessThanOrEqual(2 * 1024 * 1024)
    const check = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m); print(m.opset_import[0].version, [i.name for i in m.graph.input], [o.name for o in m.graph.output])', second.onnx], { encoding: 'utf8' })
    expect(check.status, check.stderr).toBe(0)
    expect(check.stdout.trim()).toBe("17 ['low'] ['restored']")
    const log = readFileSync(join(runs, 'enhancer-x2', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step?: number, summary?: unknown })
    expect(log.filter((l) => l.summary !== undefined)).toHaveLength(2)
    // the 1.5x network (stride-2 bicubic base, 9 phases, PixelShuffle(3)) on the 1.5x pairs, its
    // head and body taken from the 2x run (--init-from)
    const x1_5 = spawnSync('/usr/bin/python3', [TRAIN, '--config', CONFIG_X1_5, '--data', out, '--runs', runs, '--smoke', '--init-from', join(runs, 'enhancer-x2', 'checkpoint.pt')], { encoding: 'utf8', timeout: 120_000 })
    expect(x1_5.status, x1_5.stderr).toBe(0)
    expect(x1_5.stderr).toMatch(/tensors from .*checkpoint\.pt \(left as initialised: skip\.weight, tail\.bias, tail\.weight\)/)
    const x1_5Summary = JSON.parse(x1_5.stdout) as { steps: number, onnx: string, valPsnr: number, valPsnrBicubic: number, valFrames: number }
    expect(x1_5Summary.steps).toBeGreaterThan(0)
    expect(x1_5Summary.valFrames).toBeGreaterThan(0)
    expect(Number.isFinite(x1_5Summary.valPsnr) && Number.isFinite(x1_5Summary.valPsnrBicubic)).toBe(true)
    const shape = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m); print(m.opset_import[0].version, sorted({n.op_type for n in m.graph.node} & {"DepthToSpace", "Resize"}))', x1_5Summary.onnx], { encoding: 'utf8' })
    expect(shape.status, shape.stderr).toBe(0)
    expect(shape.stdout.trim()).toBe("17 ['DepthToSpace']")
  }, 300_000) // three smoke runs of about 8 s each when the machine is idle; CI runs other test files beside it

  it('train_image_codec.py --smoke trains tool 2 in under a minute, resumes (from its run and from the shipped checkpoint, optimiser included), and exports what the TypeScript codec loads', async () => {
    const runs = join(out, 'codec-runs')
    const train = (extra: string[]): { steps: number, seconds: number, device: string, val: Array<{ level: number, bpp: number, psnr: number }>, bytes: Record<string, number>, intAgreement: number } => {
      const res = spawnSync('/usr/bin/python3', [CODEC_TRAIN, '--config', CODEC_CONFIG, '--data', out, '--runs', runs, '--smoke', ...extra], { encoding: 'utf8', timeout: 90_000 })
      expect(res.status, res.stderr).toBe(0)
      expect(res.stderr).toMatch(/ETA/)
      return JSON.parse(res.stdout) as ReturnType<typeof train>
    }
    const t0 = Date.now()
    const first = train([])
    expect(Date.now() - t0).toBeLessThan(60_000)
    expect(first.steps).toBeGreaterThan(0)
    expect(first.val.length).toBeGreaterThanOrEqual(4)
    for (const v of first.val) expect(Number.isFinite(v.bpp) && Number.isFinite(v.psnr)).toBe(true)
    // the integer hyper-synthesis that training simulates is the one exported
    expect(first.intAgreement).toBeGreaterThan(0.999)
    // --device auto trains where torch finds a GPU; on a machine without one, the CPU, and asking for CUDA is refused by name
    expect(first).toHaveProperty('device')
    if (first.device === 'cpu') {
      const cuda = spawnSync('/usr/bin/python3', [CODEC_TRAIN, '--config', CODEC_CONFIG, '--data', out, '--runs', join(out, 'codec-runs-cuda'), '--smoke', '--device', 'cuda'], { encoding: 'utf8', timeout: 60_000 })
      expect(cuda.status).not.toBe(0)
      expect(cuda.stderr).toContain('--device cuda, but torch sees no GPU here')
    }
    const second = train(['--resume'])
    expect(second.steps).toBeGreaterThan(first.steps)
    for (const size of Object.values(second.bytes)) expect(size).toBeLessThanOrEqual(2 * 1024 * 1024)
    const run = join(runs, 'image-codec')
    const check = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys\nfor f in sys.argv[1:]:\n m=onnx.load(f); onnx.checker.check_model(m); print(m.opset_import[0].version, m.graph.input[0].name, m.graph.output[0].name)',
      ...['analysis', 'hyper-analysis', 'synthesis'].map((r) => join(run, `image-codec-${r}.onnx`))], { encoding: 'utf8' })
    expect(check.status, check.stderr).toBe(0)
    expect(check.stdout.trim().split('\n')).toEqual(['17 image y', '17 y z', '17 y_hat image'])
    // ship it into a folder of its own and code a picture with it in TypeScript
    const models = join(out, 'codec-models')
    const ship = spawnSync('/usr/bin/python3', [CODEC_SHIP, '--run', run, '--models', models, '--checkpoints', join(out, 'codec-ckpt'), '--fixtures', join(out, 'codec-fixtures'), '--allow-smoke'], { encoding: 'utf8' })
    expect(ship.status, ship.stderr).toBe(0)
    const refused = spawnSync('/usr/bin/python3', [CODEC_SHIP, '--run', run, '--models', models], { encoding: 'utf8' })
    expect(refused.stderr).toMatch(/only full runs ship/)
    // the shipped (committed) checkpoint resumes with its optimiser state, step and RNG, in a run folder of its own
    const again = spawnSync('/usr/bin/python3', [CODEC_TRAIN, '--config', CODEC_CONFIG, '--data', out, '--runs', join(out, 'codec-runs-again'), '--smoke', '--resume-from', join(out, 'codec-ckpt', 'image-codec.pt')], { encoding: 'utf8', timeout: 90_000 })
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toMatch(new RegExp(`resumed image-codec at step ${second.steps} from`))
    expect(again.stderr).not.toMatch(/fresh optimiser/)
    expect((JSON.parse(again.stdout) as { steps: number }).steps).toBeGreaterThan(second.steps)
    const codec = await createImageCodec({ runtime: 'node', modelDir: models, quality: 0 })
    try {
      const frame = { width: 80, height: 48, data: new Uint8Array(80 * 48 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 251)) }
      const bytes = await codec.encode(frame)
      const back = await codec.decode(bytes)
      expect([back.width, back.height]).toEqual([80, 48])
    } finally {
      await codec.close()
    }
    const log = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { summary?: unknown })
    expect(log.filter((l) => l.summary !== undefined)).toHaveLength(2)
  }, 240_000)

  it('the GPU run (gpu_run.sh) on the CPU: the stills packed to travel, a smoke run of the big config leaves in $OUT only what the device hands back (its log with the summary, weight shards), which the CPU then resumes and exports', () => {
    const packed = join(out, 'packed')
    const pack = spawnSync('/usr/bin/python3', [resolve(import.meta.dirname, '../training/pack_stills.py'), '--data', out, '--out', packed], { encoding: 'utf8', timeout: 60_000 })
    expect(pack.status, pack.stderr).toBe(0)
    const manifest = JSON.parse(readFileSync(join(packed, 'manifest.json'), 'utf8')) as { items: Item[] }
    expect(manifest.items.length).toBeGreaterThan(0)
    expect(manifest.items.every((i) => i.kind === 'still')).toBe(true)
    const gpuOut = join(out, 'gpu-out')
    const run = spawnSync('bash', [resolve(import.meta.dirname, '../training/gpu_run.sh'), '--smoke', '--config', resolve(import.meta.dirname, '../training/configs/image-codec-big.json')],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OUT: gpuOut, AIC_STILLS: packed, PYTHON: '/usr/bin/python3', SCRATCH: join(out, 'gpu-scratch') } })
    expect(run.status, run.stdout + run.stderr).toBe(0)
    // what comes back from the device: the log and the weights in shards of at most 15 MiB (8 files, 16 MiB each, at most)
    const back = readdirSync(gpuOut).sort()
    expect(back).toEqual(['train.log', 'weights-0.pt', 'weights.json'])
    const log = readFileSync(join(gpuOut, 'train.log'), 'utf8')
    expect(log).toMatch(/torch .* cuda (True|False)[\s\S]*ETA/)
    const summary = JSON.parse(log.slice(log.indexOf('\n{') + 1)) as { device: string, steps: number, val: unknown[], bytes?: unknown }
    expect(summary.device).toBe('cpu')
    expect(summary.steps).toBeGreaterThan(0)
    expect(summary.val.length).toBe(5)
    expect(summary.bytes).toBeUndefined()
    expect(JSON.parse(readFileSync(join(gpuOut, 'weights.json'), 'utf8'))).toMatchObject({ name: 'image-codec-big', step: summary.steps, shards: 1 })
    // then here, on the CPU: resumed from those weights at their own step (no training), evaluated and exported
    const exported = spawnSync('/usr/bin/python3', [CODEC_TRAIN, '--config', resolve(import.meta.dirname, '../training/configs/image-codec-big.json'), '--data', packed, '--runs', join(out, 'export-runs'), '--smoke', '--resume-from', gpuOut, '--steps', String(summary.steps)], { encoding: 'utf8', timeout: 120_000 })
    expect(exported.status, exported.stderr).toBe(0)
    expect(exported.stderr).toContain(`resumed image-codec-big at step ${summary.steps} from ${gpuOut} (weights only: a fresh optimiser)`)
    const result = JSON.parse(exported.stdout) as { stepsThisRun: number, bytes: Record<string, number> }
    expect(result.stepsThisRun).toBe(0)
    expect(Object.keys(result.bytes).length).toBeGreaterThanOrEqual(3)
  }, 240_000)

  it('the big config\'s integer hyper-synthesis: 128 input channels keep the worst-case accumulator inside int32, and its layers at initialisation export and run without overflow', () => {
    const check = spawnSync('/usr/bin/python3', ['-c', [
      'import json, sys, torch',
      `sys.path.insert(0, ${JSON.stringify(resolve(import.meta.dirname, '../training'))})`,
      'from image_codec import ImageCodec, WMAX, AMAX, int_reference',
      'import export_image_codec',
      `cfg = json.load(open(${JSON.stringify(resolve(import.meta.dirname, '../training/configs/image-codec-big.json'))}))`,
      'worst = WMAX * AMAX * 9 * max(cfg["hyper_channels"], cfg["hyper_latent"])',
      'model = ImageCodec(cfg)',
      'layers = export_image_codec.int_layers(model)',
      'z = torch.randint(-cfg["zmax"], cfg["zmax"] + 1, (1, cfg["hyper_latent"], 4, 6))',
      'out = int_reference(layers, z)',
      'print(json.dumps({"worst": worst, "bounds": [L["accBound"] for L in layers], "shape": list(out.shape)}))'
    ].join('\n')], { encoding: 'utf8', timeout: 60_000 })
    expect(check.status, check.stderr).toBe(0)
    const r = JSON.parse(check.stdout) as { worst: number, bounds: number[], shape: number[] }
    expect(r.worst).toBeLessThan(2 ** 31)
    for (const b of r.bounds) expect(b).toBeLessThan(2 ** 31)
    expect(r.shape).toEqual([1, 192, 16, 24])
  })

  it('enhancer.py: before training, the 2x and 1.5x networks are torch\'s bicubic upscaling (float64, within 1e-6), and 1.5x refuses an odd input size, naming it', () => {
    const code = [
      'import sys, torch, torch.nn.functional as F',
      `sys.path.insert(0, ${JSON.stringify(resolve(import.meta.dirname, '../training'))})`,
      'from enhancer import Enhancer',
      'torch.manual_seed(0)',
      'for s, h, w in ((2, 18, 30), (1.5, 24, 40)):',
      '    m = Enhancer(s, 8, 1, "bicubic-conv").double().eval()',
      '    x = torch.rand(1, 3, h, w, dtype=torch.float64)',
      '    with torch.no_grad():',
      '        d = (m(x) - torch.clamp(F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False), 0, 1)).abs().max().item()',
      '    print(s, tuple(m(x).shape[2:]), d < 1e-6)',
      'try:',
      '    Enhancer(1.5, 8, 1, "bicubic-conv")(torch.rand(1, 3, 24, 41))',
      'except ValueError as e:',
      '    print(e)'
    ].join('\n')
    const res = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', timeout: 110_000 })
    expect(res.status, res.stderr).toBe(0)
    expect(res.stdout.trim().split('\n')).toEqual(['2 (36, 60) True', '1.5 (36, 60) True', 'scale 1.5 needs an even input height and width, got 41x24'])
  }, 120_000) // a few seconds; importing torch is most of it

  it('prepare_data.py reads SciPy\'s raccoon face (face.dat, bz2-compressed RGB) as a 1024x768 photo; the full set lists it and scikit-learn\'s two photos with their licences', () => {
    const code = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(resolve(import.meta.dirname, '../training'))})`,
      'import prepare_data, sources',
      'img = prepare_data.open_still(sources.SCIPY_FACE)',
      'px = img.resize((64, 48)).getdata()',
      'means = [sum(p[c] for p in px) / len(px) for c in range(3)]',
      'print(json.dumps({"size": img.size, "means": means, "sklearn": sources.SKLEARN_IMAGES, "scipy": sources.SCIPY_FACE_LICENCE}))'
    ].join('\n')
    const res = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', timeout: 60_000 })
    expect(res.status, res.stderr).toBe(0)
    const r = JSON.parse(res.stdout) as { size: number[], means: number[], sklearn: Record<string, string>, scipy: string }
    expect(r.size).toEqual([1024, 768])
    // a photo, not noise or a wrong stride: grey-green fur and leaves, green above red and blue
    for (const m of r.means) expect(m).toBeGreaterThan(40)
    expect(r.means[1]).toBeGreaterThan(r.means[2]!)
    expect(Object.keys(r.sklearn).sort()).toEqual(['china.jpg', 'flower.jpg'])
    for (const licence of Object.values(r.sklearn)) expect(licence).toMatch(/^CC-BY-2\.0 \(.+ on Flickr/)
    expect(r.scipy).toMatch(/public domain/)
  })

  it('refuses a bad --val-share, naming it', () => {
    const res = spawnSync('/usr/bin/python3', [SCRIPT, '--val-share', '2', '--out', out], { encoding: 'utf8' })
    expect(res.status).not.toBe(0)
    expect(res.stderr).toMatch(/--val-share must be between 0 and 1, got 2/)
  })
})
