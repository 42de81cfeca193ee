/**
 * Still images in calls (call.sendImage(), the call's `image` event; docs/images.md): what a side
 * decodes (ImageCodecs, sent once by each side when a call is accepted), the codec a sender picks,
 * pixels in and out. Tool 2, @auralink/aic's learned image codec, is imported when the client
 * starts (to name its model version) and loaded on first use; WebP and JPEG go through the
 * browser's own canvas. An incoming picture's size is read from its header and checked before
 * anything decodes it.
 */
import { ImageFailedError } from './errors.js'
import type { AbortOptions, Logger } from '@libp2p/interface'

/** The codecs a still goes in: tool 2 (the learned image codec), WebP, JPEG. */
export type ImageCodecKind = 'aic' | 'webp' | 'jpeg'

export const WEBP = 'image/webp'
export const JPEG = 'image/jpeg'
const AIC_PREFIX = 'aic-image/'
/** The wire name of tool 2 at one model version (ImageCodecs, a FileOffer's mime_type). */
export const aicCodecId = (version: number): string => `${AIC_PREFIX}${version}`
/** Most entries of an ImageCodecs list, and the longest (protos/signal.proto). */
export const MAX_IMAGE_CODECS = 8
export const MAX_IMAGE_CODEC_CHARS = 32
/** The largest side of a picture sent, unless sendImage() is told otherwise: larger ones are scaled down. */
export const DEFAULT_SEND_MAX_SIDE = 1920
/** The largest side of a picture received (images.maxSide). */
export const DEFAULT_RECEIVE_MAX_SIDE = 4096
/**
 * Whether tool 2 is offered unless `images.learned` says: not while the shipped model (version 2)
 * needs about 5 times JPEG's bytes at equal PSNR (docs/images.md). Turn it on by default with the
 * first model that beats mozjpeg.
 */
export const DEFAULT_LEARNED_IMAGES = false
/** sendImage()'s quality unless told otherwise (0 to 1). */
export const DEFAULT_IMAGE_QUALITY = 0.5

/** The codec a wire name stands for; undefined for names this version does not know. */
export function kindOf (id: string): ImageCodecKind | undefined {
  if (id === WEBP) return 'webp'
  if (id === JPEG) return 'jpeg'
  return /^aic-image\/[1-9][0-9]{0,8}$/.test(id) ? 'aic' : undefined
}

/** A peer's ImageCodecs list, checked: at most 8 names of at most 32 characters; TypeError naming what is wrong. Names this version does not know are kept (and never chosen). */
export function checkImageCodecs (codecs: readonly string[] | null | undefined): string[] {
  const list = codecs ?? []
  if (list.length > MAX_IMAGE_CODECS) throw new TypeError(`ImageCodecs.codecs has ${list.length} entries, over ${MAX_IMAGE_CODECS}`)
  list.forEach((c, i) => {
    if (typeof c !== 'string' || c.length > MAX_IMAGE_CODEC_CHARS) throw new TypeError(`ImageCodecs.codecs[${i}] must be a name of at most ${MAX_IMAGE_CODEC_CHARS} characters`)
  })
  return [...list]
}

/** RGBA pixels, as ImageData holds them (an ImageData is one). */
export interface ImagePixels {
  width: number
  height: number
  data: Uint8ClampedArray
}

/** RGBA pixels in either kind of byte array. */
export interface RawPixels {
  width: number
  height: number
  data: Uint8ClampedArray | Uint8Array
}

/** What sendImage() takes: an encoded picture (a Blob or File), an ImageBitmap, ImageData, or RGBA pixels (Node: pixels only). */
export type ImageInput = Blob | ImageBitmap | ImageData | RawPixels

/** Options of `call.sendImage()`. */
export interface SendImageOptions extends AbortOptions {
  /**
   * 0 (fewest bytes) to 1 (best picture). Tool 2 spreads its levels over it (5 levels: 0, 0.25,
   * 0.5, 0.75, 1 are levels 0 to 4, others the nearest); WebP and JPEG take it as the encoder's
   * quality.
   * @default 0.5
   */
  quality?: number
  /** A picture with a side over this is scaled down (aspect kept) before it is coded. @default 1920 */
  maxSide?: number
}

