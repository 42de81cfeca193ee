/**
 * One call's still images (call.sendImage(), the `image` and `image:failed` events; docs/images.md):
 * the peer's ImageCodecs, the codec chosen for it, the coded bytes sent as a file marked `image`,
 * and incoming ones decoded. The bytes travel on the call's file streams, so they have the files'
 * checksum, limits and progress.
 */
import { IMAGE_CODECS_WAIT_MS } from './constants.js'
import { ImageFailedError, TransferAbortedError } from './errors.js'
import { FileTransfer, sendFileVia } from './file-transfer.js'
import {
  asPixels, canvasDecode, canvasEncode, checkImageCodecs, checkSendOptions, chooseImageCodec, hasCanvas, imageError, JPEG, kindOf, levelFor, toPixels, WEBP
} from './images.js'
import type { ClientImages, ImageFailure, ImageInput, ImagePixels, ReceivedImage, SendImageOptions, SentImage } from './images.js'
import type { MeshConnection } from '@auralink/mesh'
import type { Logger } from '@libp2p/interface'

/** @internal what CallImages needs of its call */
export interface CallImagesComponents {
  log: Logger
  images: ClientImages
  callId: string
  /** The other side, for messages. */
  who: string
  conn(): MeshConnection
  /** Sends this side's ImageCodecs on the call stream. */
  sendCodecs(codecs: string[]): Promise<void>
  /** Registers a transfer with the call (aborted when it ends). */
  track(transfer: FileTransfer): void
  nextFileId(): string
  received(image: ReceivedImage): void
  failed(failure: ImageFailure): void
  /** The call's end, as a promise that never resolves while it lasts. */
  ended: Promise<Error>
}

const EXTENSIONS: Record<string, string> = { [WEBP]: 'webp', [JPEG]: 'jpg' }

/**
 * @internal one picture sent to several peers (GroupCall.sendImage()): its pixels read once, and
 * each codec's bytes coded once, whichever peers take them
 */
export interface SharedImage {
  pixels?: Promise<ImagePixels>
  /** The coded bytes by wire name; undefined where this side could not write that codec. */
  coded: Map<string, Promise<Uint8Array | undefined>>
}

/** @internal */
export class CallImages {
  private theirs: string[] | undefined
  private readonly arrived: { promise: Promise<void>, resolve: () => void }
  private sentOurs = false

  constructor (private readonly c: CallImagesComponents) {
    let resolve!: () => void
    this.arrived = { promise: new Promise<void>((r) => { resolve = r }), resolve }
  }

  /** The call was accepted: say what this side decodes (once). */
  announce (): void {
    if (this.sentOurs) return
    this.sentOurs = true
    void this.c.images.decoders()
      .then(async (codecs) => this.c.sendCodecs(codecs))
      .catch((err: Error) => { this.c.log('call %s: our ImageCodecs not sent: %s', this.c.callId, err.message) })
  }

  /** The peer's ImageCodecs arrived (the first counts). */
  onCodecs (codecs: readonly string[]): void {
    if (this.theirs !== undefined) { this.c.log('call %s: ignoring a second ImageCodecs', this.c.callId); return }
    try {
      this.theirs = checkImageCodecs(codecs)
    } catch (err) {
      // a peer whose list is malformed is taken at its word for none of it
      this.c.log('call %s: the peer\'s ImageCodecs is malformed: %s', this.c.callId, (err as Error).message)
      this.theirs = []
    }
    this.arrived.resolve()
  }

