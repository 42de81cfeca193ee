import { randomBytes } from 'node:crypto'
import { decodeFileResult } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { fileLimits } from '../src/file-receiver.js'
import { forgeHeader, harness, newPeer, sha256, until, wasReset } from './file-harness.js'
import type { Call } from '../src/call.js'
import type { FileRefusal } from '../src/file-receiver.js'
import type { FileTransfer, ReceivedFile } from '../src/file-transfer.js'
import type { Harness } from './file-harness.js'
import type { PeerId } from '@libp2p/interface'

// Issue 13 item 9: what a peer in an accepted call can make the receiver hold. The attacker
// writes raw frames (a forged FileHeader, then bytes or nothing) on its own file streams; a
// legitimate peer sends a real file through the SDK's sendFile() while the attack runs.

const MiB = 1024 * 1024

function nextFile (call: Call): Promise<FileTransfer> {
  return new Promise((resolve) => { call.addEventListener('file', (e) => { resolve(e.detail.transfer) }, { once: true }) })
}

describe('incoming files: limits a peer in a call cannot get past', () => {
  const open: Harness[] = []
  afterEach(async () => { await Promise.all(open.splice(0).map(async (h) => h.stop())) })

  function make (limits: Parameters<typeof harness>[0] = {}): Harness {
    const h = harness(limits)
    open.push(h)
    return h
  }

  /** alice, a legitimate peer, sends `bytes` to the client of `h`; `listen` runs in the receiver's `file` listener. */
  async function legit (h: Harness, bytes: Uint8Array, listen?: (t: FileTransfer) => void): Promise<{ received: Promise<ReceivedFile | undefined>, sent: Promise<unknown>, alice: PeerId }> {
    const alice = await newPeer()
    const victim = await newPeer()
    const { call: theirs } = await h.call(alice)
    const sender = make()
    const { call: mine } = await sender.call(victim, { callId: theirs.id, onStream: (far) => { void h.files.handle(far, alice) } })
    const arriving = nextFile(theirs)
    theirs.addEventListener('file', (e) => { listen?.(e.detail.transfer) }, { once: true })
    const sending = mine.sendFile({ name: 'notes.bin', data: bytes, type: 'application/octet-stream' })
    return { received: arriving.then(async (t) => t.done), sent: sending.done, alice }
  }

  it('a FileHeader claiming 16 MiB followed by 10 bytes: the receiver holds only what arrived (process.memoryUsage().arrayBuffers grows far less than the claim); a legitimate file arrives meanwhile', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    const arriving = nextFile(call)
    const before = process.memoryUsage().arrayBuffers
    const { stream } = await h.open(mallory)
    const lp = await forgeHeader(stream, call.id, { size: 16 * MiB })
    await lp.write(new Uint8Array(10))
    const transfer = await arriving
    await until(() => transfer.bytes === 10, 10_000, 'the 10 bytes arriving')
    expect(transfer.size).toBe(16 * MiB)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * MiB)

    const bytes = randomBytes(300 * 1024)
    const { received, sent } = await legit(h, bytes)
    const file = await received
    await sent
    expect(file?.sha256).toBe(Buffer.from(sha256(bytes)).toString('hex'))
    expect(Buffer.from(await file!.blob!.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('a FileHeader claiming 500 MiB with no sink given: done rejects with FileTooLargeError naming the size and the 16 MiB in-memory cap, the sender hears why, the stream is reset', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    const arriving = nextFile(call)
    const refusedOnCall: FileRefusal[] = []
    call.addEventListener('file:refused', (e) => { refusedOnCall.push(e.detail) })
    const { stream } = await h.open(mallory)
    await forgeHeader(stream, call.id, { size: 500 * MiB })
    const transfer = await arriving
    const err = await transfer.done.catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'FileTooLargeError', size: 500 * MiB, limit: 16 * MiB })
    expect((err as Error).message).toContain(String(500 * MiB))
    expect((err as Error).message).toContain(String(16 * MiB))
    const answer = decodeFileResult((await lpStream(stream).read({ signal: AbortSignal.timeout(10_000) })).subarray())
    expect(answer).toMatchObject({ ok: false, error: expect.stringContaining(`in-memory limit of ${16 * MiB} bytes`) })
    await until(() => wasReset(stream), 10_000, 'the stream reset')
    expect(refusedOnCall).toEqual([expect.objectContaining({ reason: 'too-large', size: 500 * MiB, limit: 16 * MiB, callId: call.id })])
  })

  it('a FileHeader over maxFileBytes is refused on its header: no file event, file:refused with reason too-large', async () => {
    const h = make({ maxFileBytes: MiB })
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    let announced = 0
    call.addEventListener('file', () => { announced++ })
    const { stream, served } = await h.open(mallory)
    await forgeHeader(stream, call.id, { size: MiB + 1 })
    await served
    expect(announced).toBe(0)
    expect(h.refusals).toEqual([expect.objectContaining({ reason: 'too-large', size: MiB + 1, limit: MiB, peer: mallory })])
    await until(() => wasReset(stream), 10_000, 'the stream reset')
  })

  it('transfer.receiveTo(writable): a file over files.maxInMemoryBytes goes to the sink in chunks, SHA-256 checked, and done has no blob', async () => {
    const h = make({ maxInMemoryBytes: 64 * 1024 })
    const bytes = randomBytes(MiB)
    const chunks: Uint8Array[] = []
    let closed = false
    const { received, sent } = await legit(h, bytes, (t) => {
      t.receiveTo(new WritableStream<Uint8Array>({ write (c) { chunks.push(c) }, close () { closed = true } }))
    })
    const file = await received
    await sent
    expect(file?.blob).toBeUndefined()
    expect(file?.size).toBe(MiB)
    expect(closed).toBe(true)
    expect(chunks.length).toBeGreaterThan(1)
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)
  })

  it('transfer.receiveTo(fn): each chunk reaches the function in order', async () => {
    const h = make({ maxInMemoryBytes: 0 })
    const bytes = randomBytes(200 * 1024)
    const chunks: Uint8Array[] = []
    const { received } = await legit(h, bytes, (t) => { t.receiveTo(async (c) => { chunks.push(c) }) })
    expect((await received)?.sha256).toBe(Buffer.from(sha256(bytes)).toString('hex'))
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)
  })

  it('sendFile() of a file over the receiver\'s in-memory cap with no sink there rejects with FileTransferError carrying the receiver\'s reason', async () => {
    const h = make({ maxInMemoryBytes: 64 * 1024 })
    const { received, sent } = await legit(h, randomBytes(MiB))
    await expect(received).rejects.toMatchObject({ name: 'FileTooLargeError', limit: 64 * 1024 })
    await expect(sent).rejects.toMatchObject({ name: 'FileTransferError', message: expect.stringContaining('in-memory limit of 65536 bytes') })
  })

  it('a forged SHA-256 with a sink: the WritableStream is aborted and done rejects with FileTransferError', async () => {
    const h = make({ maxInMemoryBytes: 0 })
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    let aborted: unknown
    call.addEventListener('file', (e) => { e.detail.transfer.receiveTo(new WritableStream({ abort (reason) { aborted = reason } })) }, { once: true })
    const arriving = nextFile(call)
    const { stream } = await h.open(mallory)
    const lp = await forgeHeader(stream, call.id, { size: 1000, sha256: new Uint8Array(32).fill(7) })
    await lp.write(new Uint8Array(1000))
    const err = await (await arriving).done.catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'FileTransferError', message: expect.stringContaining('does not match') })
    await until(() => aborted !== undefined, 10_000, 'the sink aborted')
  })

  it('receiveTo() after the file listener returned, or on a sending transfer, throws InvalidStateError; a sink of the wrong type throws TypeError', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    let typeError: unknown
    call.addEventListener('file', (e) => { try { e.detail.transfer.receiveTo('nope' as never) } catch (err) { typeError = err } }, { once: true })
    const arriving = nextFile(call)
    const { stream } = await h.open(mallory)
    await forgeHeader(stream, call.id, { size: 100 })
    const transfer = await arriving
    expect(typeError).toBeInstanceOf(TypeError)
    expect(() => { transfer.receiveTo(() => {}) }).toThrow(expect.objectContaining({ name: 'InvalidStateError' }) as Error)
    const out = call.sendFile({ name: 'a.txt', data: new Uint8Array(1) })
    expect(() => { out.receiveTo(() => {}) }).toThrow(/this transfer sends a file/)
  })

  it('a 5th file stream from one peer at once is reset and file:refused says too-many-transfers (limit 4); a legitimate peer\'s file still arrives', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    const refusedOnCall: FileRefusal[] = []
    call.addEventListener('file:refused', (e) => { refusedOnCall.push(e.detail) })
    const held = []
    for (let i = 0; i < 2; i++) {
      const s = await h.open(mallory)
      await (await forgeHeader(s.stream, call.id, { size: 1000 })).write(new Uint8Array(10))
      held.push(s)
    }
    for (let i = 0; i < 2; i++) held.push(await h.open(mallory)) // no header at all
    await until(() => h.files.open === 4, 10_000, '4 streams open')
    const fifth = await h.open(mallory)
    await fifth.served
    await until(() => wasReset(fifth.stream), 10_000, 'the 5th stream reset')
    expect(h.refusals).toEqual([expect.objectContaining({ reason: 'too-many-transfers', limit: 4, peer: mallory })])
    expect(refusedOnCall).toHaveLength(1)
    expect(held.every((s) => !wasReset(s.stream))).toBe(true)

    const bytes = randomBytes(100 * 1024)
    const { received } = await legit(h, bytes)
    expect((await received)?.size).toBe(bytes.byteLength)
  })

  it('the 9th incoming file stream across peers is reset (files.maxIncoming, 8)', async () => {
    const h = make()
    const peers = await Promise.all([newPeer(), newPeer(), newPeer()])
    for (const p of peers.slice(0, 2)) for (let i = 0; i < 4; i++) await h.open(p)
    await until(() => h.files.open === 8, 10_000, '8 streams open')
    const ninth = await h.open(peers[2]!)
    await ninth.served
    await until(() => wasReset(ninth.stream), 10_000, 'the 9th stream reset')
    expect(h.refusals).toEqual([expect.objectContaining({ reason: 'too-many-transfers', limit: 8, peer: peers[2] })])
  })

  it('a file stream that sends no header within the header timeout is reset and reported as bad-header', async () => {
    const h = make({ headerTimeoutMs: 300 })
    const mallory = await newPeer()
    const { stream, served } = await h.open(mallory)
    await served
    await until(() => wasReset(stream), 10_000, 'the stream reset')
    expect(h.refusals).toEqual([expect.objectContaining({ reason: 'bad-header', message: 'no file header within 300 ms' })])
    expect(h.files.open).toBe(0)
  })

  it('hangup() aborts the call\'s transfers in and out: both done promises reject with TransferAbortedError and both streams are reset', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call, outgoing } = await h.call(mallory)
    const arriving = nextFile(call)
    const { stream } = await h.open(mallory)
    await (await forgeHeader(stream, call.id, { size: 10 * MiB })).write(new Uint8Array(10))
    const incoming = await arriving
    await until(() => incoming.bytes === 10, 10_000, 'the 10 bytes arriving')
    const out = call.sendFile({ name: 'big.bin', data: new Uint8Array(MiB) }) // mallory never answers
    await until(() => outgoing.length === 1 && out.bytes > 0, 10_000, 'the upload starting')
    await call.hangup()
    await expect(incoming.done).rejects.toMatchObject({ name: 'TransferAbortedError', reason: 'hangup' })
    await expect(out.done).rejects.toMatchObject({ name: 'TransferAbortedError', reason: 'hangup' })
    await until(() => wasReset(stream) && wasReset(outgoing[0]!), 10_000, 'both streams reset')
    expect(h.files.open).toBe(0)
  })

  it('the peer ending the call (its call stream closes) aborts the transfer it was sending', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call, remote } = await h.call(mallory)
    const arriving = nextFile(call)
    const { stream } = await h.open(mallory)
    await (await forgeHeader(stream, call.id, { size: 1000 })).write(new Uint8Array(10))
    const incoming = await arriving
    await remote.close()
    await expect(incoming.done).rejects.toMatchObject({ name: 'TransferAbortedError', reason: 'remote-hangup' })
    await until(() => wasReset(stream), 10_000, 'the stream reset')
  })

  it('sendFile(file, { signal }) aborted mid-way: done rejects with TransferAbortedError (reason aborted) and the stream is reset', async () => {
    const h = make()
    const { call, outgoing } = await h.call(await newPeer())
    const controller = new AbortController()
    const out = call.sendFile({ name: 'big.bin', data: new Uint8Array(MiB) }, { signal: controller.signal }) // nobody answers
    await until(() => outgoing.length === 1 && out.bytes > 0, 10_000, 'the upload starting')
    controller.abort()
    await expect(out.done).rejects.toMatchObject({ name: 'TransferAbortedError', reason: 'aborted' })
    await until(() => wasReset(outgoing[0]!), 10_000, 'the stream reset')
    expect(call.state).toBe('connected')
  })

  it('files.stop() (the client stopping) resets streams still waiting for their header', async () => {
    const h = make()
    const { stream, served } = await h.open(await newPeer())
    await until(() => h.files.open === 1, 10_000, 'the stream open')
    h.files.stop()
    await served
    await until(() => wasReset(stream), 10_000, 'the stream reset')
    const late = await h.open(await newPeer())
    await late.served
    await until(() => wasReset(late.stream), 10_000, 'a later stream reset')
  })

  it('a hostile file name in the FileHeader reaches the app sanitised', async () => {
    const h = make()
    const mallory = await newPeer()
    const { call } = await h.call(mallory)
    const arriving = nextFile(call)
    const { stream } = await h.open(mallory)
    await forgeHeader(stream, call.id, { size: 10, name: '..\\..\\x/../../home/u/.ssh/\u202Egpj.exe\u0000', mimeType: 'text/html\r\nX: 1' })
    const transfer = await arriving
    expect(transfer.name).toBe('gpj.exe')
    expect(transfer.mimeType).toBe('')
  })

  it('fileLimits() names the bad option', () => {
    expect(() => fileLimits(undefined, { maxIncomingPerPeer: 0 })).toThrow(/init.files.maxIncomingPerPeer must be a whole number from 1, got 0/)
    expect(() => fileLimits(-1, undefined)).toThrow(/init.maxFileBytes must be a whole number from 0, got -1/)
    expect(() => fileLimits(undefined, { maxInMemoryBytes: 1.5 })).toThrow(RangeError)
    expect(fileLimits(undefined, undefined)).toMatchObject({ maxFileBytes: 512 * MiB, maxInMemoryBytes: 16 * MiB, maxPerPeer: 4, maxTotal: 8 })
  })
})
