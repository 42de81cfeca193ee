/**
 * Recordings encrypted at rest (issue 17): age (age-encryption.org/v1), the file format of
 * Filippo Valsorda's `age` tool, through its TypeScript implementation (`age-encryption`). With
 * `--recordings-recipient age1...` the relay encrypts each finished recording to that public key
 * and keeps only `<id>.webm.age`: whoever holds the matching identity (`AGE-SECRET-KEY-1...`)
 * decrypts it, with `auralink-relay recordings decrypt` or with `age -d` itself; the relay cannot.
 * Files are streamed (64 KiB chunks, ChaCha20-Poly1305), never held whole in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable, Writable } from 'node:stream'
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption'

/** Throws a TypeError naming `recipient` when age cannot encrypt to it. */
export function checkRecipient (recipient: string): void {
  try {
    new Encrypter().addRecipient(recipient)
  } catch (err) {
    throw new TypeError(`${JSON.stringify(recipient.slice(0, 80))} is not an age recipient (age1...): ${(err as Error).message}`, { cause: err })
  }
}

async function pipe (from: string, to: string, transform: (input: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>): Promise<void> {
  const tmp = `${to}.tmp`
  try {
    const input = Readable.toWeb(createReadStream(from)) as ReadableStream<Uint8Array>
    await (await transform(input)).pipeTo(Writable.toWeb(createWriteStream(tmp, { mode: 0o600 })))
    await rename(tmp, to)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** Encrypts `from` to `recipient` into `to` (written beside, then renamed: never half a file). */
export async function encryptFile (from: string, to: string, recipient: string): Promise<void> {
  const e = new Encrypter()
  e.addRecipient(recipient)
  await pipe(from, to, async (input) => e.encrypt(input))
}

/**
 * Decrypts `from` into `to` with `identities`: the text of an age identity file (one
 * `AGE-SECRET-KEY-1...` per line; `#` comments, as age-keygen writes). A wrong key or an altered
 * file rejects, and nothing is left at `to`.
 */
export async function decryptFile (from: string, to: string, identities: string): Promise<void> {
  const d = new Decrypter()
  const keys = identities.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  if (keys.length === 0) throw new TypeError('the identity file holds no AGE-SECRET-KEY-1... line')
  for (const k of keys) d.addIdentity(k)
  await pipe(from, to, async (input) => d.decrypt(input))
}

/** A new X25519 identity as age-keygen writes it: a comment with its recipient, then the key. */
export async function keygen (): Promise<{ identity: string, recipient: string, file: string }> {
  const identity = await generateX25519Identity()
  const recipient = await identityToRecipient(identity)
  return { identity, recipient, file: `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n` }
}