  /** What the peer decodes: its ImageCodecs, waited for up to IMAGE_CODECS_WAIT_MS; a peer that says nothing (an older SDK) gets JPEG, which every browser decodes. */
  private async peerCodecs (signal?: AbortSignal): Promise<string[]> {
    if (this.theirs === undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const aborted = signal !== undefined ? new Promise<never>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) }) : undefined
      aborted?.catch(() => {})
      signal?.throwIfAborted()
      try {
        const ended = this.c.ended.then((e) => { throw e })
        ended.catch(() => {})
        await Promise.race([this.arrived.promise, new Promise((resolve) => { timer = setTimeout(resolve, IMAGE_CODECS_WAIT_MS) }), ended, ...(aborted !== undefined ? [aborted] : [])])
      } finally {
        clearTimeout(timer)
      }
    }
    if (this.theirs === undefined) this.c.log('call %s: no ImageCodecs from %s within %d ms: sending JPEG', this.c.callId, this.c.who, IMAGE_CODECS_WAIT_MS)
    return this.theirs ?? [JPEG]
  }

  async send (image: ImageInput, options: SendImageOptions, shared: SharedImage = { coded: new Map() }): Promise<SentImage> {
    const { quality, maxSide } = checkSendOptions(options)
    const { signal } = options
    shared.pixels ??= toPixels(image, maxSide)
    const pixels = await shared.pixels
    const theirs = await this.peerCodecs(signal)
    const images = this.c.images
    const canvas = hasCanvas()
    // each codec coded once per picture, whichever peers take it
    const coded = async (id: string, code: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> => {
      let p = shared.coded.get(id)
      if (p === undefined) {
        p = code()
        shared.coded.set(id, p)
        // a failure is this call's to report; the next peer tries again
        p.catch(() => { if (shared.coded.get(id) === p) shared.coded.delete(id) })
      }
      return p
    }
    let id = chooseImageCodec(theirs, { learnedVersion: await images.learnedVersion(), canvas })
    let data: Uint8Array | undefined
    if (id !== undefined && kindOf(id) === 'aic') {
      try {
        data = await coded(id, async () => {
          const codec = await images.learned()
          return codec.encode(pixels, { quality: levelFor(quality, codec.info.levels), ...(signal !== undefined ? { signal } : {}) })
        })
      } catch (err) {
        signal?.throwIfAborted()
        // the learned codec failed to load or run here: the next codec the peer has
        this.c.log('call %s: the learned image codec failed (%s); sending WebP or JPEG', this.c.callId, (err as Error).message)
        id = chooseImageCodec(theirs, { canvas })
      }
    }
    if (data === undefined && id !== undefined) {
      const type = id
      data = await coded(type, async () => canvasEncode(pixels, type, quality))
      // a browser that writes no WebP (Safari) falls to JPEG
      if (data === undefined && id === WEBP && theirs.includes(JPEG)) data = await coded((id = JPEG), async () => canvasEncode(pixels, JPEG, quality))
    }
    if (data === undefined || id === undefined) {
      throw new ImageFailedError('unsupported', `sendImage(): ${this.c.who} decodes ${theirs.length > 0 ? theirs.join(', ') : 'no still-image codec'}, and this side writes none of them${canvas ? '' : ' (this runtime has no canvas for WebP and JPEG)'}`)
    }
    const mimeType = id
    const bytes = data
    const transfer = new FileTransfer({ id: this.c.nextFileId(), direction: 'send', name: `image.${EXTENSIONS[mimeType] ?? 'aic'}`, size: bytes.byteLength, mimeType, log: this.c.log, image: true })
    this.c.track(transfer)
    sendFileVia(this.c.conn(), this.c.callId, { name: transfer.name, data: bytes, type: mimeType }, transfer, options)
    await transfer.done
    const { width, height } = pixels
    return {
      codec: kindOf(mimeType)!,
      mimeType,
      bytes: bytes.byteLength,
      width,
      height,
      data: bytes,
      decode: async () => this.decode(bytes, mimeType, Math.max(width, height))
    }
  }

  /** A picture in `mimeType`, decoded as the `image` event shows it; ImageFailedError when it cannot be. */
  private async decode (bytes: Uint8Array, mimeType: string, maxSide: number): Promise<ImagePixels> {
    if (!(await this.c.images.decoders()).includes(mimeType)) {
      throw new ImageFailedError('unsupported', `a picture in ${JSON.stringify(mimeType)}, which this side does not decode (it said so in its ImageCodecs)`)
    }
    if (kindOf(mimeType) === 'aic') {
      let codec
      try {
        codec = await this.c.images.learned()
      } catch (err) {
        throw new ImageFailedError('decoder-unavailable', `the learned image codec did not load: ${(err as Error).message}`, { cause: err })
      }
      try {
        return asPixels(await codec.decode(bytes))
      } catch (err) {
        throw imageError(err, `the ${mimeType} picture does not decode`)
      }
    }
    return canvasDecode(bytes, mimeType, maxSide)
  }

  /** An incoming file marked `image`: its bytes, decoded, as the `image` event (or `image:failed`). */
  receive (transfer: FileTransfer): void {
    const mimeType = transfer.mimeType
    const codec = kindOf(mimeType)
    void (async () => {
      let data: Uint8Array | undefined
      try {
        const file = await transfer.done
        data = new Uint8Array(await file!.blob!.arrayBuffer())
        const image = await this.decode(data, mimeType, this.c.images.receiveMaxSide)
        this.c.received({ codec: codec!, mimeType, bytes: data.byteLength, width: image.width, height: image.height, image, data })
      } catch (err) {
        if (err instanceof TransferAbortedError && data === undefined) return // the call ended on the way: no picture to show
        this.c.log('call %s: a %s picture (%d bytes) failed: %s', this.c.callId, mimeType, data?.byteLength ?? transfer.size, (err as Error).message)
        this.c.failed({ mimeType, ...(codec !== undefined ? { codec } : {}), bytes: data?.byteLength ?? transfer.bytes, ...(data !== undefined ? { data } : {}), error: err as Error })
      }
    })()
  }
}
