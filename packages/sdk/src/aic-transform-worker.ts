/**
 * The encoded transform (RTCRtpScriptTransform) of AIC in calls: a dedicated worker that carries
 * each video frame's EnhanceMeta (protos/aic.proto) inside the encoded frame, so that a mode switch
 * never mislabels a frame.
 *
 * Sender side: after each encoded frame's bytes it writes a trailer, `meta (n <= 16 bytes), n,
 * 0xAC, 0x1C`, whose scale is the frame's own: the captured width over the encoded frame's width
 * (RTCEncodedVideoFrameMetadata.width; the last key frame's for frames that do not say), snapped to
 * 1, 1.5 or 2 (0 when it is none of these: the receiver then shows the frame as it is).
 * Receiver side: a frame that ends with a well-formed trailer loses it before the decoder sees it,
 * and its meta goes to the page with the frame's RTP timestamp, which the decoded VideoFrame
 * carries too (`VideoFrame.metadata().rtpTimestamp`). A receiver transform is installed only by a
 * side that said `meta_in_frame`, and a sender writes trailers only to such a side.
 *
 * Sender side, tool 1's adaptive mode (docs/aic-adaptive.md): while the page says `decode`, the
 * frames it sends are decoded here as the receiver decodes them (WebCodecs; from the first key
 * frame on, as the page switches to a reduced size, which makes one), and the next `want` of them
 * go to the page as VideoFrames (transferred) for the sender's fitter; the others are closed at once.
 */
import { encodeEnhanceMeta } from '@auralink/protocol'
import { appendTrailer, snapScale, splitTrailer } from './aic-trailer.js'

/** What the page tells the worker (postMessage). */
export type TransformCommand =
  | { type: 'meta', modelVersion: Record<string, number>, mode: number, fullWidth: number }
  | { type: 'decode', on: boolean }
  | { type: 'want', count: number }

/** What the worker tells the page for each received frame that carried a trailer. */
export interface TrailerSeen { type: 'trailer', rtpTimestamp: number, scaleX100: number, modelVersion: number, mode: number }

/** What the worker tells the page of the frames it decodes (sender side). */
export type DecodedMessage =
  | { type: 'decoded', frame: VideoFrame, rtpTimestamp: number }
  | { type: 'decode-error', message: string }

interface EncodedFrameLike {
  data: ArrayBuffer
  type?: string
  getMetadata(): { width?: number, height?: number, rtpTimestamp?: number, mimeType?: string }
  timestamp?: number
}
interface TransformerLike {
  readable: ReadableStream<EncodedFrameLike>
  writable: WritableStream<EncodedFrameLike>
  options?: { side?: 'send' | 'receive' }
}
interface TransformEventLike extends Event { transformer: TransformerLike }

interface WorkerScope {
  onmessage: ((ev: MessageEvent<TransformCommand>) => void) | null
  onrtctransform: ((ev: TransformEventLike) => void) | null
  postMessage(message: TrailerSeen | DecodedMessage, transfer?: Transferable[]): void
}

const scope = globalThis as unknown as WorkerScope
let meta: { modelVersion: Record<string, number>, mode: number, fullWidth: number } | undefined

/** The sender's own stream, decoded for the adaptive mode's fitter. */
const own = {
  on: false,
  decoder: undefined as VideoDecoder | undefined,
  /** The decoder needs a key frame first (at the start, after an error). */
  needKey: true,
  /** Decoded frames the page still wants. */
  wanted: 0
}

/** WebCodecs' codec string for an encoded frame's MIME type; undefined for one not decoded here. */
function codecOf (mimeType: string | undefined): string | undefined {
  switch (mimeType?.toLowerCase()) {
    case 'video/vp8': return 'vp8'
    case 'video/vp9': return 'vp09.00.10.08'
    case 'video/av1': return 'av01.0.04M.08'
    default: return undefined
  }
}

function stopDecoding (): void {
  own.on = false
  own.wanted = 0
  own.needKey = true
  if (own.decoder !== undefined && own.decoder.state !== 'closed') own.decoder.close()
  own.decoder = undefined
}

