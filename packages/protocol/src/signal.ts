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
/** A FileResult: the receiver's verdict on a file (ok, or an error text). */
export const MAX_FILE_RESULT_BYTES = 512

/** The `EndReason` enum of protos/signal.proto: its names to numbers and back. */
export const EndReason = pb.EndReason
/** A value of the `EndReason` enum of protos/signal.proto. */
export type EndReason = auralink.signal.EndReason
/** The fields of a `SignalMessage` message (protos/signal.proto), as encodeSignalMessage takes them. */
export type SignalMessageFields = auralink.signal.SignalMessage.$Properties
/** A decoded `SignalMessage` (protos/signal.proto): one message on the call stream. */
export type SignalMessage = ReturnType<typeof pb.SignalMessage.decode>
/** The fields of a `FileHeader` message (protos/signal.proto), as encodeFileHeader takes them. */
export type FileHeaderFields = auralink.signal.FileHeader.$Properties
/** A decoded `FileHeader` message (protos/signal.proto). */
export type FileHeaderMessage = ReturnType<typeof pb.FileHeader.decode>
/** The fields of a `FileResult` message (protos/signal.proto), as encodeFileResult takes them. */
export type FileResultFields = auralink.signal.FileResult.$Properties
/** A decoded `FileResult` message (protos/signal.proto). */
export type FileResultMessage = ReturnType<typeof pb.FileResult.decode>
/** The fields of a `MediaRequest` message (protos/signal.proto), as encodeMediaRequest takes them. */
export type MediaRequestFields = auralink.signal.MediaRequest.$Properties

/** Encodes a `SignalMessage` message (protos/signal.proto) to protobuf bytes. */
export const encodeSignalMessage = (m: SignalMessageFields): Uint8Array => pb.SignalMessage.encode(m).finish()
/** Decodes a `SignalMessage` message (protos/signal.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignalMessage = (b: Uint8Array): SignalMessage =>
  safeDecode('SignalMessage', pb.SignalMessage, b, MAX_SIGNAL_MESSAGE_BYTES)

/** Encodes a `FileHeader` message (protos/signal.proto) to protobuf bytes. */
export const encodeFileHeader = (m: FileHeaderFields): Uint8Array => pb.FileHeader.encode(m).finish()
/** Decodes a `FileHeader` message (protos/signal.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeFileHeader = (b: Uint8Array): FileHeaderMessage => {
  const m = safeDecode('FileHeader', pb.FileHeader, b, MAX_FILE_HEADER_BYTES)
  if (m.offer != null) m.offer.size = toSafeNumber('FileHeader', 'offer.size', m.offer.size)
  return m
}

/** Encodes a `FileResult` message (protos/signal.proto) to protobuf bytes. */
export const encodeFileResult = (m: FileResultFields): Uint8Array => pb.FileResult.encode(m).finish()
/** Decodes a `FileResult` message (protos/signal.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeFileResult = (b: Uint8Array): FileResultMessage =>
  safeDecode('FileResult', pb.FileResult, b, MAX_FILE_RESULT_BYTES)
