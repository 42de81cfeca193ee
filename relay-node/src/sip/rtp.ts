/**
 * RTP (RFC 3550) as the SIP gateway needs it: a packet read from hostile bytes (null for anything
 * that is not a well-formed RTP packet), a packet written, and G.711 frames to and from 16-bit
 * PCM at 8 kHz (alawmulaw: docs/dependencies.md).
 */
import alawmulaw from 'alawmulaw'

// a CommonJS package: Node's ESM loader gives its exports as the default only
const { alaw, mulaw } = alawmulaw

export interface RtpPacket {
  payloadType: number
  marker: boolean
  seq: number
  timestamp: number
  ssrc: number
  payload: Uint8Array
}

/** The fixed header's size; a packet shorter than this is not RTP. */
const RTP_HEADER_BYTES = 12

/** Reads one RTP packet, or null: not version 2, shorter than its header, CSRC list or extension say, or padding past its end. */
export function parseRtp (b: Uint8Array): RtpPacket | null {
  if (b.byteLength < RTP_HEADER_BYTES || b[0]! >> 6 !== 2) return null
  const padding = (b[0]! & 0x20) !== 0
  const extension = (b[0]! & 0x10) !== 0
  const csrcs = b[0]! & 0x0f
  let at = RTP_HEADER_BYTES + 4 * csrcs
  if (b.byteLength < at) return null
  if (extension) {
    if (b.byteLength < at + 4) return null
    at += 4 + 4 * ((b[at + 2]! << 8) | b[at + 3]!)
    if (b.byteLength < at) return null
  }
  let end = b.byteLength
  if (padding) {
    const pad = b[b.byteLength - 1]!
    if (pad === 0 || end - pad < at) return null
    end -= pad
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return {
    payloadType: b[1]! & 0x7f,
    marker: (b[1]! & 0x80) !== 0,
    seq: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: b.subarray(at, end)
  }
}

/** Writes an RTP packet with no CSRCs, extension or padding. */
export function writeRtp (p: RtpPacket): Uint8Array {
  const b = new Uint8Array(RTP_HEADER_BYTES + p.payload.byteLength)
  const view = new DataView(b.buffer)
  b[0] = 0x80
  b[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f)
  view.setUint16(2, p.seq & 0xffff)
  view.setUint32(4, p.timestamp >>> 0)
  view.setUint32(8, p.ssrc >>> 0)
  b.set(p.payload, RTP_HEADER_BYTES)
  return b
}

/** The G.711 codecs by their static payload type (RFC 3551): 0 PCMU (µ-law), 8 PCMA (A-law). */
export type G711 = 'PCMU' | 'PCMA'
export const G711_PAYLOAD_TYPES: Record<G711, number> = { PCMU: 0, PCMA: 8 }

/** G.711 bytes to 16-bit PCM samples at 8 kHz. */
export function decodeG711 (codec: G711, payload: Uint8Array): Int16Array {
  return codec === 'PCMU' ? mulaw.decode(payload) : alaw.decode(payload)
}

/** 16-bit PCM samples at 8 kHz to G.711 bytes. */
export function encodeG711 (codec: G711, pcm: Int16Array): Uint8Array {
  return codec === 'PCMU' ? mulaw.encode(pcm) : alaw.encode(pcm)
}

/** The DTMF digits by their telephone-event code (RFC 4733 section 3.2: 0-9, *, #, A-D as 0-15). */
export const DTMF_DIGITS = '0123456789*#ABCD'

/** One telephone-event payload (RFC 4733): the event's code, whether it has ended, its volume (dBm0, negated) and duration so far (timestamp units). */
export interface TelephoneEvent { event: number, end: boolean, volume: number, duration: number }

/** Reads a telephone-event payload: null when shorter than its 4 bytes. */
export function parseTelephoneEvent (b: Uint8Array): TelephoneEvent | null {
  if (b.byteLength < 4) return null
  return { event: b[0]!, end: (b[1]! & 0x80) !== 0, volume: b[1]! & 0x3f, duration: (b[2]! << 8) | b[3]! }
}

/** Writes a telephone-event payload. */
export function writeTelephoneEvent (e: TelephoneEvent): Uint8Array {
  return Uint8Array.of(e.event & 0xff, (e.end ? 0x80 : 0) | (e.volume & 0x3f), (e.duration >> 8) & 0xff, e.duration & 0xff)
}
