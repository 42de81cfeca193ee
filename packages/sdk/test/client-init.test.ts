import { describe, expect, it } from 'vitest'
import { checkAicInit, checkInit, checkMedia } from '../src/client-init.js'
import { checkSipTarget } from '../src/phone-call.js'
import type { AuraLinkInit } from '../src/client-init.js'

const relays = ['ws://127.0.0.1:4001']

describe('checkInit(), checkAicInit(), checkMedia()', () => {
  it('checkInit(init) resolves connectTimeoutMs and maxCalls, with their defaults', () => {
    expect(checkInit({ relays })).toEqual({ connectTimeoutMs: 15000, maxCalls: 1 })
    expect(checkInit({ relays, connectTimeoutMs: 500, maxCalls: 3 })).toEqual({ connectTimeoutMs: 500, maxCalls: 3 })
  })

  it('checkInit(init) takes phone: { incoming } as a boolean and names anything else', () => {
    expect(() => checkInit({ relays, phone: { incoming: true } })).not.toThrow()
    expect(() => checkInit({ relays, phone: {} })).not.toThrow()
    expect(() => checkInit({ relays, phone: { incoming: 'yes' } as unknown as { incoming: boolean } })).toThrow('init.phone must be { incoming?: boolean }, got {"incoming":"yes"}')
    expect(() => checkInit({ relays, phone: null as unknown as { incoming: boolean } })).toThrow('init.phone must be { incoming?: boolean }, got null')
  })

  it('checkSipTarget() takes sip:user@host[:port] of at most 256 characters and names anything else', () => {
    expect(checkSipTarget('sip:alice@127.0.0.1:5062')).toBe('sip:alice@127.0.0.1:5062')
    for (const bad of ['sip:alice', 'tel:+15551234', 'sip:a b@host', `sip:${'a'.repeat(250)}@host`, 'sip:a@b@c']) {
      expect(() => checkSipTarget(bad)).toThrow(`a phone call's target must be a SIP URI sip:user@host[:port] of at most 256 characters, got ${JSON.stringify(bad.slice(0, 80))}`)
    }
  })

  it('checkInit(init) rejects a missing init or empty relays with a TypeError naming the field', () => {
    expect(() => checkInit(null as unknown as AuraLinkInit)).toThrow(/init must be an object, got null/)
    expect(() => checkInit({ relays: [] })).toThrow(TypeError)
    expect(() => checkInit({ relays: [] })).toThrow(/init\.relays/)
  })

  it('checkInit(init) rejects out-of-range connectTimeoutMs, reconnect.timeoutMs and maxCalls with a RangeError', () => {
    expect(() => checkInit({ relays, connectTimeoutMs: 0 })).toThrow(RangeError)
    expect(() => checkInit({ relays, reconnect: { timeoutMs: 99 } })).toThrow(/init\.reconnect\.timeoutMs/)
    expect(() => checkInit({ relays, maxCalls: 1.5 })).toThrow(/init\.maxCalls/)
  })

  it('checkAicInit(aic) rejects a bad mode, runtime, threads or modelUrls key', () => {
    expect(() => { checkAicInit(undefined) }).not.toThrow()
    expect(() => { checkAicInit({ runtime: 'gpu' as 'auto' }) }).toThrow(/init\.aic\.runtime/)
    expect(() => { checkAicInit({ threads: 17 }) }).toThrow(RangeError)
    expect(() => { checkAicInit({ modelUrls: { 3: 'x' } as Record<string, string> }) }).toThrow(/modelUrls takes keys/)
  })

  it('checkMedia(media, what) defaults data to true and rejects a non-boolean flag', () => {
    expect(checkMedia({ audio: true }, 'call')).toEqual({ audio: true, video: false, data: true })
    expect(() => checkMedia({ video: 'yes' as unknown as boolean }, 'call')).toThrow(/call: media\.video must be a boolean/)
  })
})
