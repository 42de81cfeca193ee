// `auralink-relay recordings <command>`: what an operator does with the relay's recordings off
// line. `keygen` makes an age identity for `--recordings-recipient` (the same file age-keygen
// writes); `decrypt` turns a `<id>.webm.age` back into WebM with that identity.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { RELAY_NAME } from './constants.js'

export const RECORDINGS_USAGE = [
  `usage: ${RELAY_NAME} recordings keygen [--out <file>]`,
  `       ${RELAY_NAME} recordings decrypt --identity <file> [--out <file>] <recording.webm.age>`,
  '',
  'keygen   writes a new age identity (AGE-SECRET-KEY-1..., mode 0600) to --out or stdout, and prints',
  '         its public key (age1...) on stderr: give that to the relay as --recordings-recipient and',
  '         keep the identity off the relay.',
  'decrypt  decrypts a recording the relay encrypted (age, age-encryption.org/v1) with the identity',
  '         file (one or more AGE-SECRET-KEY-1... lines, as keygen or age-keygen write) into --out',
  '         (default: the input without .age; an existing file is never overwritten).',
  '',
  'Exit codes: 0 done, 1 it failed (a wrong key, an altered file), 2 a bad command line.'
].join('\n')

/** Runs `auralink-relay recordings <args>`; the exit code. */
export async function recordingsCommand (args: string[]): Promise<number> {
  const fail = (message: string, code: number): number => {
    console.error(`${RELAY_NAME} recordings: ${message}${code === 2 ? ` (see ${RELAY_NAME} recordings --help)` : ''}`)
    return code
  }
  let parsed
  try {
    parsed = parseArgs({ args, options: { identity: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true })
  } catch (err) {
    return fail((err as Error).message, 2)
  }
  const { values, positionals } = parsed
  const [command, ...files] = positionals
  if (values.help === true || command === undefined) {
    console.log(RECORDINGS_USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  const { decryptFile, keygen } = await import('./media/encrypt.js')
  if (command === 'keygen') {
    if (files.length > 0) return fail(`keygen takes no file, got ${JSON.stringify(files[0])}`, 2)
    const key = await keygen()
    if (values.out !== undefined) {
      if (existsSync(values.out)) return fail(`${values.out} exists: not overwritten`, 1)
      writeFileSync(values.out, key.file, { mode: 0o600 })
    } else {
      process.stdout.write(key.file)
    }
    console.error(`Public key: ${key.recipient}`)
    return 0
  }
  if (command === 'decrypt') {
    if (values.identity === undefined) return fail('decrypt needs --identity <file>', 2)
    if (files.length !== 1) return fail(`decrypt takes one file, got ${files.length}`, 2)
    const input = files[0]!
    const out = values.out ?? (input.endsWith('.age') ? input.slice(0, -4) : `${input}.decrypted`)
    if (existsSync(out)) return fail(`${out} exists: not overwritten (choose another with --out)`, 1)
    let identities: string
    try {
      identities = readFileSync(values.identity, 'utf8')
    } catch (err) {
      return fail(`--identity ${values.identity}: ${(err as Error).message}`, 2)
    }
    try {
      await decryptFile(input, out, identities)
    } catch (err) {
      return fail(`could not decrypt ${input}: ${(err as Error).message}`, 1)
    }
    console.error(`${RELAY_NAME} recordings: wrote ${out}`)
    return 0
  }
  return fail(`unknown command ${JSON.stringify(command)} (keygen, decrypt)`, 2)
}
