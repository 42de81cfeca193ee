import { auralink } from './gen/aic.js'
import { safeDecode } from './codec.js'
import { MalformedMessageError } from './errors.js'

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

/** A WeightUpdate (tool 1's adaptive mode) travels whole on the call stream: at most this many bytes. */
export const MAX_WEIGHT_UPDATE_BYTES = 32 * 1024
/** Tensors in one WeightUpdate, at most. */
export const MAX_UPDATE_TENSORS = 8
/** Elements of one updated tensor, at most (the largest shipped tail, 1.5x standard, has 6,912). */
export const MAX_UPDATE_TENSOR_ELEMENTS = 16_384
/** The checksum's length: the first bytes of SHA-256. */
export const WEIGHT_UPDATE_CHECKSUM_BYTES = 8

/** The `Quantisation` enum of protos/aic.proto. */
export const Quantisation = pb.Quantisation
/** The fields of a `WeightUpdate` message (protos/aic.proto), as encodeWeightUpdate takes them. */
export type WeightUpdateFields = auralink.aic.WeightUpdate.$Properties

/** One tensor of a checked WeightUpdate. */
export interface CheckedTensorUpdate {
  name: string
  shape: number[]
  quantisation: 'int8-per-channel'
  /** One per element, row-major (a copy: it does not share the decoded bytes' buffer). */
  values: Int8Array
  /** One per output channel (shape[0]). */
  scales: Float32Array
}

/** A WeightUpdate that passed every check of decodeWeightUpdate(). */
export interface CheckedWeightUpdate {
  modelVersion: number
  scaleX100: 150 | 200
  sequence: number
  tensors: CheckedTensorUpdate[]
  checksum: Uint8Array
}

/** Encodes a `WeightUpdate` message (protos/aic.proto) to protobuf bytes. */
export const encodeWeightUpdate = (m: WeightUpdateFields): Uint8Array => pb.WeightUpdate.encode(m).finish()

const TENSOR_NAME = /^[A-Za-z0-9_.:/-]{1,64}$/

/**
 * Decodes and checks a `WeightUpdate` (protos/aic.proto) from the network: at most
 * MAX_WEIGHT_UPDATE_BYTES, a scale of 150 or 200, a sequence of at least 1, 1 to
 * MAX_UPDATE_TENSORS tensors with distinct names of 1 to 64 characters `[A-Za-z0-9_.:/-]`,
 * shapes of 1 to 4 dimensions of at least 1 and at most MAX_UPDATE_TENSOR_ELEMENTS elements,
 * int8 per-channel values with one byte per element and one finite scale > 0 per output channel,
 * and an 8-byte checksum. Anything else throws MessageTooLargeError or MalformedMessageError
 * naming the field; it never returns a partial update.
 */
export function decodeWeightUpdate (b: Uint8Array): CheckedWeightUpdate {
  const m = safeDecode('WeightUpdate', pb.WeightUpdate, b, MAX_WEIGHT_UPDATE_BYTES)
  const bad = (field: string, why: string): never => {
    throw new MalformedMessageError(`WeightUpdate.${field}`, { cause: new RangeError(why) })
  }
  const scaleX100 = m.scaleX100
  if (scaleX100 !== 150 && scaleX100 !== 200) bad('scale_x100', `must be 150 or 200, got ${scaleX100}`)
  if (m.sequence < 1) bad('sequence', 'must be at least 1')
  if (m.tensors.length < 1 || m.tensors.length > MAX_UPDATE_TENSORS) bad('tensors', `must hold 1 to ${MAX_UPDATE_TENSORS} tensors, got ${m.tensors.length}`)
  if (m.checksum.byteLength !== WEIGHT_UPDATE_CHECKSUM_BYTES) bad('checksum', `must be ${WEIGHT_UPDATE_CHECKSUM_BYTES} bytes, got ${m.checksum.byteLength}`)
  const names = new Set<string>()
  const tensors = m.tensors.map((t, i): CheckedTensorUpdate => {
    const at = `tensors[${i}]`
    const name = t.name ?? ''
    if (!TENSOR_NAME.test(name)) bad(`${at}.name`, `must be 1 to 64 characters of [A-Za-z0-9_.:/-], got ${JSON.stringify(name.slice(0, 70))}`)
    if (names.has(name)) bad(`${at}.name`, `${name} appears twice`)
    names.add(name)
    const shape = t.shape ?? []
    if (shape.length < 1 || shape.length > 4) bad(`${at}.shape`, `must have 1 to 4 dimensions, got ${shape.length}`)
    let elements = 1
    for (const d of shape) {
      if (d < 1) bad(`${at}.shape`, 'has a dimension of 0')
      elements *= d
      if (elements > MAX_UPDATE_TENSOR_ELEMENTS) bad(`${at}.shape`, `has more than ${MAX_UPDATE_TENSOR_ELEMENTS} elements`)
    }
    if (t.quantisation !== pb.Quantisation.QUANTISATION_INT8_PER_CHANNEL) bad(`${at}.quantisation`, `must be INT8_PER_CHANNEL (1), got ${t.quantisation}`)
    const values = t.values ?? new Uint8Array(0)
    if (values.byteLength !== elements) bad(`${at}.values`, `must be ${elements} bytes (one per element of ${shape.join('x')}), got ${values.byteLength}`)
    const scales = t.scales ?? []
    if (scales.length !== shape[0]) bad(`${at}.scales`, `must be ${shape[0]} (one per output channel), got ${scales.length}`)
    for (const s of scales) if (!Number.isFinite(s) || !(s > 0)) bad(`${at}.scales`, `must each be finite and > 0, got ${s}`)
    return { name, shape: [...shape], quantisation: 'int8-per-channel', values: new Int8Array(values.buffer, values.byteOffset, values.byteLength).slice(), scales: Float32Array.from(scales) }
  })
  return { modelVersion: m.modelVersion, scaleX100: scaleX100 as 150 | 200, sequence: m.sequence, tensors, checksum: Uint8Array.from(m.checksum) }
}
