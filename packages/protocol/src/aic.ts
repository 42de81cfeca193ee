import { auralink } from './gen/aic.js'
import { safeDecode } from './codec.js'

const pb = auralink.aic

/** A tool-2 bitstream header is a handful of varints. */
export const MAX_IMAGE_HEADER_BYTES = 64
/** EnhanceMeta must fit one RFC 8285 one-byte-header extension element: 16 bytes. */
export const MAX_ENHANCE_META_BYTES = 16

export const EnhanceMode = pb.EnhanceMode
export type EnhanceMode = auralink.aic.EnhanceMode
export type ImageHeaderFields = auralink.aic.ImageHeader.$Properties
export type EnhanceMetaFields = auralink.aic.EnhanceMeta.$Properties
export type ImageHeaderMessage = ReturnType<typeof pb.ImageHeader.decode>
export type EnhanceMetaMessage = ReturnType<typeof pb.EnhanceMeta.decode>

export const encodeImageHeader = (m: ImageHeaderFields): Uint8Array => pb.ImageHeader.encode(m).finish()
export const decodeImageHeader = (b: Uint8Array): ImageHeaderMessage =>
  safeDecode('ImageHeader', pb.ImageHeader, b, MAX_IMAGE_HEADER_BYTES)

export const encodeEnhanceMeta = (m: EnhanceMetaFields): Uint8Array => pb.EnhanceMeta.encode(m).finish()
export const decodeEnhanceMeta = (b: Uint8Array): EnhanceMetaMessage =>
  safeDecode('EnhanceMeta', pb.EnhanceMeta, b, MAX_ENHANCE_META_BYTES)
