/**
 * Tool 1's adaptive mode on the wire (issue 20): the sender turns weights it fitted to its own
 * frames into a `WeightUpdate` (protos/aic.proto: int8 per output channel, a SHA-256 checksum of
 * the weights the receiver will run), and the receiver turns one back into float32 tensors,
 * refusing any that is not for its model or whose weights do not match the checksum. Both sides
 * run exactly the same float32 weights: the sender keeps the dequantised tensors it sent
 * (`applied`), not the ones it fitted.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { MalformedMessageError } from '@auralink/core'
import { decodeWeightUpdate, encodeWeightUpdate, Quantisation, WEIGHT_UPDATE_CHECKSUM_BYTES } from '@auralink/protocol'
import type { CheckedTensorUpdate } from '@auralink/protocol'

/** A float32 tensor of the enhancer, by its name in the shipped model. */
export interface NamedTensor {
  name: string
  shape: number[]
  values: Float32Array
}

/** What makeWeightUpdate() needs. */
export interface WeightUpdateInit {
  modelVersion: number
  scaleX100: 150 | 200
  /** From 1, rising with each update of a call. */
  sequence: number
  tensors: NamedTensor[]
}

/** What the receiver's enhancer expects of an update: its model, and the shape of each tensor it lets an update change. */
export interface WeightUpdateTarget {
  modelVersion: number
  scaleX100: 150 | 200
  shapes: ReadonlyMap<string, readonly number[]>
}

/** An update read and checked: its sequence and the float32 tensors to run, by name. */
export interface AppliedWeights {
  sequence: number
  tensors: Map<string, Float32Array>
}

const elementsOf = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1)

/** A channel whose weights are all smaller than this in magnitude is sent as zeros. */
export const FLUSH_BELOW = 1e-30

/**
 * Symmetric int8 per output channel (the first dimension): each channel's scale is its largest
 * magnitude over 127 (1 for a channel of zeros, or of weights all under FLUSH_BELOW, which it sends as zeros), each value round(w / scale) in -127..127.
 * Returns the int8 values as bytes (two's complement) and the scales, as float32.
 */
export function quantiseInt8PerChannel (values: Float32Array, shape: readonly number[]): { values: Uint8Array, scales: Float32Array } {
  if (shape.length < 1 || values.length !== elementsOf(shape)) throw new RangeError(`quantiseInt8PerChannel: ${values.length} values do not fill shape ${shape.join('x')}`)
  const channels = shape[0]!
  const per = values.length / channels
  const q = new Int8Array(values.length)
  const scales = new Float32Array(channels)
  for (let c = 0; c < channels; c++) {
    let max = 0
    for (let i = c * per; i < (c + 1) * per; i++) {
      const v = values[i]!
      if (!Number.isFinite(v)) throw new RangeError(`quantiseInt8PerChannel: value ${i} is ${v}`)
      max = Math.max(max, Math.abs(v))
    }
    scales[c] = 1
    // a channel whose largest weight is under FLUSH_BELOW does nothing in float32 next to
    // activations of about 1: it is sent as zeros (its scale would underflow float32 to 0)
    if (max < FLUSH_BELOW) continue
    const scale = Math.fround(max / 127)
    scales[c] = scale
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(values[i]! / scale)))
  }
  return { values: new Uint8Array(q.buffer), scales }
}

/** A tensor's float32 weights: each int8 value times its output channel's scale, in float32. */
export function dequantise (t: Pick<CheckedTensorUpdate, 'shape' | 'values' | 'scales'>): Float32Array {
  const per = t.values.length / t.shape[0]!
  const out = new Float32Array(t.values.length)
  for (let i = 0; i < out.length; i++) out[i] = t.values[i]! * t.scales[Math.floor(i / per)]!
  return out
}

/** The first 8 bytes of SHA-256 over the tensors' float32 values, in order, little-endian. */
export function weightChecksum (tensors: readonly Float32Array[]): Uint8Array {
  const total = tensors.reduce((a, t) => a + t.length, 0)
  const bytes = new Uint8Array(total * 4)
  const view = new DataView(bytes.buffer)
  let at = 0
  for (const t of tensors) for (const v of t) { view.setFloat32(at, v, true); at += 4 }
  return sha256(bytes).slice(0, WEIGHT_UPDATE_CHECKSUM_BYTES)
}

/**
 * The sender: quantises `init.tensors` and encodes the update. `applied` holds the float32
 * tensors the receiver will run (the dequantised ones): the sender's own copy of the enhancer
 * (which it measures its gains with) must run these, not the fitted ones.
 */
export function makeWeightUpdate (init: WeightUpdateInit): { bytes: Uint8Array, applied: Map<string, Float32Array> } {
  const applied = new Map<string, Float32Array>()
  const tensors = init.tensors.map((t) => {
    const q = quantiseInt8PerChannel(t.values, t.shape)
    applied.set(t.name, dequantise({ shape: t.shape, values: new Int8Array(q.values.buffer, q.values.byteOffset, q.values.byteLength), scales: q.scales }))
    return { name: t.name, shape: [...t.shape], quantisation: Quantisation.QUANTISATION_INT8_PER_CHANNEL, values: q.values, scales: [...q.scales] }
  })
  const checksum = weightChecksum([...applied.values()])
  const bytes = encodeWeightUpdate({ modelVersion: init.modelVersion, scaleX100: init.scaleX100, sequence: init.sequence, tensors, checksum })
  // the same checks the receiver makes: an update this side cannot read is never sent
  decodeWeightUpdate(bytes)
  return { bytes, applied }
}

/**
 * The receiver: decodes and checks an update from the network (decodeWeightUpdate's checks),
 * then that it is for `target`'s model and scale, that each tensor is one the target lets an
 * update change, with the target's shape, and that the dequantised weights match the checksum.
 * Throws MalformedMessageError naming what is wrong; returns the float32 tensors to run.
 */
export function readWeightUpdate (bytes: Uint8Array, target: WeightUpdateTarget): AppliedWeights {
  const u = decodeWeightUpdate(bytes)
  const bad = (field: string, why: string): never => {
    throw new MalformedMessageError(`WeightUpdate.${field}`, { cause: new RangeError(why) })
  }
  if (u.modelVersion !== target.modelVersion) bad('model_version', `is ${u.modelVersion}; this enhancer runs model ${target.modelVersion}`)
  if (u.scaleX100 !== target.scaleX100) bad('scale_x100', `is ${u.scaleX100}; this enhancer is ${target.scaleX100}`)
  const tensors = new Map<string, Float32Array>()
  u.tensors.forEach((t, i) => {
    const shape = target.shapes.get(t.name)
    if (shape === undefined) bad(`tensors[${i}].name`, `${t.name} is not a tensor an update may change (${[...target.shapes.keys()].join(', ')})`)
    if (shape!.length !== t.shape.length || shape!.some((d, k) => d !== t.shape[k])) bad(`tensors[${i}].shape`, `${t.name} is ${shape!.join('x')}, the update says ${t.shape.join('x')}`)
    tensors.set(t.name, dequantise(t))
  })
  const sum = weightChecksum([...tensors.values()])
  if (sum.some((b, i) => b !== u.checksum[i])) bad('checksum', 'does not match the weights after dequantisation')
  return { sequence: u.sequence, tensors }
}
