/**
 * Tool 1's adaptive mode, the sender's half (issue 20): the enhancer's last layer (its tail, a
 * convolution whose output is added to the bicubic skip path and pixel-shuffled to full size)
 * refitted to the sender's own frames by ridge regression, in closed form. The rest of the
 * network stays as shipped: given the body's features (plain inference, one more ONNX output)
 * the output is linear in the tail's weights, so the best tail for the frames seen is the
 * solution of a small linear system (73 unknowns per output channel for the fast 2x model), with
 * no backpropagation and no training runtime on the device. docs/aic-adaptive.md has the
 * measurement that chose this (packages/aic/training/adapt_probe.py's `refit-tail`).
 *
 * The fit is pulled toward the shipped weights and is scale-free: it solves
 * `(G + lambda * diag(G)) d = A^T r / N` for the change `d`, where `A` holds the sampled rows (a
 * block's unfolded features and 1 for the bias), `G = A^T A / N` and `r` is what the shipped
 * tail leaves: target - base - A w0; the bias is not penalised. Statistics add up over frames
 * (with an optional decay, so that older frames count less after the content changed); solving
 * costs one Cholesky factorisation.
 */

/** The tail convolution's shape: `outChannels x channels x kernel x kernel`, its stride and padding. */
export interface TailGeometry {
  channels: number
  outChannels: number
  kernel: number
  stride: number
  padding: number
}

/** One frame's share of the fit, all float32 in channel-major (CHW) order. */
export interface TailFitFrame {
  /** The body's output (the tail's input): channels x height x width. */
  features: Float32Array
  height: number
  width: number
  /**
   * What the network adds the tail's output to before the pixel shuffle (its skip path), and the
   * original pixels in the same arrangement (pixel-unshuffled): each outChannels x blocksHigh x
   * blocksWide, where blocks* is the tail's output size.
   */
  base: Float32Array
  target: Float32Array
}

/** The tail's weights: `weight` outChannels x channels x kernel x kernel, `bias` outChannels. */
export interface TailWeights {
  weight: Float32Array
  bias: Float32Array
}

/** Options of a TailFitter. */
export interface TailFitOptions {
  /** Ridge strength, relative to each unknown's own Gram diagonal, > 0 (it keeps the system solvable with few frames). @default 0.01 (the probe's) */
  lambda?: number
  /** Rows sampled from each frame added (block positions, drawn without replacement). @default 4096 */
  samplesPerFrame?: number
  /** Before a frame is added, what was gathered so far is multiplied by this (1: no forgetting). @default 1 */
  decay?: number
  /** Seed of the position sampler (a fit is then repeatable). @default 1 */
  seed?: number
}

/** The tail's output size for an input of `height` x `width`. */
export function tailOutputSize (g: TailGeometry, height: number, width: number): { blocksHigh: number, blocksWide: number } {
  return {
    blocksHigh: Math.floor((height + 2 * g.padding - g.kernel) / g.stride) + 1,
    blocksWide: Math.floor((width + 2 * g.padding - g.kernel) / g.stride) + 1
  }
}

/**
 * `rgb` (3 x (blocksHigh*out) x (blocksWide*out), CHW) rearranged as a pixel shuffle by `out`
 * would have made it: (3*out*out) x blocksHigh x blocksWide, channel `c*out*out + py*out + px`
 * at block (by, bx) holding pixel (c, by*out + py, bx*out + px). Rows and columns past the
 * blocks are left out.
 */
export function pixelUnshuffle (rgb: Float32Array, height: number, width: number, out: number, blocksHigh: number, blocksWide: number): Float32Array {
  if (rgb.length !== 3 * height * width) throw new RangeError(`pixelUnshuffle: ${rgb.length} values are not 3 x ${height} x ${width}`)
  if (blocksHigh * out > height || blocksWide * out > width) throw new RangeError(`pixelUnshuffle: ${blocksHigh}x${blocksWide} blocks of ${out} do not fit ${height}x${width}`)
  const res = new Float32Array(3 * out * out * blocksHigh * blocksWide)
  const plane = blocksHigh * blocksWide
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < out; py++) {
      for (let px = 0; px < out; px++) {
        const o = (c * out * out + py * out + px) * plane
        for (let by = 0; by < blocksHigh; by++) {
          const row = (c * height + by * out + py) * width + px
          for (let bx = 0; bx < blocksWide; bx++) res[o + by * blocksWide + bx] = rgb[row + bx * out]!
        }
      }
    }
  }
  return res
}

