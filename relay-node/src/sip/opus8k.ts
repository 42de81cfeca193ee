/**
 * Opus at 8 kHz for the SIP gateway: the WebRTC side's Opus decoded straight to the 8 kHz PCM that
 * G.711 carries, and 8 kHz PCM encoded to Opus for the WebRTC side. libopus resamples inside its
 * decoder and encoder (an Opus stream has no fixed rate of its own; RTP still counts it at 48 kHz,
 * RFC 7587), so no resampler of ours sits in the path. libopus through opusscript (WebAssembly,
 * no native build; docs/dependencies.md).
 */
import OpusScript from 'opusscript'

/** Samples of one 20 ms frame at 8 kHz. */
export const FRAME_8K = 160

/** What the encoder is asked for: a phone line's band (up to 4 kHz) needs far less, and the WebRTC side's link has room for it. @default 32000 */
export const OPUS_8K_BITRATE = 32_000

export class Opus8k {
  private readonly decoder = new OpusScript(8000, 1, OpusScript.Application.VOIP)
  private readonly encoder = new OpusScript(8000, 1, OpusScript.Application.VOIP)

  constructor (bitrate = OPUS_8K_BITRATE) {
    this.encoder.setBitrate(bitrate)
  }

  /** One Opus packet (any frame size, mono or stereo) to 16-bit mono PCM at 8 kHz; throws on a packet libopus refuses. */
  decode (packet: Uint8Array): Int16Array {
    const out = this.decoder.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength))
    return new Int16Array(out.buffer, out.byteOffset, out.byteLength / 2).slice()
  }

  /** 160 samples (20 ms) of 16-bit mono PCM at 8 kHz to one Opus packet. */
  encode (pcm: Int16Array): Uint8Array {
    if (pcm.length !== FRAME_8K) throw new RangeError(`Opus8k.encode(): a frame is ${FRAME_8K} samples (20 ms at 8 kHz), got ${pcm.length}`)
    const out = this.encoder.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), FRAME_8K)
    return new Uint8Array(out)
  }

  /** Frees libopus's state (the WebAssembly memory of both). */
  destroy (): void {
    this.decoder.delete()
    this.encoder.delete()
  }
}
