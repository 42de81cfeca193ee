import { upstreamErrorKind } from '@auralink/core'
import { lpStream } from '@libp2p/utils'
import { Key } from 'interface-datastore'
import type { DhtLocalRecords, DhtStoredValue } from './dht-policy.js'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/**
 * What kad-dht (`@libp2p/kad-dht` 16) keeps and speaks, read and written here without its
 * internals: its record store in the libp2p datastore (`<datastorePrefix>/record/<base32 key>`,
 * each value a libp2p Record protobuf: key 1, value 2, timeReceived 5 as RFC 3339), and one
 * GET_VALUE request on its protocol (Message: type 1 = GET_VALUE (1), key 2; the answer's record 3).
 */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'
/** Most bytes of one GET_VALUE answer read: a record (at most 10 KiB) and up to 20 closer peers. */
const MAX_ANSWER_BYTES = 256 * 1024

/** RFC 4648 base32, lower case, no padding: how kad-dht names a key in its datastore. */
export function base32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

function bytesField (field: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.byteLength), ...bytes])
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** The first length-delimited field `field` of a protobuf message; throws on a malformed message. */
export function protobufBytes (bytes: Uint8Array, field: number): Uint8Array | undefined {
  let i = 0
  const read = (): number => {
    let v = 0
    for (let shift = 0; shift < 64; shift += 7) {
      const b = bytes[i++]
      if (b === undefined) throw new RangeError('truncated protobuf varint')
      v += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return v
    }
    throw new RangeError('protobuf varint too long')
  }
  while (i < bytes.byteLength) {
    const tag = read()
    const type = tag & 7
    if (type === 0) read()
    else if (type === 1) i += 8
    else if (type === 5) i += 4
    else if (type === 2) {
      const length = read()
      if (i + length > bytes.byteLength) throw new RangeError('truncated protobuf field')
      if (Math.floor(tag / 8) === field) return bytes.subarray(i, i + length)
      i += length
    } else throw new RangeError(`unsupported protobuf wire type ${type}`)
  }
  return undefined
}

/** kad-dht's timeReceived: RFC 3339 with nanoseconds, as @libp2p/record writes it. */
function rfc3339 (time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

/** A libp2p Record protobuf, as kad-dht stores one. */
export function encodeDhtRecord (key: Uint8Array, value: Uint8Array, received: Date): Uint8Array {
  return concat([bytesField(1, key), bytesField(2, value), bytesField(5, new TextEncoder().encode(rfc3339(received)))])
}

/** Key, value and time received of a stored libp2p Record; throws RangeError when it is not one. */
export function decodeDhtRecord (bytes: Uint8Array): DhtStoredValue & { key: Uint8Array } {
  const key = protobufBytes(bytes, 1)
  const value = protobufBytes(bytes, 2)
  if (key === undefined || value === undefined) throw new RangeError('a DHT record without a key or a value')
  const time = protobufBytes(bytes, 5)
  const receivedAt = time === undefined ? NaN : Date.parse(new TextDecoder().decode(time).replace(/\.(\d{3})\d*Z$/, '.$1Z'))
  // a record that cannot be dated counts as too old to answer
  return { key, value, receivedAt: Number.isFinite(receivedAt) ? receivedAt : 0 }
}

/**
 * This node's kad-dht record store, in the datastore libp2p was given (`datastorePrefix` as
 * configured on kadDHT). Records that do not decode are skipped by `entries` and absent for `get`.
 */
export function dhtRecordStore (datastore: Datastore, datastorePrefix = '/dht'): DhtLocalRecords {
  const prefix = `${datastorePrefix}/record`
  const keyOf = (key: Uint8Array): Key => new Key(`${prefix}/${base32(key)}`, false)
  return {
    async get (key, options) {
      let bytes: Uint8Array
      try {
        bytes = await datastore.get(keyOf(key), options)
      } catch (err) {
        if (upstreamErrorKind(err) === 'not-found') return undefined
        throw err
      }
      try {
        const { value, receivedAt } = decodeDhtRecord(bytes)
        return { value, receivedAt }
      } catch {
        return undefined
      }
    },
    async * entries (options) {
      for await (const { value } of datastore.query({ prefix: `${prefix}/` }, options)) {
        try {
          yield decodeDhtRecord(value)
        } catch {
          // not a record (another use of the prefix, or damage): nothing this node answers
        }
      }
    },
    async put (key, value, options) {
      await datastore.put(keyOf(key), encodeDhtRecord(key, value, new Date()), options)
    }
  }
}

/** How `kadGetValue` opens a stream (`libp2p.dialProtocol` fits). */
export type OpenDhtStream = (peer: PeerId, protocol: string, options: AbortOptions) => Promise<Stream>

/**
 * One kad-dht GET_VALUE to `peer` on `protocol`: the value of the record it answers, or
 * undefined when it answers none. For `dhtNetwork`'s `getValue`; the caller verifies the value.
 */
export function kadGetValue (open: OpenDhtStream, protocol: string): (peer: PeerId, key: Uint8Array, options: AbortOptions) => Promise<Uint8Array | undefined> {
  return async (peer, key, options) => {
    const stream = await open(peer, protocol, options)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
      await lp.write(concat([Uint8Array.of(0x08, 0x01), bytesField(2, key)]), options)
      const answer = (await lp.read(options)).subarray()
      await stream.close(options).catch(() => {})
      const record = protobufBytes(answer, 3)
      return record === undefined ? undefined : protobufBytes(record, 2)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }
}
