/**
 * Tool 2, the learned image codec: the bitstream and the runtime-independent encode and decode.
 *
 * Bitstream:
 *   byte 0          n, the length of the header (1..64)
 *   bytes 1..n      ImageHeader (protos/aic.proto): model_version, quality, width, height, hyper_bytes
 *   hyper_bytes     rANS stream of z_hat: hyperLatent x ceil(H/64) x ceil(W/64) symbols, channel c
 *                   coded with z table c
 *   the rest        rANS stream of y_hat: latent x ceil(H/16) x ceil(W/16) symbols, each with the
 *                   Gaussian table that the integer hyper-synthesis of z_hat picks
 *
 * Encoding pads the picture to multiples of 64 (edge pixels repeated); ONNX Runtime runs the
 * analysis (x -> y) and the hyper-analysis (y * gain -> z); y_hat = round(y * gain[q]) and
 * z_hat = round(z), clamped to what the tables code. Decoding needs no float step before the
 * synthesis: the indices come from integers alone (hyper-int.ts), so any runtime decodes the same
 * y_hat from the same bits; only the synthesis (y_hat * invGain[q] -> pixels) runs in floats.
 */
import { decodeImageHeader, encodeImageHeader, MAX_IMAGE_HEADER_BYTES } from '@auralink/protocol'
import { CorruptStreamError, InvalidStateError, ModelLoadError, StreamTooLargeError, TruncatedStreamError, UnsupportedModelVersionError } from './errors.js'
import { checkFrame } from './frame.js'
import { hyperSynthesis } from './hyper-int.js'
import { ransDecode, ransEncode } from './rans.js'
import type { Frame } from './frame.js'
import type { CodecTables } from './image-codec-tables.js'
import type { InferenceSession } from './runtime.js'
import type { Runtime } from './enhancer.js'

/** Largest picture side that decode() accepts unless the caller says otherwise. */
export const DEFAULT_MAX_SIDE = 4096
/** Largest bitstream that decode() reads unless the caller says otherwise: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024

/** Options of `createImageCodec()`. */
export interface ImageCodecInit {
  /** Which ONNX Runtime runs the transforms. 'auto': onnxruntime-node in Node. @default 'auto' */
  runtime?: Runtime
  /** Quality level for encode(), 0 (fewest bits) to `info.levels - 1`. decode() reads the level from the bitstream. @default 2 */
  quality?: number
  /** Threads for one transform. @default the runtime's own choice */
  threads?: number
  /** decode() refuses pictures wider than this. @default 4096 */
  maxWidth?: number
  /** decode() refuses pictures taller than this. @default 4096 */
  maxHeight?: number
  /** decode() refuses bitstreams longer than this. @default 64 MiB */
  maxBytes?: number
  /** A folder with manifest.json and the codec's four files instead of the shipped ones (Node). */
  modelDir?: string
}

/** What an image codec runs on (`codec.info`). */
export interface ImageCodecInfo {
  runtime: Exclude<Runtime, 'auto'>
  /** The execution provider that runs the transforms ('cpu' in onnxruntime-node). */
  executionProvider: string
  /** The level encode() uses. */
  quality: number
  /** How many levels the model has. */
  levels: number
  threads?: number
  model: { name: string, version: number, files: string[] }
  /** Milliseconds from createImageCodec() to ready sessions. */
  loadMs: number
}

/** Options of one image codec `encode()` or `decode()` call. */
export interface CodecCallOptions {
  signal?: AbortSignal
  /** encode(): the level for this picture, 0 to `info.levels - 1`. @default `info.quality` */
  quality?: number
}

/** Tool 2: RGBA frames to bytes and back. */
export interface ImageCodec {
  readonly info: ImageCodecInfo
  /** Codes an RGBA frame at `info.quality`. */
  encode(frame: Frame, options?: CodecCallOptions): Promise<Uint8Array>
  /**
   * Decodes a bitstream to an RGBA frame. Throws TruncatedStreamError, CorruptStreamError,
   * StreamTooLargeError (over maxBytes, maxWidth or maxHeight) or UnsupportedModelVersionError.
   */
  decode(bytes: Uint8Array, options?: CodecCallOptions): Promise<Frame>
  /** Releases the sessions; idempotent. Calls after close() throw InvalidStateError. */
  close(): Promise<void>
}

export interface ImageCodecSessions {
  analysis: InferenceSession
  hyperAnalysis: InferenceSession
  synthesis: InferenceSession
}

export interface ParsedStream {
  modelVersion: number
  quality: number
  width: number
  height: number
  zBytes: Uint8Array
  yBytes: Uint8Array
}