/** What `call.sendImage()` resolves with, once the peer has the bytes. */
export interface SentImage {
  codec: ImageCodecKind
  /** The wire name of the codec ('aic-image/2', 'image/webp', 'image/jpeg'). */
  mimeType: string
  /** Bytes sent. */
  bytes: number
  width: number
  height: number
  /** The coded picture, as sent. */
  data: Uint8Array
  /** The picture as the peer decodes it (for tool 2 a decode of `data`; WebP and JPEG through the browser's decoder). */
  decode(): Promise<ImagePixels>
}

/** The payload of a call's `image` event. */
export interface ReceivedImage {
  codec: ImageCodecKind
  mimeType: string
  /** Bytes received. */
  bytes: number
  width: number
  height: number
  /** The decoded picture (an ImageData in browsers). */
  image: ImagePixels
  /** The coded picture, as received. */
  data: Uint8Array
}

/** The payload of a call's `image:failed` event: a still arrived and could not be shown. Nothing is dropped: the bytes are here. */
export interface ImageFailure {
  mimeType: string
  codec?: ImageCodecKind
  bytes: number
  data?: Uint8Array
  error: ImageFailedError | Error
}

/** Still images in calls (AuraLinkInit `images`). */
export interface ImagesInit {
  /**
   * Offer and use tool 2, the learned image codec of @auralink/aic (its model is loaded on the
   * first picture that needs it). Off by default while the shipped model needs more bytes than
   * JPEG for the same picture quality (docs/images.md has the figures): on, a picture to a peer
   * that also has it goes in tool 2; off, WebP and JPEG only.
   * @default false
   */
  learned?: boolean
  /** Where tool 2's four files are served (browsers), for apps whose bundler does not copy them. @default beside @auralink/aic's module */
  modelBaseUrl?: string
  /** The largest side of a picture this side decodes; larger ones are refused unread (`image:failed`, 'too-large'). @default 4096 */
  maxSide?: number
}

/** Checks `init.images`; TypeError or RangeError naming the bad field. */
export function checkImagesInit (images: ImagesInit | undefined): void {
  if (images === undefined) return
  const what = 'AuraLink.create(init): init.images'
  if (images === null || typeof images !== 'object') throw new TypeError(`${what} must be an object, got ${images === null ? 'null' : typeof images}`)
  if (images.learned !== undefined && typeof images.learned !== 'boolean') throw new TypeError(`${what}.learned must be a boolean, got ${JSON.stringify(images.learned)}`)
  if (images.modelBaseUrl !== undefined && (typeof images.modelBaseUrl !== 'string' || images.modelBaseUrl === '')) throw new TypeError(`${what}.modelBaseUrl must be a non-empty string, got ${JSON.stringify(images.modelBaseUrl)}`)
  checkSide(images.maxSide, `${what}.maxSide`)
}

function checkSide (v: unknown, what: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 16 || v > 16384)) throw new RangeError(`${what} must be a whole number of pixels from 16 to 16384, got ${String(v)}`)
}

/** Checks sendImage()'s options; returns quality and maxSide. */
export function checkSendOptions (options: SendImageOptions): { quality: number, maxSide: number } {
  if (options === null || typeof options !== 'object') throw new TypeError(`sendImage(image, options): options must be an object, got ${options === null ? 'null' : typeof options}`)
  const q = options.quality ?? DEFAULT_IMAGE_QUALITY
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new RangeError(`sendImage(image, options): options.quality must be from 0 to 1, got ${String(q)}`)
  checkSide(options.maxSide, 'sendImage(image, options): options.maxSide')
  return { quality: q, maxSide: options.maxSide ?? DEFAULT_SEND_MAX_SIDE }
}

/** Tool 2's level for a 0-1 quality: the nearest of `levels` spread evenly. */
export const levelFor = (quality: number, levels: number): number => Math.round(quality * (levels - 1))

