import { describe, expect, it } from 'vitest'
import * as core from '../src/index.js'
import { AURALINK_ERROR_CODES, AuraLinkError, DirectoryRejectedError, InvalidAuraIdError, InvalidStateError, upstreamErrorKind } from '../src/index.js'
import { expectAuraLinkErrors } from '../../../test-utils/errors.js'

describe('@auralink/core errors', () => {
  it('every exported error is an AuraLinkError with a code of its own from AuraLinkErrorCode', () => {
    const names = expectAuraLinkErrors(core, core)
    // every code is used by exactly one class: no code without its class
    expect(names).toHaveLength(AURALINK_ERROR_CODES.length)
    expect(new Set(AURALINK_ERROR_CODES).size).toBe(AURALINK_ERROR_CODES.length)
  })

  it('each code is ERR_ and the class name without "Error" in upper snake case', () => {
    for (const name of expectAuraLinkErrors(core, core)) {
      const C = (core as Record<string, unknown>)[name] as { code: string }
      const expected = 'ERR_' + name.replace(/Error$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
      expect(C.code, name).toBe(expected)
    }
  })

  it('instanceof narrows: DirectoryRejectedError carries reason, InvalidAuraIdError rule and input, and cause is kept', () => {
    const cause = new Error('the wire')
    const errors: unknown[] = [
      new DirectoryRejectedError('NAME_TAKEN', 'directory refused register: NAME_TAKEN', { cause }),
      new InvalidAuraIdError('@A!.aura', 'charset', 'bad'),
      new InvalidStateError()
    ]
    const seen: string[] = []
    for (const err of errors) {
      if (err instanceof DirectoryRejectedError) seen.push(`${err.code} ${err.reason} ${(err.cause as Error).message}`)
      else if (err instanceof InvalidAuraIdError) seen.push(`${err.code} ${err.rule} ${err.input} ${String(err.suggestion)}`)
      else if (err instanceof AuraLinkError) seen.push(`${err.code} ${err.message}`)
    }
    expect(seen).toEqual([
      'ERR_DIRECTORY_REJECTED NAME_TAKEN the wire',
      'ERR_INVALID_AURA_ID charset @A!.aura undefined',
      'ERR_INVALID_STATE the object is closed'
    ])
  })

  it('upstreamErrorKind() recognises the libp2p and platform errors AuraLink reacts to, and none of its own', () => {
    const named = (name: string, message = ''): Error => Object.assign(new Error(message), { name })
    expect(upstreamErrorKind(named('UnexpectedEOFError'))).toBe('unexpected-eof')
    expect(upstreamErrorKind(named('UnsupportedProtocolError'))).toBe('unsupported-protocol')
    expect(upstreamErrorKind(named('NotFoundError'))).toBe('not-found')
    expect(upstreamErrorKind(named('ConnectionDeniedError'))).toBe('connection-denied')
    expect(upstreamErrorKind(named('InvalidDataLengthError'))).toBe('data-too-long')
    expect(upstreamErrorKind(named('InvalidDataLengthLengthError'))).toBe('data-too-long')
    expect(upstreamErrorKind(named('InvalidMessageLengthError'))).toBe('bad-length')
    expect(upstreamErrorKind(named('InvalidMessageError', 'failed to connect via relay with status NO_RESERVATION'))).toBe('no-reservation')
    expect(upstreamErrorKind(named('InvalidMessageError', 'failed to connect via relay with status PERMISSION_DENIED'))).toBeUndefined()
    expect(upstreamErrorKind(new DOMException('signal timed out', 'TimeoutError'))).toBe('timeout')
    expect(upstreamErrorKind(new InvalidStateError())).toBeUndefined()
    expect(upstreamErrorKind('UnexpectedEOFError')).toBeUndefined()
    expect(upstreamErrorKind(undefined)).toBeUndefined()
  })

  it('instanceof holds across two copies of the package (the built dist and the source here), by name and code, and for nothing else', async () => {
    const dist = await import('@auralink/core')
    expect(dist.InvalidStateError).not.toBe(InvalidStateError)
    expect(new dist.InvalidStateError('closed')).toBeInstanceOf(InvalidStateError)
    expect(new InvalidStateError('closed')).toBeInstanceOf(dist.InvalidStateError)
    expect(new dist.DirectoryRejectedError('NAME_TAKEN', 'taken')).toBeInstanceOf(AuraLinkError)
    expect(new dist.DirectoryRejectedError('NAME_TAKEN', 'taken')).not.toBeInstanceOf(InvalidStateError)
    // Node's own errors may carry a code of the same spelling: not ours (another name)
    const nodeError = Object.assign(new TypeError('Invalid state'), { code: 'ERR_INVALID_STATE' })
    expect(nodeError).not.toBeInstanceOf(InvalidStateError)
    expect(nodeError).not.toBeInstanceOf(AuraLinkError)
    expect(Object.assign(new Error('x'), { code: 'ERR_SOMETHING_ELSE' })).not.toBeInstanceOf(AuraLinkError)
    expect({ name: 'InvalidStateError', code: 'ERR_INVALID_STATE' }).not.toBeInstanceOf(InvalidStateError) // not an Error
  })
})
