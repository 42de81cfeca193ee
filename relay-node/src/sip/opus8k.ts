/**
 * Opus at 8 kHz for the SIP gateway: the WebRTC side's Opus decoded straight to the 8 kHz PCM that
 * G.711 carries, and 8 kHz PCM encoded to Opus for the WebRTC side. libopus resamples inside its
 * decoder and encoder (an Opus stream has no fixed rate of its own; RTP still counts it at 48 kHz,
 * RFC 7587), so no resampler of ours sits in the path. libopus through opusscript's WebAssembly
 * build (no native build; docs/dependencies.md).
 *
 * Not through opusscript's own `OpusScript` class: it keeps views of the WebAssembly memory made
 * when each instance is created, and those views go dead when a later instance makes the memory
 * grow (`RangeError: offset is out of bounds` from every older instance: bench/sip.mjs's callers,
 * which used the class, failed so at 48 calls, and a relay holding as many instances would too).
 * Here the relay loads the same WebAssembly module once, allocates each call's buffers itself and
 * reads the memory afresh on every encode and decode. The module's PCM buffers hold one byte of
 * the little-endian samples in each 16-bit slot (its C side packs and unpacks them so), which is
 * how opusscript's class fills them too.
 */
import { createRequire } from 'node:module'

/** Samples of one 20 ms frame at 8 kHz. */
export const FRAME_8K = 160

/** What the encoder is asked for: a phone line's band (up to 4 kHz) needs far less, and the WebRTC side's link has room for it. @default 32000 */
export const OPUS_8K_BITRATE = 32_000

/** libopus's largest packet (RFC 6716: 1275 bytes a frame, up to 3 frames as opusscript allows). */
const MAX_PACKET_BYTES = 1276 * 3
/** The longest frame a packet decodes to at 8 kHz (120 ms), in bytes of 16-bit samples; room to spare. */
const MAX_PCM_BYTES = 48000 * 120 / 1000 * 2
const OPUS_APPLICATION_VOIP = 2048
const OPUS_SET_BITRATE = 4002

/** The part of opusscript's WebAssembly module used here. */
interface OpusHandler {
  _encode(pcmPtr: number, pcmBytes: number, outPtr: number, frameSize: number): number
  _decode(inPtr: number, inBytes: number, outPtr: number): number
  _encoder_ctl(ctl: number, arg: number): number
}
interface OpusNative {
  HEAPU8: Uint8Array
  _malloc(bytes: number): number
  _free(ptr: number): void
  OpusScriptHandler: { new (rate: number, channels: number, application: number): OpusHandler, destroy_handler(h: OpusHandler): void }
}

let native: OpusNative | undefined
/** The module, loaded once per process (its WebAssembly is compiled synchronously). */
function opus (): OpusNative {
  native ??= (createRequire(import.meta.url)('opusscript/build/opusscript_native_wasm.js') as () => OpusNative)()
  return native
}

export class Opus8k {
  private readonly n = opus()
  /** One libopus encoder and one decoder (opusscript's handler holds both). */
  private readonly handler: OpusHandler
  private readonly pcmPtr: number
  private readonly inPtr: number
  private readonly outPtr: number
  private destroyed = false

  constructor (bitrate = OPUS_8K_BITRATE) {
    this.handler = new this.n.OpusScriptHandler(8000, 1, OPUS_APPLICATION_VOIP)
    // a byte per 16-bit slot: twice the PCM's bytes
    this.pcmPtr = this.n._malloc(MAX_PCM_BYTES * 2)
    this.inPtr = this.n._malloc(MAX_PACKET_BYTES)
    this.outPtr = this.n._malloc(MAX_PACKET_BYTES)
    const r = this.handler._encoder_ctl(OPUS_SET_BITRATE, bitrate)
    if (r < 0) { this.destroy(); throw new RangeError(`Opus8k: libopus refused the bitrate ${bitrate} (error ${r})`) }
  }

  /** One Opus packet (any frame size, mono or stereo) to 16-bit mono PCM at 8 kHz; throws on a packet libopus refuses. */
  decode (packet: Uint8Array): Int16Array {
    this.alive()
    if (packet.byteLength === 0 || packet.byteLength > MAX_PACKET_BYTES) throw new RangeError(`Opus8k.decode(): a packet is 1 to ${MAX_PACKET_BYTES} bytes, got ${packet.byteLength}`)
    this.n.HEAPU8.set(packet, this.inPtr)
    const samples = this.handler._decode(this.inPtr, packet.byteLength, this.pcmPtr)
    if (samples < 0) throw new Error(`Opus8k.decode(): libopus refused the packet (error ${samples})`)
    // the samples' bytes, one per 16-bit slot, packed again (little-endian, as the host is)
    const slots = new Uint16Array(this.n.HEAPU8.buffer, this.pcmPtr, samples * 2)
    return new Int16Array(Uint8Array.from(slots).buffer)
  }

  /** 160 samples (20 ms) of 16-bit mono PCM at 8 kHz to one Opus packet. */
  encode (pcm: Int16Array): Uint8Array {
    this.alive()
    if (pcm.length !== FRAME_8K) throw new RangeError(`Opus8k.encode(): a frame is ${FRAME_8K} samples (20 ms at 8 kHz), got ${pcm.length}`)
    // each byte of the samples into a 16-bit slot of its own
    new Uint16Array(this.n.HEAPU8.buffer, this.pcmPtr, pcm.byteLength).set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength))
    const bytes = this.handler._encode(this.pcmPtr, pcm.byteLength, this.outPtr, FRAME_8K)
    if (bytes < 0) throw new Error(`Opus8k.encode(): libopus failed (error ${bytes})`)
    return this.n.HEAPU8.slice(this.outPtr, this.outPtr + bytes)
  }

  /** Frees libopus's state and the buffers. Idempotent. */
  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.n.OpusScriptHandler.destroy_handler(this.handler)
    this.n._free(this.pcmPtr)
    this.n._free(this.inPtr)
    this.n._free(this.outPtr)
  }

  private alive (): void {
    if (this.destroyed) throw new Error('Opus8k: used after destroy()')
  }
}
