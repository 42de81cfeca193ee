import { auralink } from './gen/signal.js'
import { safeDecode, toSafeNumber } from './codec.js'

const pb = auralink.signal

/** Protocol id of call signalling: one stream per call, length-prefixed SignalMessages both ways. */
export const SIGNAL_PROTOCOL = '/auralink/signal/1.0.0'
/** Protocol id of a file transfer inside a call: a FileHeader, the bytes, then a FileResult back. */
export const FILE_PROTOCOL = '/auralink/file/1.0.0'

/** A chat message's text or bytes: at most 64 KiB. */
export const MAX_CHAT_BYTES = 64 * 1024
/** The largest SignalMessage: a chat message or an SDP (SDPs with many candidates reach ~10 KiB) plus framing. */
export const MAX_SIGNAL_MESSAGE_BYTES = MAX_CHAT_BYTES + 1024
/** A FileHeader: a name (at most 255 bytes), a MIME type, a hash and ids. */
export const MAX_FILE_HEADER_BYTES = 1024
export const MAX_FILE_RESULT_BYTES = 512

export const EndReason = pb.EndReason
export type EndReason = auralink.signal.EndReason
export type SignalMessageFields = auralink.signal.SignalMessage.$Properties
export type SignalMessage = ReturnType<typeof pb.SignalMessage.decode>
export type FileHeaderFields = auralink.signal.FileHeader.$Properties
export type FileHeaderMessage = ReturnType<typeof pb.FileHeader.decode>
export type FileResultFields = auralink.signal.FileResult.$Properties
export type FileResultMessage = ReturnType<typeof pb.FileResult.decode>
export type MediaRequestFields = auralink.signal.MediaRequest.$Properties

export const encodeSignalMessage = (m: SignalMessageFields): Uint8Array => pb.SignalMessage.encode(m).finish()
export const decodeSignalMessage = (b: Uint8Array): SignalMessage =>
  safeDecode('SignalMessage', pb.SignalMessage, b, MAX_SIGNAL_MESSAGE_BYTES)

export const encodeFileHeader = (m: FileHeaderFields): Uint8Array => pb.FileHeader.encode(m).finish()
export const decodeFileHeader = (b: Uint8Array): FileHeaderMessage => {
  const m = safeDecode('FileHeader', pb.FileHeader, b, MAX_FILE_HEADER_BYTES)
  if (m.offer != null) m.offer.size = toSafeNumber('FileHeader', 'offer.size', m.offer.size)
  return m
}

export const encodeFileResult = (m: FileResultFields): Uint8Array => pb.FileResult.encode(m).finish()
export const decodeFileResult = (b: Uint8Array): FileResultMessage =>
  safeDecode('FileResult', pb.FileResult, b, MAX_FILE_RESULT_BYTES)