export interface StreamLimits {
  maxWidth: number
  maxHeight: number
  maxBytes: number
}

const ceilTo = (n: number, m: number): number => Math.ceil(n / m) * m

/** Splits a bitstream into its header fields and its two rANS streams, with the limits checked. */
export function parseImageStream (bytes: Uint8Array, limits: StreamLimits): ParsedStream {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`)
  if (bytes.length > limits.maxBytes) throw new StreamTooLargeError(`a ${bytes.length}-byte bitstream is over the limit of ${limits.maxBytes} bytes`)
  if (bytes.length < 1) throw new TruncatedStreamError('an empty bitstream')
  const n = bytes[0]!
  if (n < 1 || n > MAX_IMAGE_HEADER_BYTES) throw new CorruptStreamError(`header length ${n} is not from 1 to ${MAX_IMAGE_HEADER_BYTES}`)
  if (bytes.length < 1 + n) throw new TruncatedStreamError(`the bitstream ends inside its ${n}-byte header (${bytes.length} bytes)`)
  let h: ReturnType<typeof decodeImageHeader>
  try {
    h = decodeImageHeader(bytes.subarray(1, 1 + n))
  } catch (err) {
    throw new CorruptStreamError(`the ImageHeader does not decode (${(err as Error).message})`, { cause: err })
  }
  const { modelVersion, quality, width, height, hyperBytes } = h
  if (width < 1 || height < 1) throw new CorruptStreamError(`picture size ${width}x${height}`)
  if (width > limits.maxWidth || height > limits.maxHeight) throw new StreamTooLargeError(`a ${width}x${height} picture is over the limit of ${limits.maxWidth}x${limits.maxHeight}`)
  const rest = bytes.length - 1 - n
  if (hyperBytes > rest) throw new TruncatedStreamError(`the header announces ${hyperBytes} bytes of hyperprior, ${rest} bytes follow it`)
  return {
    modelVersion, quality, width, height,
    zBytes: bytes.subarray(1 + n, 1 + n + hyperBytes),
    yBytes: bytes.subarray(1 + n + hyperBytes)
  }
}

/** Puts the header and the two streams together. */
export function writeImageStream (fields: { modelVersion: number, quality: number, width: number, height: number }, zBytes: Uint8Array, yBytes: Uint8Array): Uint8Array {
  const header = encodeImageHeader({ ...fields, hyperBytes: zBytes.length })
  const out = new Uint8Array(1 + header.length + zBytes.length + yBytes.length)
  out[0] = header.length
  out.set(header, 1)
  out.set(zBytes, 1 + header.length)
  out.set(yBytes, 1 + header.length + zBytes.length)
  return out
}

/** RGBA frame -> planar RGB in [0, 1], padded to multiples of 64 by repeating the edge pixels. */
export function paddedTensor (frame: Frame): { data: Float32Array, height: number, width: number } {
  const { width, height, data } = frame
  const hp = ceilTo(height, 64)
  const wp = ceilTo(width, 64)
  const n = hp * wp
  const out = new Float32Array(3 * n)
  for (let y = 0; y < hp; y++) {
    const sy = Math.min(y, height - 1)
    for (let x = 0; x < wp; x++) {
      const p = (sy * width + Math.min(x, width - 1)) * 4
      const i = y * wp + x
      out[i] = data[p]! / 255
      out[n + i] = data[p + 1]! / 255
      out[2 * n + i] = data[p + 2]! / 255
    }
  }
  return { data: out, height: hp, width: wp }
}

/** The synthesis output (3 x hp x wp) cut to width x height, as RGBA (rounded, clamped, alpha 255). */
export function croppedFrame (tensor: Float32Array, wp: number, hp: number, width: number, height: number): Frame {
  const data = new Uint8ClampedArray(width * height * 4)
  const n = hp * wp
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * wp + x
      const p = (y * width + x) * 4
      data[p] = tensor[i]! * 255
      data[p + 1] = tensor[n + i]! * 255
      data[p + 2] = tensor[2 * n + i]! * 255
      data[p + 3] = 255
    }
  }
  return { width, height, data }
}

export interface SessionImageCodecOptions extends StreamLimits {
  quality: number
  version: number
}

function checkDims (what: string, file: string, dims: readonly number[], want: number[]): void {
  if (dims.length !== 4 || want.some((v, i) => dims[i] !== v)) throw new ModelLoadError(file, `${what} output is ${dims.join('x')}, expected ${want.join('x')}`)
}

/** The runtime-independent codec over three sessions and the parsed tables. */
export class SessionImageCodec implements ImageCodec {
  readonly info: ImageCodecInfo
  private sessions?: ImageCodecSessions
  private readonly tables: CodecTables
  private readonly opts: SessionImageCodecOptions
  private readonly files: { analysis: string, hyperAnalysis: string, synthesis: string }

  constructor (sessions: ImageCodecSessions, tables: CodecTables, opts: SessionImageCodecOptions, info: ImageCodecInfo, files: { analysis: string, hyperAnalysis: string, synthesis: string }) {
    this.sessions = sessions
    this.tables = tables
    this.opts = opts
    this.info = info
    this.files = files
  }

  private open (call: string): ImageCodecSessions {
    if (this.sessions === undefined) throw new InvalidStateError(`${call}() on a closed image codec`)
    return this.sessions
  }

  async encode (frame: Frame, options: CodecCallOptions = {}): Promise<Uint8Array> {
    const sessions = this.open('encode')
    checkFrame(frame, 'frame')
    const { width, height } = frame
    if (width > this.opts.maxWidth || height > this.opts.maxHeight) throw new RangeError(`frame is ${width}x${height}, over the codec's limit of ${this.opts.maxWidth}x${this.opts.maxHeight} (maxWidth, maxHeight)`)
    options.signal?.throwIfAborted()
    const t = this.tables
    const q = options.quality ?? this.opts.quality
    if (!Number.isInteger(q) || q < 0 || q >= t.levels) throw new RangeError(`options.quality must be a whole level from 0 to ${t.levels - 1}, got ${String(q)}`)
    const x = paddedTensor(frame)
    const h16 = x.height / 16
    const w16 = x.width / 16
    const h64 = x.height / 64
    const w64 = x.width / 64
    const y = await sessions.analysis.run(x.data, [1, 3, x.height, x.width])
    checkDims('analysis', this.files.analysis, y.dims, [1, t.latent, h16, w16])
    options.signal?.throwIfAborted()
    const plane = h16 * w16
    const gains = t.gains[q]!
    const ys = new Float32Array(y.data.length)
    for (let c = 0; c < t.latent; c++) {
      const g = gains[c]!
      for (let i = c * plane; i < (c + 1) * plane; i++) ys[i] = y.data[i]! * g
    }
    const z = await sessions.hyperAnalysis.run(ys, [1, t.latent, h16, w16])
    checkDims('hyper-analysis', this.files.hyperAnalysis, z.dims, [1, t.hyperLatent, h64, w64])
    options.signal?.throwIfAborted()
    const zPlane = h64 * w64
    const zHat = new Int32Array(z.data.length)
    const zSymbols = new Uint32Array(z.data.length)
    const zIndex = new Uint16Array(z.data.length)
    for (let i = 0; i < zHat.length; i++) {
      const v = Math.min(t.zmax, Math.max(-t.zmax, Math.floor(z.data[i]! + 0.5)))
      zHat[i] = v
      zSymbols[i] = v + t.zmax
      zIndex[i] = Math.floor(i / zPlane)
    }
    const index = hyperSynthesis({ data: zHat, channels: t.hyperLatent, height: h64, width: w64 }, t.layers)
    const ySymbols = new Uint32Array(ys.length)
    for (let i = 0; i < ys.length; i++) {
      const r = t.radii[index[i]!]!
      const v = Math.floor(ys[i]! + 0.5)
      ySymbols[i] = (v < -r ? -r : v > r ? r : v) + r
    }
    const zBytes = ransEncode(zSymbols, zIndex, t.zCdfs)
    const yBytes = ransEncode(ySymbols, index, t.yCdfs)
    return writeImageStream({ modelVersion: this.opts.version, quality: q, width, height }, zBytes, yBytes)
  }

  async decode (bytes: Uint8Array, options: CodecCallOptions = {}): Promise<Frame> {
    const sessions = this.open('decode')
    const s = parseImageStream(bytes, this.opts)
    const t = this.tables
    if (s.modelVersion !== this.opts.version) throw new UnsupportedModelVersionError(s.modelVersion, this.opts.version)
    if (s.quality >= t.levels) throw new CorruptStreamError(`quality ${s.quality} is not one of the model's ${t.levels} levels`)
    const hp = ceilTo(s.height, 64)
    const wp = ceilTo(s.width, 64)
    const h16 = hp / 16
    const w16 = wp / 16
    const { index, ySymbols } = decodeSymbols(s, t)
    const yCount = ySymbols.length
    options.signal?.throwIfAborted()
    const plane = h16 * w16
    const inv = t.invGains[s.quality]!
    const yHat = new Float32Array(yCount)
    for (let c = 0; c < t.latent; c++) {
      const g = inv[c]!
      for (let i = c * plane; i < (c + 1) * plane; i++) yHat[i] = (ySymbols[i]! - t.radii[index[i]!]!) * g
    }
    const x = await sessions.synthesis.run(yHat, [1, t.latent, h16, w16])
    checkDims('synthesis', this.files.synthesis, x.dims, [1, 3, hp, wp])
    options.signal?.throwIfAborted()
    return croppedFrame(x.data, wp, hp, s.width, s.height)
  }

  async close (): Promise<void> {
    const sessions = this.sessions
    this.sessions = undefined
    if (sessions !== undefined) await Promise.all([sessions.analysis.release(), sessions.hyperAnalysis.release(), sessions.synthesis.release()])
  }
}

