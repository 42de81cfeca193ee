import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeAuraIdRecord, decodeDirectoryRequest, decodeDirectoryResponse, decodeSignedAuraIdRecord,
  DirectoryOp, encodeAuraIdRecord, encodeDirectoryRequest, encodeSignedAuraIdRecord,
  MAX_DIRECTORY_REQUEST_BYTES, MAX_RECORD_BYTES, Visibility
} from '../src/index.js'

const record = {
  name: '@bob.aura', publicKey: new Uint8Array(36).fill(7), sequence: 3, validity: 1_900_000_000_000,
  ttl: 300, visibility: Visibility.VISIBILITY_UNLISTED, profile: { displayName: 'Bob', avatar: '' }
}

describe('@auralink/protocol decoders', () => {
  it('decodeAuraIdRecord(encodeAuraIdRecord(r)) gives back every field', () => {
    const back = decodeAuraIdRecord(encodeAuraIdRecord(record))
    expect(back.name).toBe('@bob.aura')
    expect(back.sequence).toBe(3)
    expect(back.validity).toBe(1_900_000_000_000)
    expect(back.visibility).toBe(Visibility.VISIBILITY_UNLISTED)
    expect(back.profile?.displayName).toBe('Bob')
    expect(Array.from(back.publicKey)).toEqual(Array.from(record.publicKey))
  })

  it('decodeSignedAuraIdRecord refuses input over MAX_RECORD_BYTES with MessageTooLargeError', () => {
    const big = encodeSignedAuraIdRecord({ payload: new Uint8Array(MAX_RECORD_BYTES), signature: new Uint8Array(64) })
    expect(() => decodeSignedAuraIdRecord(big)).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
  })

  it('decodeDirectoryRequest refuses input over MAX_DIRECTORY_REQUEST_BYTES', () => {
    expect(() => decodeDirectoryRequest(new Uint8Array(MAX_DIRECTORY_REQUEST_BYTES + 1)))
      .toThrow(expect.objectContaining({ name: 'MessageTooLargeError', limit: MAX_DIRECTORY_REQUEST_BYTES }))
  })

  it('every truncation of a valid request is refused with MalformedMessageError or decodes to a shorter message', () => {
    const bytes = encodeDirectoryRequest({ op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura', record: new Uint8Array(40).fill(1) })
    for (let n = 1; n < bytes.length; n++) {
      try {
        const m = decodeDirectoryRequest(bytes.subarray(0, n))
        // a cut on a field boundary is a valid, shorter message: it must not carry the full record
        expect(m.record.length < 40 || m.name !== '@alice.aura').toBe(true)
      } catch (err) {
        expect((err as Error).name).toBe('MalformedMessageError')
      }
    }
  })

  it('decodeAuraIdRecord on a truncated varint throws MalformedMessageError naming the type', () => {
    const bytes = encodeAuraIdRecord(record)
    // field 3 (sequence) tag is 0x18; cut right after it
    const cut = bytes.subarray(0, bytes.indexOf(0x18) + 1)
    expect(() => decodeAuraIdRecord(cut)).toThrow(/AuraIdRecord could not be decoded/)
  })

  it('decoders never throw anything but the two typed errors on random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      for (const decode of [decodeAuraIdRecord, decodeSignedAuraIdRecord, decodeDirectoryRequest, decodeDirectoryResponse]) {
        try {
          decode(bytes)
        } catch (err) {
          expect(['MalformedMessageError', 'MessageTooLargeError']).toContain((err as Error).name)
        }
      }
    }), { numRuns: 2000 })
  })

  it('decoders throw TypeError naming the argument for a non-Uint8Array', () => {
    expect(() => decodeAuraIdRecord('abc' as unknown as Uint8Array)).toThrow(TypeError)
  })
})
