import { expect } from 'vitest'
import * as built from '@auralink/core'

// The one check every package's errors get (a test per package calls it with its public surface):
// every exported error class is an AuraLinkError whose code is one of AURALINK_ERROR_CODES, the
// same on the class and its instances, named as exported, and no two classes share a code.

type ErrorClass = (abstract new (...args: never[]) => Error) & { readonly code?: unknown }

/** The exported classes of `exports` that are errors (subclasses of Error), by export name. */
export function exportedErrorClasses (exports: Record<string, unknown>): Map<string, ErrorClass> {
  const out = new Map<string, ErrorClass>()
  for (const [key, value] of Object.entries(exports)) {
    if (typeof value === 'function' && (value.prototype instanceof Error || value === Error)) out.set(key, value as ErrorClass)
  }
  return out
}

/** What the check needs of @auralink/core: its built copy, which the packages import, unless given. */
export interface CoreErrors { AuraLinkError: typeof built.AuraLinkError, AURALINK_ERROR_CODES: readonly string[] }

/**
 * Checks every error class `exports` holds (AuraLinkError itself aside) and returns their names.
 * Each is made with placeholder arguments (strings and numbers are all any constructor takes).
 */
export function expectAuraLinkErrors (exports: Record<string, unknown>, core: CoreErrors = built): string[] {
  const { AuraLinkError, AURALINK_ERROR_CODES } = core
  const classes = exportedErrorClasses(exports)
  classes.delete('AuraLinkError')
  const codes = new Map<unknown, string>()
  for (const [key, C] of classes) {
    expect(C.prototype, `${key} extends AuraLinkError`).toBeInstanceOf(AuraLinkError)
    expect(AURALINK_ERROR_CODES, `${key}.code is an AuraLinkErrorCode`).toContain(C.code)
    expect(codes.get(C.code), `${key}.code is its own`).toBeUndefined()
    codes.set(C.code, key)
    const err = new (C as unknown as new (...args: unknown[]) => built.AuraLinkError)('x', 'x', 'x')
    expect(err).toBeInstanceOf(AuraLinkError)
    expect(err).toBeInstanceOf(Error)
    expect(err.code, `${key}: an instance's code is its class's`).toBe(C.code)
    expect(err.name, `${key}: its name is its export name`).toBe(key)
    expect(C.name).toBe(key)
    expect(typeof err.message).toBe('string')
  }
  return [...classes.keys()]
}
