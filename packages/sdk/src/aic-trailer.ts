/**
 * The bytes of AIC's in-frame metadata (see aic-transform-worker.ts): a trailer after each encoded
 * video frame, `meta (n <= 16 bytes), n, 0xAC, 0x1C`. Pure functions, tested in Node.
 */
import { decodeEnhanceMeta } from '@auralink/protocol'

export const MAGIC_0 = 0xac
export const MAGIC_1 = 0x1c
export const MAX_META = 16

/** The scale a frame `width` wide restores to `fullWidth`, times 100: 100, 150, 200, or 0. */
export function snapScale (fullWidth: number, width: number): number {
  if (!(width > 0) || !(fullWidth > 0)) return 0
  const r = fullWidth / width
  for (const s of [1, 1.5, 2]) if (Math.abs(r - s) <= 0.01 * s + 1 / width) return s * 100
  return 0
}

/** The frame's bytes with the trailer after them. */
export function appendTrailer (data: ArrayBuffer, metaBytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(data.byteLength + metaBytes.byteLength + 3)
  out.set(new Uint8Array(data), 0)
  out.set(metaBytes, data.byteLength)
  out[out.length - 3] = metaBytes.byteLength
  out[out.length - 2] = MAGIC_0
  out[out.length - 1] = MAGIC_1
  return out.buffer
}

/** The trailer's meta and the bytes before it, or undefined when the frame has no well-formed trailer. */
export function splitTrailer (data: ArrayBuffer): { payload: ArrayBuffer, meta: { scaleX100: number, modelVersion: number, mode: number } } | undefined {
  const b = new Uint8Array(data)
  if (b.length < 4 || b[b.length - 1] !== MAGIC_1 || b[b.length - 2] !== MAGIC_0) return undefined
  const n = b[b.length - 3]!
  if (n < 1 || n > MAX_META || n + 3 >= b.length) return undefined
  try {
    const m = decodeEnhanceMeta(b.subarray(b.length - 3 - n, b.length - 3))
    const scaleX100 = m.scaleX100 ?? 0
    if (scaleX100 !== 0 && scaleX100 !== 100 && scaleX100 !== 150 && scaleX100 !== 200) return undefined
    return { payload: data.slice(0, b.length - 3 - n), meta: { scaleX100, modelVersion: m.modelVersion ?? 0, mode: m.mode ?? 0 } }
  } catch {
    return undefined
  }
}
