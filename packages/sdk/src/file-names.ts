import { MAX_FILE_NAME_BYTES } from './constants.js'

// The name a file travels under comes from the other peer: it must not reach an app, a download
// attribute or a file system as a path, nor reorder or hide what a person reads. The rule, in
// order (packages/sdk/README.md "File names"):
//   1. remove control characters (C0 U+0000-001F, DEL U+007F, C1 U+0080-009F), bidi controls
//      (U+061C, U+200E, U+200F, U+202A-202E, U+2066-2069) and zero-width characters (U+200B-200D,
//      U+2060, U+FEFF);
//   2. keep the last path segment, after the last `/` or `\`;
//   3. trim white space at both ends; a name left empty, or made only of dots, becomes "file";
//   4. cut to MAX_FILE_NAME_BYTES (255) bytes of UTF-8, keeping the extension (the part from the
//      last dot, when it is at most 32 bytes) and never splitting a character.

/** Characters removed from file names: controls, bidi controls, zero-width characters. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/gu
const MAX_EXTENSION_BYTES = 32
const encoder = new TextEncoder()

function utf8Length (s: string): number { return encoder.encode(s).byteLength }

/** The longest prefix of `s` that fits in `max` UTF-8 bytes, whole characters only. */
function cutUtf8 (s: string, max: number): string {
  let out = ''
  let bytes = 0
  for (const ch of s) {
    const n = utf8Length(ch)
    if (bytes + n > max) break
    out += ch
    bytes += n
  }
  return out
}

/**
 * A file name safe to show and to save under: no path, no control, bidi or zero-width
 * characters, not `.` or `..`, at most 255 UTF-8 bytes. `sanitizeFileName('../../etc/passwd')`
 * is `'passwd'`; `sanitizeFileName('invoice\u202Efdp.exe')` is `'invoicefdp.exe'`.
 */
export function sanitizeFileName (raw: string): string {
  let name = String(raw).replace(UNSAFE, '')
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim()
  if (name === '' || /^\.+$/.test(name)) return 'file'
  if (utf8Length(name) <= MAX_FILE_NAME_BYTES) return name
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 ? name.slice(dot) : ''
  if (ext !== '' && utf8Length(ext) <= MAX_EXTENSION_BYTES) {
    return cutUtf8(name.slice(0, dot), MAX_FILE_NAME_BYTES - utf8Length(ext)).trimEnd() + ext
  }
  return cutUtf8(name, MAX_FILE_NAME_BYTES)
}

/** A MIME type as the sender gave it when it looks like one (`type/subtype`, printable ASCII, at most 128 characters), else ''. */
export function sanitizeMimeType (raw: string): string {
  return raw.length <= 128 && /^[\x21-\x7e]+\/[\x20-\x7e]+$/.test(raw) ? raw : ''
}