/** Gathers frames and solves for the tail (see the module's comment). */
export class TailFitter {
  private readonly g: TailGeometry
  private readonly n: number
  private readonly lambda: number
  private readonly samples: number
  private readonly decay: number
  private rng: number
  /** Sum of a a^T over the rows (n x n, float64) */
  private readonly gram: Float64Array
  /** Sum of a (target - base)^T over the rows (n x outChannels, float64) */
  private readonly cross: Float64Array
  private rows = 0

  constructor (geometry: TailGeometry, private readonly shipped: TailWeights, options: TailFitOptions = {}) {
    const { channels, outChannels, kernel, stride, padding } = geometry
    for (const [k, v] of Object.entries({ channels, outChannels, kernel, stride })) if (!Number.isInteger(v) || v < 1) throw new RangeError(`TailFitter: geometry.${k} must be a whole number >= 1, got ${v}`)
    if (!Number.isInteger(padding) || padding < 0 || padding >= kernel) throw new RangeError(`TailFitter: geometry.padding must be a whole number from 0 to kernel - 1, got ${padding}`)
    this.g = geometry
    this.n = channels * kernel * kernel + 1
    if (shipped.weight.length !== outChannels * (this.n - 1) || shipped.bias.length !== outChannels) {
      throw new RangeError(`TailFitter: the shipped tail must be ${outChannels}x${channels}x${kernel}x${kernel} and ${outChannels}, got ${shipped.weight.length} and ${shipped.bias.length} values`)
    }
    this.lambda = options.lambda ?? 0.01
    this.samples = options.samplesPerFrame ?? 4096
    this.decay = options.decay ?? 1
    if (!(this.lambda > 0) || !Number.isFinite(this.lambda)) throw new RangeError(`TailFitter: lambda must be a finite number > 0, got ${this.lambda}`)
    if (!Number.isInteger(this.samples) || this.samples < 1) throw new RangeError(`TailFitter: samplesPerFrame must be a whole number >= 1, got ${this.samples}`)
    if (!(this.decay > 0 && this.decay <= 1)) throw new RangeError(`TailFitter: decay must be in (0, 1], got ${this.decay}`)
    this.rng = (options.seed ?? 1) >>> 0 || 1
    this.gram = new Float64Array(this.n * this.n)
    this.cross = new Float64Array(this.n * outChannels)
  }

  /** Rows gathered so far (after decay, a weighted count). */
  get rowCount (): number { return this.rows }

  /**
   * Adds `samplesPerFrame` block positions of `frame` (all of them when it has fewer). With
   * `evaluate`, also returns how well each of those tails predicts this frame's sampled blocks
   * before they are added: the sum of squared errors over the rows and output channels (in the
   * frame's units), and how many values that sums (`values`).
   */
  add (frame: TailFitFrame, evaluate: readonly TailWeights[] = []): { values: number, sse: number[] } {
    const { channels, outChannels, kernel, stride, padding } = this.g
    const { height: h, width: w } = frame
    if (frame.features.length !== channels * h * w) throw new RangeError(`TailFitter.add: features must be ${channels} x ${h} x ${w}, got ${frame.features.length} values`)
    const { blocksHigh, blocksWide } = tailOutputSize(this.g, h, w)
    const blocks = blocksHigh * blocksWide
    if (frame.base.length !== outChannels * blocks || frame.target.length !== outChannels * blocks) {
      throw new RangeError(`TailFitter.add: base and target must be ${outChannels} x ${blocksHigh} x ${blocksWide}, got ${frame.base.length} and ${frame.target.length} values`)
    }
    if (this.decay < 1) {
      for (let i = 0; i < this.gram.length; i++) this.gram[i]! *= this.decay
      for (let i = 0; i < this.cross.length; i++) this.cross[i]! *= this.decay
      this.rows *= this.decay
    }
    const n = this.n
    const a = new Float64Array(n)
    const sse = evaluate.map(() => 0)
    let values = 0
    for (const pos of this.positions(blocks)) {
      const by = Math.floor(pos / blocksWide)
      const bx = pos % blocksWide
      // the block's unfolded input, in the weight's order (channel, ky, kx); zero outside the frame
      let k = 0
      for (let c = 0; c < channels; c++) {
        for (let ky = 0; ky < kernel; ky++) {
          const y = by * stride - padding + ky
          for (let kx = 0; kx < kernel; kx++) {
            const x = bx * stride - padding + kx
            a[k++] = y >= 0 && y < h && x >= 0 && x < w ? frame.features[(c * h + y) * w + x]! : 0
          }
        }
      }
      a[k] = 1
      for (let i = 0; i < n; i++) {
        const ai = a[i]!
        if (ai === 0) continue
        const row = i * n
        for (let j = i; j < n; j++) this.gram[row + j]! += ai * a[j]!
      }
      for (let o = 0; o < outChannels; o++) {
        const t = frame.target[o * blocks + pos]! - frame.base[o * blocks + pos]!
        for (let i = 0; i < n; i++) this.cross[i * outChannels + o]! += a[i]! * t
        for (let e = 0; e < evaluate.length; e++) {
          const w = evaluate[e]!
          let pred = w.bias[o]!
          for (let i = 0; i < n - 1; i++) pred += a[i]! * w.weight[o * (n - 1) + i]!
          sse[e]! += (t - pred) ** 2
        }
      }
      values += outChannels
      this.rows++
    }
    return { values, sse }
  }

