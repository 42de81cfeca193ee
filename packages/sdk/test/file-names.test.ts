import { describe, expect, it } from 'vitest'
import { sanitizeFileName, sanitizeMimeType } from '../src/file-names.js'

const utf8 = (s: string): number => new TextEncoder().encode(s).byteLength

describe('sanitizeFileName', () => {
  const table: Array<[string, string, string]> = [
    ['a plain name is kept', 'report.pdf', 'report.pdf'],
    ['a Unix path keeps its last segment', '../../etc/passwd', 'passwd'],
    ['a Windows path keeps its last segment', 'C:\\Users\\bob\\..\\evil.dll', 'evil.dll'],
    ['mixed separators', 'a/b\\c/d.txt', 'd.txt'],
    ['"." becomes "file"', '.', 'file'],
    ['".." becomes "file"', '..', 'file'],
    ['a path ending in ".." becomes "file"', 'x/..', 'file'],
    ['a trailing separator leaves nothing: "file"', 'dir/', 'file'],
    ['empty becomes "file"', '', 'file'],
    ['only dots and spaces becomes "file"', ' ... ', 'file'],
    ['C0 controls and NUL are removed', 'a\u0000b\u0007c\n.txt', 'abc.txt'],
    ['DEL and C1 controls are removed', 'a\u007fb\u0085c\u009b.txt', 'abc.txt'],
    ['RLO (U+202E) cannot flip the extension', 'invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['all bidi controls are removed', '\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061Cname.txt', 'name.txt'],
    ['zero-width characters are removed', 'pay\u200Bpal\u200C\u200D\u2060\uFEFF.html', 'paypal.html'],
    ['a zero-width character cannot hide ".."', '..\u200B', 'file'],
    ['a control character cannot hide a separator', 'a\u0000/b.txt', 'b.txt'],
    ['white space at the ends is trimmed', '  notes.md  ', 'notes.md'],
    ['non-ASCII letters are kept', 'Grüße 日本.txt', 'Grüße 日本.txt'],
    ['a leading dot (hidden file) is kept', '.bashrc', '.bashrc']
  ]
  for (const [what, raw, expected] of table) {
    it(`sanitizeFileName(${JSON.stringify(raw)}) is ${JSON.stringify(expected)}: ${what}`, () => {
      expect(sanitizeFileName(raw)).toBe(expected)
    })
  }

  it('sanitizeFileName() cuts a long name to 255 UTF-8 bytes, keeping the extension', () => {
    const out = sanitizeFileName(`${'a'.repeat(400)}.tar.gz`)
    expect(utf8(out)).toBe(255)
    expect(out.endsWith('.gz')).toBe(true)
  })

  it('sanitizeFileName() never splits a multi-byte character when it cuts', () => {
    const out = sanitizeFileName(`${'日'.repeat(200)}.txt`) // 600 bytes of stem
    expect(utf8(out)).toBeLessThanOrEqual(255)
    expect(out.endsWith('.txt')).toBe(true)
    expect(out).not.toContain('\uFFFD')
    expect([...out.slice(0, -4)].every((c) => c === '日')).toBe(true)
    const emoji = sanitizeFileName('😀'.repeat(100)) // no extension, 4-byte characters
    expect(utf8(emoji)).toBeLessThanOrEqual(255)
    expect([...emoji].every((c) => c === '😀')).toBe(true)
  })

  it('sanitizeFileName() treats an over-long "extension" as part of the name', () => {
    const out = sanitizeFileName(`x.${'b'.repeat(300)}`)
    expect(utf8(out)).toBe(255)
    expect(out.startsWith('x.')).toBe(true)
  })
})

describe('sanitizeMimeType', () => {
  it('sanitizeMimeType() keeps a MIME type and drops anything else', () => {
    expect(sanitizeMimeType('application/pdf')).toBe('application/pdf')
    expect(sanitizeMimeType('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8')
    expect(sanitizeMimeType('text/html\r\nX-Evil: 1')).toBe('')
    expect(sanitizeMimeType('no-slash')).toBe('')
    expect(sanitizeMimeType(`a/${'b'.repeat(200)}`)).toBe('')
    expect(sanitizeMimeType('')).toBe('')
  })
})
