import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { lumaOf, msssim, psnr, ssim } from '../src/index.js'
import type { Plane } from '../src/index.js'

/** A deterministic test picture: smooth gradients, edges and a texture. */
function picture (w: number, h: number, seed: number): Plane {
  let s = seed
  const rand = (): number => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 }
  const data = new Uint8Array(w * h)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 120 + 60 * Math.sin(x / 13 + seed) * Math.cos(y / 17) + (x > w / 2 ? 40 : 0) + ((x >> 3) + (y >> 3)) % 2 * 20 + rand() * 10
      data[y * w + x] = Math.max(0, Math.min(255, Math.round(v)))
    }
  }
  return { width: w, height: h, data }
}

/** Degradations a codec might cause: noise, blur, coarse quantisation. */
function degrade (p: Plane, kind: 'noise' | 'blur' | 'quantise', seed = 7): Plane {
  const { width: w, height: h } = p
  const out = new Uint8Array(p.data.length)
  let s = seed
  const rand = (): number => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x
      let v = p.data[i]!
      if (kind === 'noise') v += (rand() - 0.5) * 40
      if (kind === 'blur') {
        let sum = 0; let n = 0
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
          const yy = Math.min(h - 1, Math.max(0, y + dy)); const xx = Math.min(w - 1, Math.max(0, x + dx))
          sum += p.data[yy * w + xx]!; n++
        }
        v = sum / n
      }
      if (kind === 'quantise') v = Math.round(v / 24) * 24
      out[i] = Math.max(0, Math.min(255, Math.round(v)))
    }
  }
  return { width: w, height: h, data: out }
}

const dir = mkdtempSync(join(tmpdir(), 'auralink-metrics-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

function pgm (p: Plane, name: string): string {
  const file = join(dir, name)
  writeFileSync(file, Buffer.concat([Buffer.from(`P5\n${p.width} ${p.height}\n255\n`), Buffer.from(p.data)]))
  return file
}

/** ffmpeg's own ssim and psnr filters on the same two gray pictures (it prints them on stderr). */
function ffmpegMetrics (ref: Plane, dist: Plane): { ssim: number, psnr: number } {
  const res = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', pgm(dist, 'd.pgm'), '-i', pgm(ref, 'r.pgm'), '-lavfi', '[0:v][1:v]ssim;[0:v][1:v]psnr', '-f', 'null', '-'], { encoding: 'utf8' })
  if (res.error != null) throw new Error(`ffmpeg could not run (${res.error.message}): scripts/setup.sh installs it (Debian package ffmpeg)`)
  const log = res.stderr
  const s = /SSIM Y:([\d.]+)/.exec(log)
  const p = /PSNR y:([\d.]+|inf)/.exec(log)
  if (res.status !== 0 || s?.[1] == null || p?.[1] == null) throw new Error(`could not read ffmpeg's figures (exit ${res.status}):\n${log}`)
  return { ssim: Number(s[1]), psnr: p[1] === 'inf' ? Infinity : Number(p[1]) }
}

describe('quality metrics against ffmpeg', () => {
  const cases: Array<[string, Plane, Plane]> = []
  // sizes that are multiples of 4, as video frames are (640x360, 1280x720): see ssim()'s doc for others
  for (const [w, h] of [[256, 192], [640, 360], [64, 48]] as const) {
    const ref = picture(w, h, w)
    for (const kind of ['noise', 'blur', 'quantise'] as const) cases.push([`${w}x${h} ${kind}`, ref, degrade(ref, kind)])
  }

  it.each(cases)('ssim() and psnr() agree with ffmpeg\'s ssim and psnr filters: %s', (_label, ref, dist) => {
    const theirs = ffmpegMetrics(ref, dist)
    // ffmpeg prints 6 decimals: agreement is to its rounding, well inside the 0.005 asked for
    expect(Math.abs(ssim(ref, dist) - theirs.ssim)).toBeLessThan(1e-5)
    expect(Math.abs(psnr(ref, dist) - theirs.psnr)).toBeLessThan(1e-5)
  })

  it('psnr() agrees with ffmpeg on any size; ssim() stays within 0.01 of ffmpeg where a 4-pixel border is partial', () => {
    const ref = picture(250, 190, 9)
    const dist = degrade(ref, 'noise')
    const theirs = ffmpegMetrics(ref, dist)
    expect(Math.abs(psnr(ref, dist) - theirs.psnr)).toBeLessThan(1e-5)
    expect(Math.abs(ssim(ref, dist) - theirs.ssim)).toBeLessThan(0.01)
  })

  it('psnr() of identical planes is Infinity and ssim() is 1', () => {
    const p = picture(64, 64, 3)
    expect(psnr(p, p)).toBe(Infinity)
    expect(ssim(p, p)).toBeCloseTo(1, 12)
    expect(msssim(picture(192, 192, 1), picture(192, 192, 1))).toBeCloseTo(1, 12)
  })

  it('msssim() ranks degradations like ssim() and stays in [0, 1]', () => {
    const ref = picture(256, 256, 5)
    const mild = degrade(ref, 'quantise')
    const strong = degrade(degrade(ref, 'noise'), 'blur')
    const m1 = msssim(ref, mild)
    const m2 = msssim(ref, strong)
    expect(m1).toBeGreaterThan(m2)
    expect(m1).toBeLessThan(1)
    expect(m2).toBeGreaterThan(0)
  })

  it('metrics refuse planes of different sizes or wrong data length, naming them', () => {
    const a = picture(64, 64, 1)
    expect(() => ssim(a, picture(64, 32, 1))).toThrow(/differ in size \(64x64 and 64x32\)/)
    expect(() => psnr(a, { width: 64, height: 64, data: new Uint8Array(10) })).toThrow(/b\.data has 10 bytes/)
    expect(() => ssim(picture(6, 6, 1), picture(6, 6, 1))).toThrow(/at least 8x8/)
    expect(() => msssim(a, a)).toThrow(/at least 176x176/)
  })

  it('lumaOf() turns RGBA into BT.601 luma', () => {
    const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255])
    expect(Array.from(lumaOf({ width: 2, height: 2, data: rgba, channels: 4 }).data)).toEqual([76, 150, 29, 255])
  })
})
