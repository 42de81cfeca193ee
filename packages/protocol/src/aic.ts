import { auralink } from './gen/aic.js'
import { safeDecode } from './codec.js'

const pb = auralink.aic

/** A tool-2 bitstream header is a handful of varints. */
export const MAX_IMAGE_HEADER_BYTES = 64
/** EnhanceMeta must fit one RFC 8285 one-byte-header extension element: 16 bytes. */
export const MAX_ENHANCE_META_BYTES = 16

/** The `EnhanceMode` enum of protos/aic.proto: its names to numbers and back. */
export const EnhanceMode = pb.EnhanceMode
/** A value of the `EnhanceMode` enum of protos/aic.proto. */
export type EnhanceMode = auralink.aic.EnhanceMode
/** The fields of a `ImageHeader` message (protos/aic.proto), as encodeImageHeader takes them. */
export type ImageHeaderFields = auralink.aic.ImageHeader.$Properties
/** The fields of a `EnhanceMeta` message (protos/aic.proto), as encodeEnhanceMeta takes them. */
export type EnhanceMetaFields = auralink.aic.EnhanceMeta.$Properties
/** A decoded `ImageHeader` message (protos/aic.proto). */
export type ImageHeaderMessage = ReturnType<typeof pb.ImageHeader.decode>
/** A decoded `EnhanceMeta` message (protos/aic.proto). */
export type EnhanceMetaMessage = ReturnType<typeof pb.EnhanceMeta.decode>

/** Encodes a `ImageHeader` message (protos/aic.proto) to protobuf bytes. */
export const encodeImageHeader = (m: ImageHeaderFields): Uint8Array => pb.ImageHeader.encode(m).finish()
/** Decodes a `ImageHeader` message (protos/aic.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeImageHeader = (b: Uint8Array): ImageHeaderMessage =>
  safeDecode('ImageHeader', pb.ImageHeader, b, MAX_IMAGE_HEADER_BYTES)

/** Encodes a `EnhanceMeta` message (protos/aic.proto) to protobuf bytes. */
export const encodeEnhanceMeta = (m: EnhanceMetaFields): Uint8Array => pb.EnhanceMeta.encode(m).finish()
/** Decodes a `EnhanceMeta` message (protos/aic.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeEnhanceMeta = (b: Uint8Array): EnhanceMetaMessage =>
  safeDecode('EnhanceMeta', pb.EnhanceMeta, b, MAX_ENHANCE_META_BYTES)