/** What the SDK uses of @auralink/aic's image codec. */
export interface LearnedCodec {
  readonly info: { levels: number, model: { version: number } }
  encode(frame: { width: number, height: number, data: Uint8ClampedArray | Uint8Array }, options?: { signal?: AbortSignal, quality?: number }): Promise<Uint8Array>
  decode(bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<{ width: number, height: number, data: Uint8ClampedArray | Uint8Array }>
  close(): Promise<void>
}

interface AicImageModule {
  createImageCodec(init: Record<string, unknown>): Promise<LearnedCodec>
  shippedImageCodecVersion(): number
}

/** Whether this runtime has what WebP and JPEG take here: createImageBitmap and OffscreenCanvas (browsers and their workers). */
export function hasCanvas (): boolean {
  const g = globalThis as Record<string, unknown>
  return typeof g.createImageBitmap === 'function' && typeof g.OffscreenCanvas === 'function'
}

/** @internal the client's still-image codecs: what it decodes, tool 2 loaded on first use */
export class ClientImages {
  private readonly version: Promise<number | undefined>
  private codecP: Promise<LearnedCodec> | undefined
  private readonly maxSide: number

  constructor (private readonly init: ImagesInit & { wasmPaths?: unknown, threads?: number }, private readonly log: Logger, load: () => Promise<unknown> = async () => import('@auralink/aic')) {
    this.maxSide = init.maxSide ?? DEFAULT_RECEIVE_MAX_SIDE
    this.version = (init.learned ?? DEFAULT_LEARNED_IMAGES) === false
      ? Promise.resolve(undefined)
      : load().then((m) => (m as AicImageModule).shippedImageCodecVersion(), (err: Error) => {
        this.log('the learned image codec is not offered: @auralink/aic did not load: %s', err.message)
        return undefined
      })
  }

  /** The largest side of a picture this side decodes. */
  get receiveMaxSide (): number { return this.maxSide }

  /** The codecs this client decodes, best first (its ImageCodecs). */
  async decoders (): Promise<string[]> {
    const version = await this.version
    return [...(version !== undefined ? [aicCodecId(version)] : []), ...(hasCanvas() ? [WEBP, JPEG] : [])]
  }

  /** Tool 2's model version here, when it is offered. */
  async learnedVersion (): Promise<number | undefined> { return this.version }

  /** Tool 2, loaded on first use (a failed load is tried again next time). */
  async learned (): Promise<LearnedCodec> {
    this.codecP ??= (async () => {
      const aic = await import('@auralink/aic') as unknown as AicImageModule
      const init = this.init
      return aic.createImageCodec({
        maxWidth: this.maxSide,
        maxHeight: this.maxSide,
        ...(init.modelBaseUrl !== undefined ? { modelBaseUrl: init.modelBaseUrl } : {}),
        ...(init.wasmPaths !== undefined && hasCanvas() ? { wasmPaths: init.wasmPaths } : {}),
        ...(init.threads !== undefined ? { threads: init.threads } : {})
      })
    })()
    const p = this.codecP
    p.catch(() => { if (this.codecP === p) this.codecP = undefined })
    return p
  }