/**
 * The integer half of a decode, before any float step: z from its rANS stream, the integer
 * hyper-synthesis of z_hat (the Gaussian table index of every y value), and the y symbols coded
 * with those tables. Bit-identical in every runtime; the tests compare it across runtimes.
 */
export function decodeSymbols (s: ParsedStream, t: CodecTables): { index: Uint8Array, ySymbols: Uint32Array } {
  const h64 = ceilTo(s.height, 64) / 64
  const w64 = ceilTo(s.width, 64) / 64
  const zPlane = h64 * w64
  const zCount = t.hyperLatent * zPlane
  const zIndex = new Uint16Array(zCount)
  for (let i = 0; i < zCount; i++) zIndex[i] = Math.floor(i / zPlane)
  const zSymbols = ransDecode(s.zBytes, zCount, zIndex, t.zCdfs, { maxSymbols: zCount })
  const zHat = new Int32Array(zCount)
  for (let i = 0; i < zCount; i++) zHat[i] = zSymbols[i]! - t.zmax
  const index = hyperSynthesis({ data: zHat, channels: t.hyperLatent, height: h64, width: w64 }, t.layers)
  const yCount = t.latent * zPlane * 16
  const ySymbols = ransDecode(s.yBytes, yCount, index, t.yCdfs, { maxSymbols: yCount })
  return { index, ySymbols }
}

