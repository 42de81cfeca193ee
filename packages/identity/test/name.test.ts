import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { auraIdSkeleton, InvalidAuraIdError, isAuraId, parseAuraId, validateAuraId } from '../src/index.js'

function ruleOf (input: unknown): string | undefined {
  try {
    validateAuraId(input as string)
    return undefined
  } catch (err) {
    expect((err as Error).name).toBe('InvalidAuraIdError')
    return (err as { rule: string }).rule
  }
}

describe('AuraID names', () => {
  it('validateAuraId() accepts canonical names of 3 to 32 characters', () => {
    for (const ok of ['@bob.aura', '@a1c.aura', '@alice-smith.aura', '@x_y.aura', `@${'a'.repeat(32)}.aura`, '@007.aura']) {
      expect(validateAuraId(ok)).toBe(ok)
    }
  })

  it.each([
    ['bob.aura', 'format'], ['@bob', 'format'], ['@bob.auraa', 'format'], ['@.aura', 'format'], ['bob', 'format']
  ])('validateAuraId(%j) is refused by the format rule', (input, rule) => {
    expect(ruleOf(input)).toBe(rule)
  })

  it('validateAuraId() refuses Cyrillic and other look-alikes, naming the character and its code point', () => {
    expect(ruleOf('@b\u043eb.aura')).toBe('look-alike') // Cyrillic o
    expect(ruleOf('@\u0430lice.aura')).toBe('look-alike') // Cyrillic a
    expect(ruleOf('@bob\u200b.aura')).toBe('look-alike') // zero-width space
    expect(ruleOf('@ｂob.aura')).toBe('look-alike') // full-width b
    expect(() => validateAuraId('@b\u043eb.aura')).toThrow(/U\+043E/)
  })

  it('validateAuraId() refuses upper case and other characters by the charset rule, suggesting lower case', () => {
    expect(ruleOf('@Bob.aura')).toBe('charset')
    expect(() => validateAuraId('@Bob.aura')).toThrow(/use lower case: @bob\.aura/)
    expect(ruleOf('@bo b.aura')).toBe('charset')
    expect(ruleOf('@bo.b.aura')).toBe('charset')
    expect(ruleOf('@bo$b.aura')).toBe('charset')
  })

  it('validateAuraId("@Bob.aura") carries the suggestion @bob.aura; validateAuraId("@A!.aura") offers none, since @a!.aura is invalid too', () => {
    expect(() => validateAuraId('@Bob.aura')).toThrow(expect.objectContaining({ rule: 'charset', suggestion: '@bob.aura' }))
    for (const input of ['@A!.aura', '@AB.aura', '@A--B.aura', '@-Bob.aura', '@ADMIN.aura']) {
      let err: unknown
      try { validateAuraId(input) } catch (e) { err = e }
      expect(err, input).toBeInstanceOf(InvalidAuraIdError)
      expect((err as InvalidAuraIdError).suggestion, input).toBeUndefined()
      expect((err as Error).message, input).not.toMatch(/use lower case/)
    }
  })

  it('validateAuraId(): every suggestion it offers passes validateAuraId itself and is named in the message (property)', () => {
    const chars = fc.constantFrom(...'abzAZQ09-_.!$ \u00e9\u0430'.split(''))
    const names = fc.oneof(
      fc.string(),
      fc.string({ unit: chars, maxLength: 40 }).map((label) => `@${label}.aura`),
      fc.string({ unit: chars, maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(...'abAB09-'.split('')), minLength: 1, maxLength: 34 }).map((label) => `@${label}.aura`)
    )
    let offered = 0
    fc.assert(fc.property(names, (input) => {
      try {
        validateAuraId(input)
        return
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidAuraIdError)
        const { suggestion } = err as InvalidAuraIdError
        if (suggestion === undefined) return
        offered++
        expect(validateAuraId(suggestion)).toBe(suggestion)
        expect((err as Error).message).toContain(suggestion)
      }
    }), { numRuns: 2000 })
    expect(offered).toBeGreaterThan(0)
  })

  it('validateAuraId() refuses names shorter than 3 or longer than 32 by the length rule', () => {
    expect(ruleOf('@ab.aura')).toBe('length')
    expect(ruleOf(`@${'a'.repeat(33)}.aura`)).toBe('length')
    expect(() => validateAuraId('@ab.aura')).toThrow(/2 characters: it must be 3 to 32/)
  })

  it('validateAuraId() refuses separators at the edges and in pairs', () => {
    expect(ruleOf('@-bob.aura')).toBe('edges')
    expect(ruleOf('@bob_.aura')).toBe('edges')
    expect(ruleOf('@bo--b.aura')).toBe('repeats')
    expect(ruleOf('@bo_-b.aura')).toBe('repeats')
  })

  it('validateAuraId() refuses reserved names', () => {
    for (const r of ['@admin.aura', '@auralink.aura', '@support.aura', '@root.aura']) expect(ruleOf(r)).toBe('reserved')
  })

  it('validateAuraId() refuses non-strings with the type rule', () => {
    expect(ruleOf(42)).toBe('type')
    expect(ruleOf(null)).toBe('type')
  })

  it('parseAuraId() canonicalises what people type', () => {
    expect(parseAuraId(' Bob ')).toBe('@bob.aura')
    expect(parseAuraId('@ALICE.aura')).toBe('@alice.aura')
    expect(parseAuraId('carol.aura')).toBe('@carol.aura')
    expect(() => parseAuraId('b')).toThrow(expect.objectContaining({ rule: 'length' }))
    expect(isAuraId('@bob.aura')).toBe(true)
    expect(isAuraId('@b.aura')).toBe(false)
  })

  it('auraIdSkeleton() maps names that read alike to one skeleton', () => {
    expect(auraIdSkeleton('@b0b.aura')).toBe(auraIdSkeleton('@bob.aura'))
    expect(auraIdSkeleton('@rnary.aura')).toBe(auraIdSkeleton('@mary.aura'))
    expect(auraIdSkeleton('@a_b-c.aura')).toBe(auraIdSkeleton('@a-b-c.aura'))
    expect(auraIdSkeleton('@alice.aura')).toBe(auraIdSkeleton('@a1ice.aura'))
    expect(auraIdSkeleton('@alice.aura')).not.toBe(auraIdSkeleton('@alicf.aura'))
  })
})
