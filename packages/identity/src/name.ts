import { MAX_NAME_LENGTH, MIN_NAME_LENGTH, RESERVED_NAMES } from './constants.js'
import { InvalidAuraIdError } from './errors.js'

const PREFIX = '@'
const SUFFIX = '.aura'
const LABEL_CHARS = /^[a-z0-9_-]+$/
const SEPARATOR = /[-_]/

/**
 * Checks `input` against every AuraID rule and returns it unchanged when it is a valid,
 * canonical AuraID (`@name.aura`). Throws {@link InvalidAuraIdError} naming the rule broken:
 *
 * - `format`: starts with "@" and ends with ".aura"
 * - `look-alike`: ASCII only; letters from other scripts that pass for Latin ones are refused
 * - `charset`: the name between "@" and ".aura" uses only a-z, 0-9, "-" and "_" (lower case)
 * - `length`: that name is 3 to 32 characters
 * - `edges`: it starts and ends with a letter or digit
 * - `repeats`: no two separators ("-", "_") in a row
 * - `reserved`: not one of {@link RESERVED_NAMES}
 */
export function validateAuraId (input: string): string {
  if (typeof input !== 'string') {
    throw new InvalidAuraIdError(String(input), 'type', `an AuraID must be a string, got ${input === null ? 'null' : typeof input}`)
  }
  if (!input.startsWith(PREFIX) || !input.endsWith(SUFFIX) || input.length <= PREFIX.length + SUFFIX.length) {
    throw new InvalidAuraIdError(input, 'format', `"${input}" is not an AuraID: it must look like @name.aura`)
  }
  const label = input.slice(PREFIX.length, -SUFFIX.length)
  // eslint-disable-next-line no-control-regex
  const nonAscii = [...label].find((c) => /[^\x00-\x7f]/.test(c))
  if (nonAscii !== undefined) {
    const code = nonAscii.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')
    throw new InvalidAuraIdError(input, 'look-alike',
      `"${input}" contains "${nonAscii}" (U+${code}): AuraIDs use ASCII letters only, so that no name can pass for another`)
  }
  if (!LABEL_CHARS.test(label)) {
    const bad = [...label].find((c) => !/[a-z0-9_-]/.test(c)) ?? ''
    const hint = /[A-Z]/.test(bad) ? ` (use lower case: ${toCanonical(input)})` : ''
    throw new InvalidAuraIdError(input, 'charset',
      `"${input}" contains "${bad}": a name may use only a-z, 0-9, "-" and "_"${hint}`)
  }
  if (label.length < MIN_NAME_LENGTH || label.length > MAX_NAME_LENGTH) {
    throw new InvalidAuraIdError(input, 'length',
      `"${input}" has a name of ${label.length} characters: it must be ${MIN_NAME_LENGTH} to ${MAX_NAME_LENGTH}`)
  }
  if (SEPARATOR.test(label[0] ?? '') || SEPARATOR.test(label.at(-1) ?? '')) {
    throw new InvalidAuraIdError(input, 'edges', `"${input}": a name must start and end with a letter or digit`)
  }
  if (/[-_]{2}/.test(label)) {
    throw new InvalidAuraIdError(input, 'repeats', `"${input}": a name may not have two separators ("-", "_") in a row`)
  }
  if (RESERVED_NAMES.has(label)) {
    throw new InvalidAuraIdError(input, 'reserved', `"${input}" is reserved and cannot be registered`)
  }
  return input
}

/** True when {@link validateAuraId} would accept `input`. */
export function isAuraId (input: unknown): input is string {
  try {
    validateAuraId(input as string)
    return true
  } catch {
    return false
  }
}

/**
 * Turns what a person typed into a canonical AuraID and validates it: trims spaces, adds a
 * missing "@" and ".aura", lower-cases ASCII letters. `parseAuraId(' Bob ')` is `'@bob.aura'`.
 * Throws {@link InvalidAuraIdError} when the result breaks a rule.
 */
export function parseAuraId (input: string): string {
  if (typeof input !== 'string') return validateAuraId(input)
  return validateAuraId(toCanonical(input))
}

function toCanonical (input: string): string {
  let s = input.trim().replace(/[A-Z]/g, (c) => c.toLowerCase())
  if (!s.startsWith(PREFIX)) s = PREFIX + s
  if (!s.endsWith(SUFFIX)) s = s + SUFFIX
  return s
}

const SKELETON_MAP: Record<string, string> = { 0: 'o', 1: 'l', i: 'l', 5: 's', _: '-' }

/**
 * The confusion skeleton of a valid AuraID: names that read alike on screen share a skeleton
 * (`@b0b.aura` and `@bob.aura`, `@rn-x.aura` and `@m-x.aura`, `@a_b.aura` and `@a-b.aura`).
 * A directory refuses a name whose skeleton matches a name held by another key.
 */
export function auraIdSkeleton (name: string): string {
  const label = validateAuraId(name).slice(PREFIX.length, -SUFFIX.length)
  return [...label.replaceAll('rn', 'm').replaceAll('vv', 'w')].map((c) => SKELETON_MAP[c] ?? c).join('')
}
