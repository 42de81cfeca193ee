/**
 * Tool 2's hyper-synthesis in integer arithmetic (Balle, Johnston and Minnen 2019, "Integer
 * networks for data compression"): z_hat -> the index of the Gaussian scale table for every
 * element of y. The encoder and every decoder must pick the same table for every symbol, and
 * float results differ between runtimes (CPU, WASM, WebGPU) in their last bits, so this path has
 * no floats at all: int16 weights, int32 accumulators, a rounding right shift per output channel,
 * a clamp (the ReLU, and the index range). Layer by layer:
 *
 *   a = upsample2(a)                       (nearest; layers marked `upsample`)
 *   acc[o] = bias[o] + sum over i, ky, kx of w[o, i, ky, kx] * a[i, y + ky - 1, x + kx - 1]   (zero padding)
 *   out[o] = clamp((acc[o] + 2^(shift[o] - 1)) >> shift[o], lo, hi)
 *
 * parseCodecTables has checked that no accumulator can leave int32 for any input in range, so
 * every sum here is an exact integer (JavaScript numbers are exact to 2^53; `>>` is int32's
 * arithmetic shift, i.e. floor division). training/image_codec.py's int_reference is the same
 * computation in Python; the tests compare the two on a fixture.
 */
import type { IntConvLayer } from './image-codec-tables.js'

export interface IntPlanes {
  /** channels x height x width, row-major. */
  data: Int32Array
  channels: number
  height: number
  width: number
}

function upsample2 (a: IntPlanes): IntPlanes {
  const { channels: c, height: h, width: w } = a
  const out = new Int32Array(c * 4 * h * w)
  const w2 = 2 * w
  for (let ch = 0; ch < c; ch++) {
    const src = ch * h * w
    const dst = ch * 4 * h * w
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = a.data[src + y * w + x]!
        const o = dst + 2 * y * w2 + 2 * x
        out[o] = v
        out[o + 1] = v
        out[o + w2] = v
        out[o + w2 + 1] = v
      }
    }
  }
  return { data: out, channels: c, height: 2 * h, width: 2 * w }
}

/** One integer layer. */
export function intConv (input: IntPlanes, layer: IntConvLayer): IntPlanes {
  const a = layer.upsample ? upsample2(input) : input
  const { height: h, width: w } = a
  if (a.channels !== layer.cin) throw new RangeError(`the layer takes ${layer.cin} channels, got ${a.channels}`)
  const hw = h * w
  const out = new Int32Array(layer.cout * hw)
  const acc = new Int32Array(hw)
  const { weights, bias, shift, lo, hi, cin } = layer
  for (let o = 0; o < layer.cout; o++) {
    acc.fill(bias[o]!)
    for (let i = 0; i < cin; i++) {
      const plane = i * hw
      for (let ky = 0; ky < 3; ky++) {
        const dy = ky - 1
        const y0 = Math.max(0, -dy)
        const y1 = Math.min(h, h - dy)
        for (let kx = 0; kx < 3; kx++) {
          const wv = weights[((o * cin + i) * 3 + ky) * 3 + kx]!
          if (wv === 0) continue
          const dx = kx - 1
          const x0 = Math.max(0, -dx)
          const x1 = Math.min(w, w - dx)
          for (let y = y0; y < y1; y++) {
            const row = y * w
            const src = plane + (y + dy) * w + dx
            for (let x = x0; x < x1; x++) acc[row + x]! += wv * a.data[src + x]!
          }
        }
      }
    }
    const s = shift[o]!
    const half = 1 << (s - 1)
    const base = o * hw
    for (let p = 0; p < hw; p++) {
      const v = (acc[p]! + half) >> s
      out[base + p] = v < lo ? lo : v > hi ? hi : v
    }
  }
  return { data: out, channels: layer.cout, height: h, width: w }
}

/**
 * z_hat (hyperLatent x h x w integers) -> scale-table indices (latent x 4h x 4w), one per
 * element of y.
 */
export function hyperSynthesis (zHat: IntPlanes, layers: readonly IntConvLayer[]): Uint8Array {
  let a = zHat
  for (const layer of layers) a = intConv(a, layer)
  return Uint8Array.from(a.data)
}