function decodeOwn (frame: EncodedFrameLike, payload: ArrayBuffer): void {
  if (!own.on || frame.data.byteLength === 0 || frame.type === 'empty') return
  const key = frame.type === 'key'
  if (own.needKey && !key) return
  const md = frame.getMetadata()
  if (own.decoder === undefined) {
    const codec = codecOf(md.mimeType ?? 'video/vp8')
    if (codec === undefined) {
      scope.postMessage({ type: 'decode-error', message: `the call sends ${md.mimeType ?? 'an unknown codec'}, which the sender does not decode for the adaptive mode` })
      stopDecoding()
      return
    }
    const decoder = new VideoDecoder({
      output: (decoded) => {
        if (own.wanted > 0 && own.decoder === decoder) {
          own.wanted--
          scope.postMessage({ type: 'decoded', frame: decoded, rtpTimestamp: decoded.timestamp }, [decoded as unknown as Transferable])
        } else {
          decoded.close()
        }
      },
      error: (err) => {
        // the decoder is closed by its error: a new one starts at the next key frame
        if (own.decoder === decoder) { own.decoder = undefined; own.needKey = true }
        scope.postMessage({ type: 'decode-error', message: err.message })
      }
    })
    // VP8 says nothing of its colours; WebRTC's own decoder takes it as BT.601 limited range, and so
    // must this one (Chromium's WebCodecs would take BT.709: a different picture on a canvas)
    const bt601 = { primaries: 'smpte170m', transfer: 'smpte170m', matrix: 'smpte170m', fullRange: false } as const
    decoder.configure({ codec, optimizeForLatency: true, ...(codec === 'vp8' ? { colorSpace: bt601 } : {}) })
    own.decoder = decoder
  }
  own.needKey = false
  // a decoder that falls behind (a busy machine) skips to the next key frame rather than queueing
  if (own.decoder.decodeQueueSize > 8) { own.needKey = true; return }
  own.decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: md.rtpTimestamp ?? frame.timestamp ?? 0, data: payload }))
}

scope.onmessage = (ev) => {
  const cmd = ev.data
  if (cmd?.type === 'meta') meta = cmd
  else if (cmd?.type === 'decode') {
    if (cmd.on) own.on = true
    else stopDecoding()
  } else if (cmd?.type === 'want') {
    own.wanted = Math.max(0, Math.min(32, Math.floor(cmd.count)))
  }
}

function sendSide (t: TransformerLike): void {
  let lastWidth = 0
  void t.readable.pipeThrough(new TransformStream<EncodedFrameLike, EncodedFrameLike>({
    transform (frame, controller) {
      const w = frame.getMetadata().width ?? 0
      if (w > 0) lastWidth = w
      // before the trailer: the receiver's decoder sees the frame without it. Whatever the
      // decoder does, the frame goes on: the call's video never waits on the adaptive mode
      if (own.on) {
        try {
          decodeOwn(frame, frame.data.slice(0))
        } catch (err) {
          // a new decoder starts at the next key frame
          if (own.decoder !== undefined && own.decoder.state !== 'closed') own.decoder.close()
          own.decoder = undefined
          own.needKey = true
          scope.postMessage({ type: 'decode-error', message: (err as Error).message })
        }
      }
      if (meta !== undefined && frame.data.byteLength > 0 && frame.type !== 'empty') {
        const scaleX100 = snapScale(meta.fullWidth, lastWidth)
        const bytes = encodeEnhanceMeta({ scaleX100, modelVersion: meta.modelVersion[String(scaleX100 / 100)] ?? 0, mode: meta.mode })
        frame.data = appendTrailer(frame.data, bytes)
      }
      controller.enqueue(frame)
    }
  })).pipeTo(t.writable).catch(() => {})
}

function receiveSide (t: TransformerLike): void {
  void t.readable.pipeThrough(new TransformStream<EncodedFrameLike, EncodedFrameLike>({
    transform (frame, controller) {
      const split = splitTrailer(frame.data)
      if (split !== undefined) {
        frame.data = split.payload
        const rtpTimestamp = frame.getMetadata().rtpTimestamp ?? frame.timestamp ?? 0
        scope.postMessage({ type: 'trailer', rtpTimestamp, ...split.meta })
      }
      controller.enqueue(frame)
    }
  })).pipeTo(t.writable).catch(() => {})
}

scope.onrtctransform = (ev) => {
  const t = ev.transformer
  if (t.options?.side === 'send') sendSide(t)
  else receiveSide(t)
}
