import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeSipControl, decodeSipEvent, decodeSipIncoming, decodeSipRequest, encodeSipControl, encodeSipEvent, encodeSipIncoming, encodeSipRequest,
  MAX_SIP_MESSAGE_BYTES
} from '../src/index.js'
import type { SipEndReason } from '../src/index.js'

describe('SIP protocol messages', () => {
  it('round-trip every field', () => {
    expect(decodeSipRequest(encodeSipRequest({ target: 'sip:alice@127.0.0.1:5062', offerSdp: 'v=0\r\n' }))).toEqual({ target: 'sip:alice@127.0.0.1:5062', offerSdp: 'v=0\r\n' })
    expect(decodeSipControl(encodeSipControl({ dtmf: '12#' }))).toEqual({ dtmf: '12#', hangup: false })
    expect(decodeSipIncoming(encodeSipIncoming({ from: 'sip:carol@pbx', displayName: 'C'.repeat(80) }))).toEqual({ from: 'sip:carol@pbx', displayName: 'C'.repeat(64) })
    expect(decodeSipControl(encodeSipControl({ hangup: true }))).toEqual({ dtmf: '', hangup: true })
    expect(decodeSipEvent(encodeSipEvent({ answerSdp: 'v=0', state: 'calling' }))).toEqual({ answerSdp: 'v=0', state: 'calling', dtmf: '', status: 0, message: '' })
    const reasons: SipEndReason[] = ['hangup', 'remote-hangup', 'busy', 'declined', 'not-found', 'unreachable', 'failed', 'refused', 'limit']
    for (const endReason of reasons) {
      expect(decodeSipEvent(encodeSipEvent({ state: 'ended', endReason, status: 486, message: 'Busy Here' }))).toEqual({ answerSdp: '', state: 'ended', dtmf: '', endReason, status: 486, message: 'Busy Here' })
    }
  })

  it('cut the message to 256 characters, and give undefined for a state or reason this version does not know', () => {
    expect(decodeSipEvent(encodeSipEvent({ state: 'ended', message: 'x'.repeat(300) })).message).toHaveLength(256)
    // field 2 (state) = 9, field 4 (end_reason) = 42: numbers no version of ours sends
    const m = decodeSipEvent(Uint8Array.from([0x10, 9, 0x20, 42]))
    expect(m.state).toBeUndefined()
    expect(m.endReason).toBeUndefined()
  })

  it('refuse a message over MAX_SIP_MESSAGE_BYTES with MessageTooLargeError', () => {
    const big = encodeSipRequest({ target: 'sip:a@b', offerSdp: 'x'.repeat(MAX_SIP_MESSAGE_BYTES) })
    expect(() => decodeSipRequest(big)).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
  })

  it('decoders throw nothing but the two typed errors on random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      for (const decode of [decodeSipRequest, decodeSipControl, decodeSipEvent, decodeSipIncoming]) {
        try {
          decode(bytes)
        } catch (err) {
          expect(['MalformedMessageError', 'MessageTooLargeError']).toContain((err as Error).name)
        }
      }
    }), { numRuns: 2000 })
  })
})
