import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ASCII_CONFUSABLES, CONFUSABLES_VERSION } from '../src/confusables-data.js'
import { AURAID_SKELETON_VERSION, auraIdSkeleton, isAuraId } from '../src/index.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Names that read alike: each must share its partner's skeleton. */
const ALIKE: Array<[string, string]> = [
  ['@alic3.aura', '@alice.aura'],
  ['@a-lice.aura', '@alice.aura'],
  ['@a_lice.aura', '@alice.aura'],
  ['@al-ice.aura', '@alice.aura'],
  ['@a1ice.aura', '@alice.aura'],
  ['@al1ce.aura', '@alice.aura'],
  ['@a1ic3.aura', '@alice.aura'],
  ['@b8b.aura', '@bob.aura'],
  ['@b0b.aura', '@bob.aura'],
  ['@6ob.aura', '@bob.aura'],
  ['@rnary.aura', '@mary.aura'],
  ['@vvalter.aura', '@walter.aura'],
  ['@5am.aura', '@sam.aura'],
  ['@t0m.aura', '@tom.aura'],
  ['@7om.aura', '@tom.aura'],
  ['@9reg.aura', '@greg.aura'],
  ['@4nna.aura', '@anna.aura'],
  ['@li2.aura', '@liz.aura'],
  ['@jo-anne.aura', '@joanne.aura'],
  ['@bob-smith.aura', '@bob_smith.aura'],
  ['@bob-smith.aura', '@bobsmith.aura'],
  ['@kai.aura', '@kal.aura'],
  ['@room-80.aura', '@room-88.aura'] // 0 and 8 both pass for o: a documented cost of @b8b ~ @bob
]

/** Honest names that must stay distinct: a rule wide enough to join these would refuse real people. */
const DISTINCT: Array<[string, string]> = [
  ['@bob.aura', '@rob.aura'],
  ['@alice.aura', '@alicia.aura'],
  ['@anna.aura', '@ann.aura'],
  ['@alice.aura', '@alicf.aura'],
  ['@mary.aura', '@marty.aura'],
  ['@tom.aura', '@tim.aura'],
  ['@bob.aura', '@bobby.aura'],
  ['@sam.aura', '@pam.aura'],
  ['@kate.aura', '@katie.aura'],
  ['@eve.aura', '@ewe.aura'],
  ['@dan.aura', '@clan.aura'],
  ['@doe.aura', '@cl0e.aura'],
  ['@alice2.aura', '@alice3.aura'],
  ['@team1.aura', '@team2.aura'],
  ['@bob.aura', '@bbb.aura']
]

describe('auraIdSkeleton', () => {
  it.each(ALIKE)('auraIdSkeleton(%j) equals auraIdSkeleton(%j)', (a, b) => {
    expect(auraIdSkeleton(a)).toBe(auraIdSkeleton(b))
  })

  it.each(DISTINCT)('auraIdSkeleton(%j) differs from auraIdSkeleton(%j)', (a, b) => {
    expect(auraIdSkeleton(a)).not.toBe(auraIdSkeleton(b))
  })

  it('auraIdSkeleton() gives the documented skeletons', () => {
    expect(auraIdSkeleton('@alice.aura')).toBe('allce')
    expect(auraIdSkeleton('@b8b.aura')).toBe('bob')
    expect(auraIdSkeleton('@mary.aura')).toBe('rnary')
    expect(auraIdSkeleton('@walter.aura')).toBe('vvalter')
    expect(auraIdSkeleton('@a-b_c.aura')).toBe('abc')
    expect(auraIdSkeleton('@0123456789.aura')).toBe('olzeasbtog')
  })

  it('auraIdSkeleton() is idempotent: the skeleton of "@<skeleton>.aura" is the skeleton itself', () => {
    const label = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'), { minLength: 3, maxLength: 32 }).map((cs) => cs.join(''))
    fc.assert(fc.property(label, (l) => {
      const name = `@${l}.aura`
      fc.pre(isAuraId(name))
      const s = auraIdSkeleton(name)
      expect(s).toMatch(/^[a-z]+$/)
      expect(auraIdSkeleton(name)).toBe(s) // deterministic
      if (isAuraId(`@${s}.aura`)) expect(auraIdSkeleton(`@${s}.aura`)).toBe(s)
    }), { numRuns: 2000 })
  })

  it('auraIdSkeleton() maps every character of the AuraID alphabet to letters that map to themselves', () => {
    for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789') {
      const s = auraIdSkeleton(`@a${c}a.aura`).slice(1, -1)
      expect(s).toMatch(/^[a-z]+$/)
      for (const t of s) expect(auraIdSkeleton(`@a${t}a.aura`)).toBe(`a${t}a`)
    }
  })

  it('auraIdSkeleton() throws InvalidAuraIdError for what is not an AuraID', () => {
    expect(() => auraIdSkeleton('@Bob.aura')).toThrow(expect.objectContaining({ name: 'InvalidAuraIdError', rule: 'charset' }))
    expect(() => auraIdSkeleton('bob')).toThrow(expect.objectContaining({ name: 'InvalidAuraIdError', rule: 'format' }))
  })

  it('AURAID_SKELETON_VERSION is 2 (the rule with Unicode\'s confusables and digit folds)', () => {
    expect(AURAID_SKELETON_VERSION).toBe(2)
  })
})

describe('ASCII_CONFUSABLES (confusables-data.ts)', () => {
  it('holds the ASCII rows of UTS #39 confusables.txt, among them m → rn, 0 → O, 1 → l', () => {
    expect(CONFUSABLES_VERSION).toMatch(/^\d+\.\d+\.\d+$/)
    expect(ASCII_CONFUSABLES).toMatchObject({ m: 'rn', 0: 'O', 1: 'l', I: 'l' })
    for (const [from, to] of Object.entries(ASCII_CONFUSABLES)) {
      expect(from).toMatch(/^[\x21-\x7e]$/)
      expect(to).toMatch(/^[\x21-\x7e]+$/)
    }
  })

  it('"node scripts/gen-confusables.mjs --check" finds the committed table up to date', () => {
    const out = execFileSync(process.execPath, [join(root, 'scripts/gen-confusables.mjs'), '--check'], { encoding: 'utf8', timeout: 30_000 })
    expect(out).toContain('up to date')
  })
})
