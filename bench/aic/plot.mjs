// Draws bench/results/aic-enhance.json as SVG rate-quality plots for docs/aic.md (with the 1.5x arms where it has them):
// docs/img/aic-enhance-<res>-<metric>.svg, one line per method (mean over the clips of that
// resolution at each target rate).   node bench/aic/plot.mjs
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from '../lib.mjs'

const result = JSON.parse(readFileSync(join(root, 'bench/results/aic-enhance.json'), 'utf8'))
const METHODS = [['vp8', 'VP8 at full size', '#666'], ['bicubic', 'VP8 at half size + bicubic', '#1f77b4'], ['aic', 'VP8 at half size + AIC', '#d62728']]
// the 1.5x arms, where the run measured them
if (result.clips[0]?.points[0]?.aic1_5 !== undefined) METHODS.push(['bicubic1_5', 'VP8 at 2/3 size + bicubic', '#2ca02c'], ['aic1_5', 'VP8 at 2/3 size + AIC 1.5x', '#ff7f0e'])
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length
const W = 760
const H = 360
const M = { l: 60, r: 210, t: 30, b: 50 }

/** A round tick step near `x`: 1, 2, 2.5 or 5 times a power of ten. */
function nice (x) {
  const p = 10 ** Math.floor(Math.log10(x))
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= x)
}

function plot (clips, metric, title) {
  const curves = METHODS.map(([key, label, color]) => ({
    label, color,
    points: result.rates.map((_, k) => [mean(clips.map((c) => c.points[k][key].kbps)), mean(clips.map((c) => c.points[k][key][metric]))])
  }))
  const all = curves.flatMap((c) => c.points)
  const xStep = nice(Math.max(...all.map((p) => p[0])) / 5)
  const [x0, x1] = [0, Math.ceil(Math.max(...all.map((p) => p[0])) * 1.02 / xStep) * xStep]
  const ys = all.map((p) => p[1])
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.08 || 0.01
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad]
  const sx = (x) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r)
  const sy = (y) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b)
  const ticks = (a, b, n) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n)
  const fmt = (y) => (metric === 'ssim' ? y.toFixed(3) : y.toFixed(1))
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - M.r + M.l) / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`]
  for (const t of ticks(x0, x1, Math.round(x1 / xStep))) out.push(`<line x1="${sx(t)}" y1="${M.t}" x2="${sx(t)}" y2="${H - M.b}" stroke="#eee"/><text x="${sx(t)}" y="${H - M.b + 16}" text-anchor="middle">${Math.round(t)}</text>`)
  for (const t of ticks(y0, y1, 5)) out.push(`<line x1="${M.l}" y1="${sy(t)}" x2="${W - M.r}" y2="${sy(t)}" stroke="#eee"/><text x="${M.l - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`)
  out.push(`<text x="${(W - M.r + M.l) / 2}" y="${H - 12}" text-anchor="middle">kbps (coded VP8, steady state)</text>`)
  out.push(`<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">luma ${metric === 'ssim' ? 'SSIM' : 'PSNR (dB)'}</text>`)
  curves.forEach((c, i) => {
    out.push(`<polyline fill="none" stroke="${c.color}" stroke-width="2" points="${c.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')}"/>`)
    for (const p of c.points) out.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${c.color}"/>`)
    out.push(`<rect x="${W - M.r + 12}" y="${M.t + 10 + 18 * i}" width="12" height="3" fill="${c.color}"/><text x="${W - M.r + 30}" y="${M.t + 15 + 18 * i}">${c.label}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

mkdirSync(join(root, 'docs/img'), { recursive: true })
for (const res of ['360p', '720p']) {
  const clips = result.clips.filter((c) => `${c.height}p` === res)
  if (clips.length === 0) continue
  for (const metric of ['ssim', 'psnr']) {
    const file = join(root, `docs/img/aic-enhance-${res}-${metric}.svg`)
    writeFileSync(file, plot(clips, metric, `Tool 1 at ${res}: ${metric.toUpperCase()} against rate (${clips.length} held-out clips)`))
    console.log(`wrote ${file}`)
  }
}
