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
 */
import { encodeEnhanceMeta } from '@auralink/protocol'
import { appendTrailer, snapScale, splitTrailer } from './aic-trailer.js'

/** What the page tells the worker (postMessage). */
export type TransformCommand =
  | { type: 'meta', modelVersion: Record<string, number>, mode: number, fullWidth: number }

/** What the worker tells the page for each received frame that carried a trailer. */
export interface TrailerSeen { type: 'trailer', rtpTimestamp: number, scaleX100: number, modelVersion: number, mode: number }

interface EncodedFrameLike {
  data: ArrayBuffer
  type?: string
  getMetadata(): { width?: number, height?: number, rtpTimestamp?: number }
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
  postMessage(message: TrailerSeen): void
}

const scope = globalThis as unknown as WorkerScope
let meta: { modelVersion: Record<string, number>, mode: number, fullWidth: number } | undefined

scope.onmessage = (ev) => {
  if (ev.data?.type === 'meta') meta = ev.data
}

function sendSide (t: TransformerLike): void {
  let lastWidth = 0
  void t.readable.pipeThrough(new TransformStream<EncodedFrameLike, EncodedFrameLike>({
    transform (frame, controller) {
      const w = frame.getMetadata().width ?? 0
      if (w > 0) lastWidth = w
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
