import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const TRAINING = resolve(import.meta.dirname, '../training')

/** Runs a Python snippet with training/ on the path (Debian's python3 with python3-torch, as the smoke run) and parses its JSON. */
function python<T> (code: string): T {
  const res = spawnSync('/usr/bin/python3', ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(TRAINING)})\n${code}`], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
  expect(res.status, res.stderr).toBe(0)
  return JSON.parse(res.stdout) as T
}

// What round 2 changed in tool 2's training against its divergence (docs/aic-changelog.md, "2026-12-02: tool 2, round 2")
describe('packages/aic/training/image_codec.py (tool 2 training numerics)', () => {
  it('gaussian_bits() is finite with a gradient on y and sigma far past round 1\'s 30-bit floor, where the floored rate has none', () => {
    const r = python<{ cases: Array<{ v: number, s: number, bits: number, dy: number, ds: number, oldBits: number, oldDy: number, oldDs: number }> }>(`
import torch
from image_codec import gaussian_bits, gaussian_bits_floored
cases = []
for v, s in [(0.0, 1.0), (1.0, 0.11), (2.0, 0.11), (4.0, 0.11), (50.0, 0.11)]:
    out = {"v": v, "s": s}
    for name, f in (("", gaussian_bits), ("old", gaussian_bits_floored)):
        y = torch.tensor([v], requires_grad=True)
        sg = torch.tensor([s], requires_grad=True)
        b = f(y, sg).sum()
        b.backward()
        key = (lambda k: name + k[0].upper() + k[1:]) if name else (lambda k: k)
        out[key("bits")], out[key("dy")], out[key("ds")] = b.item(), y.grad.item(), sg.grad.item()
    cases.append(out)
print(json.dumps({"cases": cases}))
`)
    const [centre, near, ...far] = r.cases
    // inside the floor both agree
    expect(centre!.bits).toBeCloseTo(centre!.oldBits, 3)
    expect(near!.bits).toBeCloseTo(near!.oldBits, 3)
    expect(near!.dy).toBeCloseTo(near!.oldDy, 1)
    for (const c of far) {
      expect(c.oldBits).toBeCloseTo(29.9, 1) // round 1: on the floor...
      expect([c.oldDy, c.oldDs]).toEqual([0, 0]) // ...with no gradient at all
      expect(Number.isFinite(c.bits) && c.bits > 30).toBe(true)
      expect(c.dy).toBeGreaterThan(0) // the rate pulls y in
      expect(c.ds).toBeLessThan(0) // and pushes sigma up
    }
  })

  it('training_rate() is the exact rate up to 16 bits, then grows logarithmically with a gradient that never vanishes', () => {
    const r = python<{ rate: number[], grad: number[] }>(`
import torch
from image_codec import training_rate
b = torch.tensor([0.5, 10.0, 16.0, 32.0, 1e6], requires_grad=True)
t = training_rate(b)
t.sum().backward()
print(json.dumps({"rate": t.tolist(), "grad": b.grad.tolist()}))
`)
    expect(r.rate.slice(0, 3)).toEqual([0.5, 10, 16])
    expect(r.rate[3]).toBeCloseTo(16 + 16 * Math.log(2), 4)
    expect(r.rate[4]).toBeLessThan(200)
    expect(r.grad.slice(0, 3)).toEqual([1, 1, 1])
    expect(r.grad[3]).toBeCloseTo(0.5, 5)
    expect(r.grad[4]).toBeGreaterThan(0)
  })

  it('restoring_clamp() clamps, and passes a gradient outside the range only where descent leads back into it', () => {
    const r = python<{ out: number[], grad: number[] }>(`
import torch
from image_codec import restoring_clamp
x = torch.tensor([-3.0, -3.0, 5.0, 70.0, 70.0], requires_grad=True)
out = restoring_clamp(x, 0, 63)
(out * torch.tensor([-1.0, 1.0, 1.0, 1.0, -1.0])).sum().backward()
print(json.dumps({"out": out.tolist(), "grad": x.grad.tolist()}))
`)
    expect(r.out).toEqual([0, 0, 5, 63, 63])
    // below the range: a gradient of -1 (descent raises x) passes, +1 does not; above it the mirror
    expect(r.grad.map((g) => g + 0)).toEqual([-1, 0, 1, 1, 0])
  })
})

// Issue 16's bigger tool 2 (configs/image-codec-big.json: 128 hyper channels, 192 latent) through
// the whole export: its tables file parses in TypeScript and decodes the same indices there as in
// Python, bit for bit, before any GPU time is spent on it (the worst-case int32 bound at 128
// channels is checked in training.test.ts).
describe('the bigger tool 2 (configs/image-codec-big.json): the integer hyper-synthesis at 128 channels', () => {
  it('a freshly made big model exports its tables (every accumulator bound checked), and TypeScript\'s hyperSynthesis matches int_reference bit for bit', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { hyperSynthesis, parseCodecTables } = await import('../src/index.node.js')
    const dir = await mkdtemp(join(tmpdir(), 'aic-big-'))
    try {
      const file = join(dir, 'tables.bin')
      const r = python<{ z: number[], shape: number[], index: number[], bounds: number[], params: number }>(`
import torch
from image_codec import ImageCodec, int_reference, parameter_count
from export_image_codec import write_tables
cfg = json.load(open(${JSON.stringify(join(TRAINING, 'configs/image-codec-big.json'))}))
torch.manual_seed(7)
model = ImageCodec(cfg).eval()
layers = write_tables(model, cfg, ${JSON.stringify(file)})
g = torch.Generator().manual_seed(3)
z = torch.randint(-cfg["zmax"], cfg["zmax"] + 1, (1, cfg["hyper_latent"], 2, 3), generator=g)
index = int_reference(layers, z)
print(json.dumps({"z": z.flatten().tolist(), "shape": list(z.shape), "index": index.flatten().tolist(), "bounds": [L["accBound"] for L in layers], "params": parameter_count(model)}))
`)
      const tables = parseCodecTables(new Uint8Array(await readFile(file)), 'tables.bin')
      expect(tables.layers.map((l) => [l.cin, l.cout])).toEqual([[128, 128], [128, 128], [128, 192]])
      expect(tables.latent).toBe(192)
      for (const b of r.bounds) expect(b).toBeLessThan(2 ** 31)
      const [, channels, height, width] = r.shape as [number, number, number, number]
      const got = hyperSynthesis({ data: Int32Array.from(r.z), channels, height, width }, tables.layers)
      expect(got.length).toBe(192 * height * 4 * width * 4)
      expect(Array.from(got)).toEqual(r.index)
      // not a constant map: the random z gives many table indices
      expect(new Set(r.index).size).toBeGreaterThan(4)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