/** Checks ImageCodecInit's fields (names the bad one); returns them resolved. */
export function resolveImageCodecInit (init: ImageCodecInit, runtimes: ReadonlyArray<Exclude<Runtime, 'auto'>>): Required<Pick<ImageCodecInit, 'quality' | 'maxWidth' | 'maxHeight' | 'maxBytes'>> & { runtime: Exclude<Runtime, 'auto'>, threads?: number, modelDir?: string } {
  const runtime = init.runtime ?? 'auto'
  if (!['auto', 'webgpu', 'wasm', 'node'].includes(runtime)) throw new RangeError(`runtime must be 'auto', 'webgpu', 'wasm' or 'node', got ${JSON.stringify(runtime)}`)
  const chosen = runtime === 'auto' ? runtimes[0]! : runtime
  if (!runtimes.includes(chosen)) throw new RangeError(`runtime '${runtime}' does not run here; this build of @auralink/aic offers ${runtimes.map((r) => `'${r}'`).join(', ')} (and 'auto')`)
  const quality = init.quality ?? 2
  if (!Number.isInteger(quality) || quality < 0) throw new RangeError(`quality must be a whole number >= 0, got ${String(quality)}`)
  const side = (name: string, v: number | undefined, d: number): number => {
    const n = v ?? d
    if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError(`${name} must be a whole number from 1 to 65536, got ${String(v)}`)
    return n
  }
  const maxBytes = init.maxBytes ?? DEFAULT_MAX_BYTES
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a whole number >= 1, got ${String(init.maxBytes)}`)
  if (init.threads !== undefined && (!Number.isInteger(init.threads) || init.threads < 1 || init.threads > 64)) throw new RangeError(`threads must be a whole number from 1 to 64, got ${String(init.threads)}`)
  if (init.modelDir !== undefined && (typeof init.modelDir !== 'string' || init.modelDir === '')) throw new TypeError(`modelDir must be a non-empty string, got ${String(init.modelDir)}`)
  return {
    runtime: chosen, quality,
    maxWidth: side('maxWidth', init.maxWidth, DEFAULT_MAX_SIDE),
    maxHeight: side('maxHeight', init.maxHeight, DEFAULT_MAX_SIDE),
    maxBytes,
    ...(init.threads !== undefined ? { threads: init.threads } : {}),
    ...(init.modelDir !== undefined ? { modelDir: init.modelDir } : {})
  }
}
