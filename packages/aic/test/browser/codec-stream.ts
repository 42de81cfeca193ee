import { decodeSymbols, DEFAULT_MAX_BYTES, DEFAULT_MAX_SIDE, parseImageStream } from '../../src/image-codec.js'
import type { CodecTables } from '../../src/index.js'

/**
 * What a tool 2 bitstream says before any float step: the Gaussian table index of every y value
 * (the integer hyper-synthesis of z_hat) and the y symbols coded with them, by the codec's own
 * `decodeSymbols`. Computed in Node (global-setup.ts) and in the page, so that the two can be
 * compared value for value.
 */
export function streamIndices (bytes: Uint8Array, t: CodecTables): { index: Uint8Array, ySymbols: Uint32Array } {
  return decodeSymbols(parseImageStream(bytes, { maxWidth: DEFAULT_MAX_SIDE, maxHeight: DEFAULT_MAX_SIDE, maxBytes: DEFAULT_MAX_BYTES }), t)
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
