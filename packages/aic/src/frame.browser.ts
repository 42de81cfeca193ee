/**
 * Browser frame sources to AIC's RGBA Frame: ImageData (already one), VideoFrame (WebCodecs,
 * what a MediaStreamTrackProcessor gives a receiver) copied out as RGBA.
 */
import { checkFrame } from './frame.js'
import type { Frame } from './frame.js'

/** What the browser enhancer takes: an RGBA Frame (ImageData is one) or a VideoFrame. */
export type FrameSource = Frame | ImageData | VideoFrame

function isVideoFrame (x: unknown): x is VideoFrame {
  return typeof VideoFrame === 'function' && x instanceof VideoFrame
}

/**
 * A frame source as RGBA bytes (a new buffer for a VideoFrame; ImageData and Frame as they are,
 * after checking). A VideoFrame's visible rectangle is taken; it is not closed (the caller owns it).
 */
export async function toFrame (source: FrameSource, what = 'frame'): Promise<Frame> {
  if (!isVideoFrame(source)) {
    checkFrame(source, what)
    return source
  }
  const { width, height } = source.visibleRect ?? { width: source.displayWidth, height: source.displayHeight }
  if (source.format === null) throw new TypeError(`${what} is a VideoFrame without a readable pixel format (closed, or on the GPU only)`)
  const data = new Uint8Array(width * height * 4)
  const layout = [{ offset: 0, stride: width * 4 }]
  switch (source.format) {
    case 'RGBA':
    case 'RGBX':
      await source.copyTo(data, { layout })
      break
    case 'BGRA':
    case 'BGRX':
      await source.copyTo(data, { layout })
      for (let p = 0; p < data.length; p += 4) {
        const b = data[p]!
        data[p] = data[p + 2]!
        data[p + 2] = b
      }
      break
    default:
      // YUV (I420, NV12, ...): the browser converts (BT.601/709 as the frame's colour space says)
      await source.copyTo(data, { format: 'RGBA', colorSpace: 'srgb', layout })
  }
  if (source.format === 'RGBX' || source.format === 'BGRX') for (let p = 3; p < data.length; p += 4) data[p] = 255
  return { width, height, data }
}