  /** The tail fitted to the frames added so far (the shipped one before any). */
  solve (): TailWeights {
    const { outChannels } = this.g
    const n = this.n
    if (this.rows === 0) return { weight: this.shipped.weight.slice(), bias: this.shipped.bias.slice() }
    // G = gram / rows (mirrored from its upper triangle), the shipped weights as w0 (n x out)
    const G = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = this.gram[i * n + j]! / this.rows; G[i * n + j] = v; G[j * n + i] = v }
    const w0 = (i: number, o: number): number => i < n - 1 ? this.shipped.weight[o * (n - 1) + i]! : this.shipped.bias[o]!
    // rhs = cross / rows - G w0
    const rhs = new Float64Array(n * outChannels)
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outChannels; o++) {
        let s = this.cross[i * outChannels + o]! / this.rows
        for (let j = 0; j < n; j++) s -= G[i * n + j]! * w0(j, o)
        rhs[i * outChannels + o] = s
      }
    }
    for (let i = 0; i < n - 1; i++) G[i * n + i]! *= 1 + this.lambda
    // a frame region where every feature is 0 leaves a row of G empty: a tiny ridge keeps the system solvable
    for (let i = 0; i < n; i++) if (G[i * n + i]! <= 1e-12) G[i * n + i] = 1e-12
    const d = choleskySolve(G, rhs, n, outChannels)
    const weight = new Float32Array(outChannels * (n - 1))
    const bias = new Float32Array(outChannels)
    for (let o = 0; o < outChannels; o++) {
      for (let i = 0; i < n - 1; i++) weight[o * (n - 1) + i] = w0(i, o) + d[i * outChannels + o]!
      bias[o] = w0(n - 1, o) + d[(n - 1) * outChannels + o]!
    }
    return { weight, bias }
  }

  /** `count` distinct positions out of `blocks` (all of them when there are fewer), from the seeded generator. */
  private positions (blocks: number): Iterable<number> {
    if (blocks <= this.samples) return Array.from({ length: blocks }, (_, i) => i)
    const picked = new Set<number>()
    while (picked.size < this.samples) {
      // xorshift32
      let x = this.rng
      x ^= x << 13; x >>>= 0
      x ^= x >>> 17
      x ^= x << 5; x >>>= 0
      this.rng = x
      picked.add(x % blocks)
    }
    return picked
  }
}

/** Solves A X = B for symmetric positive definite A (n x n) and B (n x m), both row-major; throws when A is not. */
export function choleskySolve (A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`choleskySolve: the matrix is not positive definite (pivot ${i} is ${s})`)
        L[i * n + i] = Math.sqrt(s)
      } else {
        L[i * n + j] = s / L[j * n + j]!
      }
    }
  }
  const X = B.slice()
  for (let c = 0; c < m; c++) {
    // L y = b, then L^T x = y
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c]!
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * X[k * m + c]!
      X[i * m + c] = s / L[i * n + i]!
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c]!
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * X[k * m + c]!
      X[i * m + c] = s / L[i * n + i]!
    }
  }
  return X
}
