import { MalformedMessageError, MessageTooLargeError } from './errors.js'

interface Decodable<T> {
  decode(reader: Uint8Array): T
}

/**
 * Decodes `bytes` as `type`, refusing input over `limit` bytes and turning every
 * decoding failure (truncated, corrupted, wrong wire type, nested too deep) into a
 * typed error. It never returns a partial message.
 */
export function safeDecode<T> (typeName: string, type: Decodable<T>, bytes: Uint8Array, limit: number): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${typeName}: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`)
  }
  if (bytes.byteLength > limit) {
    throw new MessageTooLargeError(typeName, bytes.byteLength, limit)
  }
  try {
    return type.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(typeName, { cause: err })
  }
}

interface LongLike { toNumber(): number, high: number, unsigned?: boolean }

/**
 * protobufjs decodes 64-bit fields as `Long` objects when the `long` package is present.
 * AuraLink's 64-bit fields (sequence numbers, millisecond times) fit in a double; this turns
 * them into numbers and refuses values past Number.MAX_SAFE_INTEGER.
 */
export function toSafeNumber (typeName: string, field: string, value: number | LongLike | null | undefined): number {
  const n = value == null ? 0 : typeof value === 'number' ? value : value.toNumber()
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new MalformedMessageError(`${typeName}.${field}`, { cause: new RangeError(`value out of the safe integer range`) })
  }
  return n
}