  async close (): Promise<void> {
    const p = this.codecP
    this.codecP = undefined
    if (p !== undefined) await p.then(async (c) => c.close(), () => {})
  }
}

/**
 * The codec a sender uses for a peer that decodes `theirs`: tool 2 when both sides have the same
 * model version, else WebP, else JPEG, each only where this side writes it. Undefined: none.
 */
export function chooseImageCodec (theirs: readonly string[], ours: { learnedVersion?: number, canvas: boolean }): string | undefined {
  if (ours.learnedVersion !== undefined && theirs.includes(aicCodecId(ours.learnedVersion))) return aicCodecId(ours.learnedVersion)
  if (!ours.canvas) return undefined
  return [WEBP, JPEG].find((c) => theirs.includes(c))
}

const isPixels = (x: unknown): x is RawPixels => {
  const p = x as Partial<RawPixels>
  return p != null && typeof p === 'object' && typeof p.width === 'number' && typeof p.height === 'number' && (p.data instanceof Uint8ClampedArray || (p.data as unknown) instanceof Uint8Array)
}

/** The picture as RGBA pixels, scaled down so that no side is over `maxSide`. */
export async function toPixels (input: ImageInput, maxSide: number): Promise<ImagePixels> {
  if (isPixels(input)) {
    const { width, height, data } = input
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * 4) {
      throw new RangeError(`sendImage(image): image must be ${String(width)}x${String(height)} RGBA pixels (${String(width)} x ${String(height)} x 4 bytes), got ${data.length} bytes`)
    }
    const pixels = { width, height, data: data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) }
    if (Math.max(width, height) <= maxSide) return pixels
    if (!hasCanvas()) throw new ImageFailedError('unsupported', `sendImage(image): the picture is ${width}x${height}, over maxSide ${maxSide}, and this runtime has no canvas to scale it: give smaller pixels or a larger maxSide`)
    const bitmap = await createImageBitmap(new ImageData(pixels.data as Uint8ClampedArray<ArrayBuffer>, width, height))
    try { return draw(bitmap, maxSide) } finally { bitmap.close() }
  }
  const isBlob = typeof Blob !== 'undefined' && input instanceof Blob
  const isBitmap = typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap
  if (!isBlob && !isBitmap) throw new TypeError(`sendImage(image): image must be a Blob, an ImageBitmap, ImageData or { width, height, data: RGBA bytes }, got ${input === null ? 'null' : typeof input}`)
  if (!hasCanvas()) throw new ImageFailedError('unsupported', 'sendImage(image): this runtime has no createImageBitmap and OffscreenCanvas to read a Blob or an ImageBitmap: give RGBA pixels { width, height, data }')
  if (isBitmap) return draw(input as ImageBitmap, maxSide)
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(input as Blob)
  } catch (err) {
    const blob = input as Blob
    throw new ImageFailedError('unsupported', `sendImage(image): this browser cannot decode the ${blob.type !== '' ? blob.type : 'untyped'} Blob of ${blob.size} bytes: ${(err as Error).message}`, { cause: err })
  }
  try { return draw(bitmap, maxSide) } finally { bitmap.close() }
}

function draw (bitmap: ImageBitmap, maxSide: number): ImagePixels {
  const k = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height))
  const width = Math.max(1, Math.round(bitmap.width * k))
  const height = Math.max(1, Math.round(bitmap.height * k))
  const ctx = new OffscreenCanvas(width, height).getContext('2d')
  if (ctx === null) throw new ImageFailedError('unsupported', 'this browser gave no 2D context for an OffscreenCanvas')
  ctx.drawImage(bitmap, 0, 0, width, height)
  return ctx.getImageData(0, 0, width, height)
}

/** WebP or JPEG bytes of `pixels` from the browser's canvas; undefined when the browser writes another type instead (Safari: no WebP). */
export async function canvasEncode (pixels: ImagePixels, type: string, quality: number): Promise<Uint8Array | undefined> {
  const canvas = new OffscreenCanvas(pixels.width, pixels.height)
  const ctx = canvas.getContext('2d')
  if (ctx === null) throw new ImageFailedError('unsupported', 'this browser gave no 2D context for an OffscreenCanvas')
  ctx.putImageData(pixels instanceof ImageData ? pixels : new ImageData(pixels.data as Uint8ClampedArray<ArrayBuffer>, pixels.width, pixels.height), 0, 0)
  const blob = await canvas.convertToBlob({ type, quality })
  if (blob.type !== type) return undefined
  return new Uint8Array(await blob.arrayBuffer())
}

/**
 * Decodes WebP or JPEG bytes from a peer: the size in their header is checked against `maxSide`
 * first (a small file can claim a huge picture), then the browser decodes them.
 */
