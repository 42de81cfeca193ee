/**
 * RGBA frames (the layout of ImageData and of VideoFrame.copyTo with format 'RGBA') and the
 * planar float tensors that AIC's ONNX models take: 1 x 3 x H x W, RGB in [0, 1].
 */

/** An RGBA frame, row-major, 4 bytes a pixel; `ImageData` is one. */
export interface Frame {
  width: number
  height: number
  data: Uint8Array | Uint8ClampedArray
}

/** Throws a TypeError or RangeError that names `what` when `frame` is not a whole RGBA frame. */
export function checkFrame (frame: Frame, what: string): void {
  if (frame == null || typeof frame !== 'object') throw new TypeError(`${what} must be an RGBA frame { width, height, data }, got ${String(frame)}`)
  const { width, height, data } = frame
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what} must have whole width and height >= 1, got ${String(width)}x${String(height)}`)
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new TypeError(`${what}.data must be a Uint8Array or Uint8ClampedArray of RGBA bytes`)
  }
  if (data.length !== width * height * 4) {
    throw new RangeError(`${what}.data has ${data.length} bytes, expected ${width} x ${height} x 4 = ${width * height * 4} (RGBA)`)
  }
}

/** RGBA bytes to a planar RGB float tensor in [0, 1] (alpha dropped). */
export function frameToTensor (frame: Frame): Float32Array {
  const n = frame.width * frame.height
  const out = new Float32Array(3 * n)
  const d = frame.data
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    out[i] = d[p]! / 255
    out[n + i] = d[p + 1]! / 255
    out[2 * n + i] = d[p + 2]! / 255
  }
  return out
}

/** A planar RGB float tensor to RGBA bytes: rounded to the nearest level, clamped, alpha 255. */
export function tensorToFrame (tensor: Float32Array, width: number, height: number): Frame {
  const n = width * height
  if (tensor.length !== 3 * n) throw new RangeError(`tensor has ${tensor.length} values, expected 3 x ${width} x ${height}`)
  const data = new Uint8ClampedArray(4 * n) // Uint8ClampedArray rounds half to even and clamps to 0..255
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    data[p] = tensor[i]! * 255
    data[p + 1] = tensor[n + i]! * 255
    data[p + 2] = tensor[2 * n + i]! * 255
    data[p + 3] = 255
  }
  return { width, height, data }
}
