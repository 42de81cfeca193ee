import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { encryptFile } from '../src/media/encrypt.js'

// Recordings at rest: `auralink-relay recordings keygen | decrypt` (the built CLI) and the relay's
// own encryption, checked against Debian's `age` 1.1 (Filippo Valsorda's reference tool, which no
// one here wrote): what one encrypts the other decrypts, both ways.

const CLI = resolve(import.meta.dirname, '../dist/cli.js')

async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'recordings', ...args], { timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** Debian's age or age-keygen with `args`; throws with its words when it fails. */
function age (bin: 'age' | 'age-keygen', args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`${bin} could not run (Debian package age): ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

describe('auralink-relay recordings: keygen and decrypt, against Debian\'s age', () => {
  const dirs: string[] = []
  afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'auralink-age-')); dirs.push(d); return d }

  it('keygen writes an identity (mode 0600) that Debian\'s age decrypts with, and prints its public key; what age encrypts to it, decrypt restores byte for byte', async () => {
    const dir = await tmp()
    const key = join(dir, 'key.txt')
    const made = await cli(['keygen', '--out', key])
    expect(made.code).toBe(0)
    const recipient = /^Public key: (age1[0-9a-z]{58})$/m.exec(made.stderr)?.[1]
    expect(recipient).toBeDefined()
    expect((await stat(key)).mode & 0o777).toBe(0o600)
    expect(await readFile(key, 'utf8')).toMatch(new RegExp(`^# created: .*\\n# public key: ${recipient!}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`))
    // age-keygen -y derives the same public key from our identity file
    expect(age('age-keygen', ['-y', key]).trim()).toBe(recipient)

    const data = randomBytes(300_000)
    await writeFile(join(dir, 'a.webm'), data)
    age('age', ['-r', recipient!, '-o', join(dir, 'a.webm.age'), join(dir, 'a.webm')])
    const out = await cli(['decrypt', '--identity', key, join(dir, 'a.webm.age'), '--out', join(dir, 'back.webm')])
    expect(out).toMatchObject({ code: 0 })
    expect(Buffer.compare(await readFile(join(dir, 'back.webm')), data)).toBe(0)
    // the default output is the input without .age, and an existing file is never overwritten
    const again = await cli(['decrypt', '--identity', key, join(dir, 'a.webm.age')])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`${join(dir, 'a.webm')} exists: not overwritten`)
  })

  it('what the relay encrypts (encryptFile, streamed) Debian\'s age decrypts with an identity from age-keygen', async () => {
    const dir = await tmp()
    const key = join(dir, 'key.txt')
    age('age-keygen', ['-o', key])
    const recipient = age('age-keygen', ['-y', key]).trim()
    const data = randomBytes(1_000_000)
    await writeFile(join(dir, 'r.webm'), data)
    await encryptFile(join(dir, 'r.webm'), join(dir, 'r.webm.age'), recipient)
    const sealed = await readFile(join(dir, 'r.webm.age'))
    expect(sealed.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n')
    expect(sealed.includes(data.subarray(0, 64))).toBe(false)
    age('age', ['-d', '-i', key, '-o', join(dir, 'r2.webm'), join(dir, 'r.webm.age')])
    expect(Buffer.compare(await readFile(join(dir, 'r2.webm')), data)).toBe(0)
  })

  it('a wrong key, an altered file and a bad command line fail with 1, 1 and 2, leaving no output file', async () => {
    const dir = await tmp()
    const [right, wrong] = [join(dir, 'right.txt'), join(dir, 'wrong.txt')]
    await cli(['keygen', '--out', right])
    await cli(['keygen', '--out', wrong])
    const recipient = age('age-keygen', ['-y', right]).trim()
    await writeFile(join(dir, 'x.webm'), randomBytes(200_000))
    await encryptFile(join(dir, 'x.webm'), join(dir, 'x.webm.age'), recipient)

    const withWrong = await cli(['decrypt', '--identity', wrong, join(dir, 'x.webm.age'), '--out', join(dir, 'o1')])
    expect(withWrong.code).toBe(1)
    expect(withWrong.stderr).toMatch(/could not decrypt .*x\.webm\.age: no identity matched any of the file's recipients/)
    const altered = Buffer.from(await readFile(join(dir, 'x.webm.age')))
    altered[altered.length - 1000]! ^= 1
    await writeFile(join(dir, 'bad.age'), altered)
    const withAltered = await cli(['decrypt', '--identity', right, join(dir, 'bad.age'), '--out', join(dir, 'o2')])
    expect(withAltered.code).toBe(1)
    await expect(stat(join(dir, 'o1'))).rejects.toThrow()
    await expect(stat(join(dir, 'o2'))).rejects.toThrow()
    await expect(stat(join(dir, 'o2.tmp'))).rejects.toThrow()

    expect((await cli(['decrypt', join(dir, 'x.webm.age')])).code).toBe(2)
    expect((await cli(['shred'])).stderr).toContain('unknown command "shred" (keygen, decrypt)')
    expect((await cli([])).code).toBe(2)
    expect((await cli(['--help'])).stdout).toContain('auralink-relay recordings decrypt --identity <file>')
  })

  it('--recordings-recipient takes an age1... key and names the flag for anything else', () => {
    const good = `age1${'q'.repeat(58)}`
    expect(loadConfig(['--recordings-recipient', good], {}).config.recordingsRecipient).toBe(good)
    expect(() => loadConfig(['--recordings-recipient', 'AGE-SECRET-KEY-1ABC'], {})).toThrow('--recordings-recipient: "AGE-SECRET-KEY-1ABC" is not an age recipient')
  })
})
