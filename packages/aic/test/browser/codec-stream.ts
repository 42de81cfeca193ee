import { DEFAULT_MAX_BYTES, DEFAULT_MAX_SIDE, hyperSynthesis, parseImageStream, ransDecode } from '../../src/index.js'
import type { CodecTables } from '../../src/index.js'

/**
 * What a tool 2 bitstream says before any float step: the Gaussian table index of every y value
 * (the integer hyper-synthesis of z_hat) and the y symbols coded with them. Computed the same way
 * in Node (global-setup.ts) and in the page, so that the two can be compared value for value.
 */
export function streamIndices (bytes: Uint8Array, t: CodecTables): { index: Uint8Array, ySymbols: Uint32Array } {
  const s = parseImageStream(bytes, { maxWidth: DEFAULT_MAX_SIDE, maxHeight: DEFAULT_MAX_SIDE, maxBytes: DEFAULT_MAX_BYTES })
  const h64 = Math.ceil(s.height / 64)
  const w64 = Math.ceil(s.width / 64)
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

/** Bytes to base64 and back (the fixture travels as JSON through provide()/inject()). */
export function toB64 (bytes: ArrayBufferView): string {
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let s = ''
  for (let i = 0; i < u8.length; i += 8192) s += String.fromCharCode(...u8.subarray(i, i + 8192))
  return btoa(s)
}

export function fromB64Bytes (s: string): Uint8Array {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
