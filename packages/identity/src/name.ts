import { MAX_NAME_LENGTH, MIN_NAME_LENGTH, RESERVED_NAMES } from './constants.js'
import { ASCII_CONFUSABLES } from './confusables-data.js'
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
 *
 * Where a valid AuraID is close at hand (the same name in lower case), the error's `suggestion`
 * holds it and its message offers it; a suggestion always passes this function itself.
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
    // lower case is offered only when it gives a valid AuraID (`@A!.aura` would give `@a!.aura`)
    const lower = toCanonical(input)
    const suggestion = /[A-Z]/.test(bad) && isAuraId(lower) ? lower : undefined
    throw new InvalidAuraIdError(input, 'charset',
      `"${input}" contains "${bad}": a name may use only a-z, 0-9, "-" and "_"${suggestion !== undefined ? ` (use lower case: ${suggestion})` : ''}`,
      suggestion !== undefined ? { suggestion } : {})
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

/**
 * The version of {@link auraIdSkeleton}'s rule. It changes whenever the skeleton of some name
 * changes (a new Unicode table, a new AuraLink fold), so that a store that indexes names by
 * skeleton knows to rebuild its index. Version 1: the first map (0, 1, i, 5, rn, vv, _).
 * Version 2: Unicode's confusables (UTS #39) and the AuraLink rule below.
 */
export const AURAID_SKELETON_VERSION = 2

/**
 * AuraLink's own folds, applied after Unicode's table: each digit to the letter it passes for,
 * `i` to `l` (i, l and 1 read alike in many fonts), `w` to `vv`, and the separators dropped.
 */
const AURALINK_FOLDS: Readonly<Record<string, string>> = {
  '-': '', _: '', i: 'l', w: 'vv', 2: 'z', 3: 'e', 4: 'a', 5: 's', 6: 'b', 7: 't', 8: 'o', 9: 'g'
}

/** What each character an AuraID may hold becomes in a skeleton: Unicode's row, lower case, then AuraLink's fold. */
const SKELETON_OF: ReadonlyMap<string, string> = new Map(
  [...'abcdefghijklmnopqrstuvwxyz0123456789-_'].map((c) => {
    const unicode = (ASCII_CONFUSABLES[c] ?? c).toLowerCase()
    return [c, [...unicode].map((u) => AURALINK_FOLDS[u] ?? u).join('')]
  })
)

/**
 * The confusion skeleton of a valid AuraID: names that read alike on screen share a skeleton, and
 * a directory refuses a name whose skeleton matches that of a name another key holds. Throws
 * {@link InvalidAuraIdError} when `name` is not a valid AuraID.
 *
 * The rule (version {@link AURAID_SKELETON_VERSION}), character by character over the name
 * between "@" and ".aura":
 * 1. Unicode's confusables (UTS #39 confusables.txt, its ASCII rows: confusables-data.ts):
 *    `m` → `rn`, `0` → `o`, `1` → `l`;
 * 2. AuraLink's folds: digits to the letters they pass for (`2`→`z`, `3`→`e`, `4`→`a`, `5`→`s`,
 *    `6`→`b`, `7`→`t`, `8`→`o`, `9`→`g`), `i` → `l` (so i, l and 1 are one class), `w` → `vv`,
 *    and the separators `-` and `_` dropped.
 *
 * So `@alic3`, `@a-lice`, `@a_lice` and `@a1ice` share `@alice`'s skeleton (`allce`), `@b8b` and
 * `@b0b` share `@bob`'s, `@rnary` shares `@mary`'s (`rnary`), `@vvalter` shares `@walter`'s. Not
 * alike: `@bob`/`@rob`, `@alice`/`@alicia`, `@anna`/`@ann`, and `@cl0e`/`@doe` (`cl` for `d` is
 * not in Unicode's table, and folding it would also join `ci`, `c1` and honest pairs such as
 * `@clay`/`@day`). Since `0` and `8` both become `o`, `@room-80` and `@room-88` are alike too.
 * The skeleton is for comparing, not for reading: it uses only a-z and is never
 * empty. It is pure and idempotent: when `@<skeleton>.aura` is itself a valid AuraID, its skeleton
 * is the same string.
 */
export function auraIdSkeleton (name: string): string {
  const label = validateAuraId(name).slice(PREFIX.length, -SUFFIX.length)
  let out = ''
  for (const c of label) out += SKELETON_OF.get(c) ?? c
  return out
}
