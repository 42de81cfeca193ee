import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const SCRIPT = resolve(import.meta.dirname, '../training/prepare_data.py')

interface Item { file: string, package: string, licence: string, split: string, kind: string, frames?: number, size: number[], lowSize?: number[], source: string }

// The data preparation's smoke run on the Debian packages it reads (opencv-doc, python3-skimage,
// ffmpeg), with Debian's python3 as the issue asks.
describe('packages/aic/training/prepare_data.py --smoke', () => {
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
  })

  it('refuses a bad --val-share, naming it', () => {
    const res = spawnSync('/usr/bin/python3', [SCRIPT, '--val-share', '2', '--out', out], { encoding: 'utf8' })
    expect(res.status).not.toBe(0)
    expect(res.stderr).toMatch(/--val-share must be between 0 and 1, got 2/)
  })
})