export async function canvasDecode (bytes: Uint8Array, type: string, maxSide: number): Promise<ImagePixels> {
  const size = type === WEBP ? webpSize(bytes) : jpegSize(bytes)
  if (size.width > maxSide || size.height > maxSide) throw new ImageFailedError('too-large', `a ${size.width}x${size.height} picture is over this side's limit of ${maxSide} pixels a side (images.maxSide)`)
  if (!hasCanvas()) throw new ImageFailedError('unsupported', `this runtime has no decoder for ${type}`)
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }))
  } catch (err) {
    throw new ImageFailedError('corrupt', `the ${type} picture does not decode: ${(err as Error).message}`, { cause: err })
  }
  try {
    if (bitmap.width !== size.width || bitmap.height !== size.height) throw new ImageFailedError('corrupt', `the ${type} header says ${size.width}x${size.height}, the picture decodes to ${bitmap.width}x${bitmap.height}`)
    return draw(bitmap, Math.max(bitmap.width, bitmap.height))
  } finally {
    bitmap.close()
  }
}

const corrupt = (type: string, why: string): ImageFailedError => new ImageFailedError('corrupt', `not a ${type} picture: ${why}`)

/** A JPEG's size from its first frame header (SOFn), read without decoding. */
export function jpegSize (b: Uint8Array): { width: number, height: number } {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw corrupt('JPEG', 'no start-of-image marker')
  let at = 2
  // each step moves past one marker segment: at most b.length steps
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) throw corrupt('JPEG', `no marker at byte ${at}`)
    const marker = b[at + 1]!
    if (marker === 0xff) { at++; continue } // fill byte
    if (marker === 0xd9 || marker === 0xda) break // end of image, or scan data before any frame header
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue } // no length
    const length = (b[at + 2]! << 8) | b[at + 3]!
    if (length < 2) throw corrupt('JPEG', `a segment of length ${length} at byte ${at}`)
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (sof) {
      if (at + 9 > b.length) break
      const height = (b[at + 5]! << 8) | b[at + 6]!
      const width = (b[at + 7]! << 8) | b[at + 8]!
      if (width === 0 || height === 0) throw corrupt('JPEG', `a frame header of ${width}x${height}`)
      return { width, height }
    }
    at += 2 + length
  }
  throw corrupt('JPEG', 'no frame header')
}

/** A WebP's size from its first chunk (VP8, VP8L or VP8X), read without decoding. */
export function webpSize (b: Uint8Array): { width: number, height: number } {
  const ascii = (from: number, n: number): string => String.fromCharCode(...b.subarray(from, from + n))
  if (b.length < 30 || ascii(0, 4) !== 'RIFF' || ascii(8, 4) !== 'WEBP') throw corrupt('WebP', 'no RIFF WEBP header')
  const chunk = ascii(12, 4)
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw corrupt('WebP', 'no VP8 start code')
    return nonZero({ width: (b[26]! | (b[27]! << 8)) & 0x3fff, height: (b[28]! | (b[29]! << 8)) & 0x3fff })
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw corrupt('WebP', 'no VP8L signature')
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (chunk === 'VP8X') {
    return { width: (b[24]! | (b[25]! << 8) | (b[26]! << 16)) + 1, height: (b[27]! | (b[28]! << 8) | (b[29]! << 16)) + 1 }
  }
  throw corrupt('WebP', `an unknown first chunk ${JSON.stringify(chunk)}`)
}

function nonZero (s: { width: number, height: number }): { width: number, height: number } {
  if (s.width === 0 || s.height === 0) throw corrupt('WebP', `a frame of ${s.width}x${s.height}`)
  return s
}

/** A decoded picture as ImagePixels (an ImageData where the runtime has one). */
export function asPixels (frame: { width: number, height: number, data: Uint8ClampedArray | Uint8Array }): ImagePixels {
  const data = frame.data instanceof Uint8ClampedArray ? frame.data : new Uint8ClampedArray(frame.data.buffer, frame.data.byteOffset, frame.data.length)
  return typeof ImageData === 'function' ? new ImageData(data as Uint8ClampedArray<ArrayBuffer>, frame.width, frame.height) : { width: frame.width, height: frame.height, data }
}

/** The error of a picture that failed: ImageFailedError as it is, anything else (tool 2's typed stream errors) as 'corrupt' with it as the cause. */
export function imageError (err: unknown, what: string): ImageFailedError {
  if (err instanceof ImageFailedError) return err
  const name = (err as Error)?.name ?? ''
  const reason = name === 'StreamTooLargeError' ? 'too-large' : 'corrupt'
  return new ImageFailedError(reason, `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}
