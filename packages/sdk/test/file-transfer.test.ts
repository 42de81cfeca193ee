import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { FILE_CHUNK_BYTES } from '../src/constants.js'
import { fileChunking } from '../src/file-transfer.js'
import { harness, newPeer, sha256 } from './file-harness.js'
import type { Call } from '../src/call.js'
import type { FileInput, FileTransfer } from '../src/file-transfer.js'
import type { Harness } from './file-harness.js'

// How sendFile() cuts a file for the stream it runs on (issue 15: throughput), and what a transfer
// reports on the way: the bytes arrive whole across chunk and message boundaries, progress rises
// to the file's size on both sides.

/** libp2p's WebRTC stream with the mesh's 64 KiB data-channel messages: 65536 less its protobuf overhead (7). */
const WEBRTC_MESSAGE_BYTES = 65536 - 7
/** The same with 256 KiB messages. */
const WEBRTC_256K_MESSAGE_BYTES = 262144 - 7

function nextFile (call: Call): Promise<FileTransfer> {
  return new Promise((resolve) => { call.addEventListener('file', (e) => { resolve(e.detail.transfer) }, { once: true }) })
}

function progressOf (t: FileTransfer): number[] {
  const seen: number[] = []
  t.addEventListener('progress', (e) => { seen.push(e.detail.bytes) })
  return seen
}

const steps = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - xs[i]!)

describe('fileChunking(messageBytes): chunks of at most 64 KiB, a stream message\'s worth per write', () => {
  it('fileChunking(65529) (a WebRTC stream of 64 KiB messages): one chunk of 65526 bytes per message, its 3-byte length prefix included', () => {
    expect(fileChunking(WEBRTC_MESSAGE_BYTES)).toEqual({ chunkBytes: 65526, perMessage: 1 })
  })

  it('fileChunking(262137) (256 KiB messages): four chunks per message, which with their prefixes fit in it', () => {
    const { chunkBytes, perMessage } = fileChunking(WEBRTC_256K_MESSAGE_BYTES)
    expect(perMessage).toBe(4)
    expect(chunkBytes).toBeLessThanOrEqual(FILE_CHUNK_BYTES)
    expect(perMessage * (chunkBytes + 3)).toBeLessThanOrEqual(WEBRTC_256K_MESSAGE_BYTES)
  })

  it('fileChunking() with no size, a size under 1 KiB or not a whole number: 64 KiB chunks, one per write', () => {
    for (const n of [undefined, 0, 512, Number.NaN, 1.5e5 + 0.5]) expect(fileChunking(n)).toEqual({ chunkBytes: FILE_CHUNK_BYTES, perMessage: 1 })
  })

  it('fileChunking(4 MiB) writes at most four chunks (256 KiB) at a time, each at most 64 KiB', () => {
    const { chunkBytes, perMessage } = fileChunking(4 * 1024 * 1024)
    expect(perMessage).toBe(4)
    expect(chunkBytes).toBe(FILE_CHUNK_BYTES)
  })

  it('fileChunking(n) for every n from 1 KiB to 1 MiB: chunks within 64 KiB that, framed, fill at most one message', () => {
    for (let n = 1024; n <= 1024 * 1024; n += 997) {
      const { chunkBytes, perMessage } = fileChunking(n)
      expect(chunkBytes).toBeGreaterThan(0)
      expect(chunkBytes).toBeLessThanOrEqual(FILE_CHUNK_BYTES)
      expect(perMessage * (chunkBytes + 3)).toBeLessThanOrEqual(n)
    }
  })
})

describe('sendFile() across chunk and message boundaries', () => {
  const open: Harness[] = []
  afterEach(async () => { await Promise.all(open.splice(0).map(async (h) => h.stop())) })

  /** Sends `file` from one harness's call to the other's over streams of `maxMessageSize`; the receiver's transfer and both progress logs. */
  async function send (file: FileInput, maxMessageSize?: number): Promise<{ sent: FileTransfer, received: FileTransfer, sentProgress: number[], gotProgress: number[] }> {
    const receiver = harness()
    const sender = harness()
    open.push(receiver, sender)
    const alice = await newPeer()
    const bob = await newPeer()
    const { call: theirs } = await receiver.call(alice)
    const { call: mine } = await sender.call(bob, { callId: theirs.id, maxMessageSize, onStream: (far) => { void receiver.files.handle(far, alice) } })
    const arriving = nextFile(theirs)
    let gotProgress: number[] = []
    theirs.addEventListener('file', (e) => { gotProgress = progressOf(e.detail.transfer) }, { once: true })
    const sent = mine.sendFile(file)
    const sentProgress = progressOf(sent)
    const received = await arriving
    await Promise.all([sent.done, received.done])
    return { sent, received, sentProgress, gotProgress }
  }

  for (const [what, maxMessageSize, perWrite] of [['64 KiB', WEBRTC_MESSAGE_BYTES, 65526], ['256 KiB', WEBRTC_256K_MESSAGE_BYTES, 4 * fileChunking(WEBRTC_256K_MESSAGE_BYTES).chunkBytes]] as const) {
    it(`sendFile() of 1 MiB + 12345 bytes on a stream of ${what} messages: the bytes and SHA-256 arrive intact; progress rises by ${perWrite} bytes a write to the size on the sender, never falls and ends at the size on the receiver`, async () => {
      const bytes = randomBytes(1024 * 1024 + 12345)
      const { received, sentProgress, gotProgress } = await send({ name: 'big.bin', data: bytes, type: 'application/octet-stream' }, maxMessageSize)
      const file = await received.done
      expect(file?.sha256).toBe(Buffer.from(sha256(bytes)).toString('hex'))
      expect(Buffer.from(await file!.blob!.arrayBuffer()).equals(bytes)).toBe(true)
      expect(sentProgress.at(-1)).toBe(bytes.byteLength)
      expect(steps(sentProgress).slice(0, -1).every((d) => d === perWrite)).toBe(true)
      expect(steps(sentProgress).at(-1)).toBeGreaterThan(0)
      expect(gotProgress[0]).toBe(0)
      expect(gotProgress.at(-1)).toBe(bytes.byteLength)
      expect(steps(gotProgress).every((d) => d >= 0 && d <= FILE_CHUNK_BYTES)).toBe(true)
    })
  }

  it('sendFile(new File(...)) of 3 MiB: a Blob read (while the stream opens) arrives intact with its name and type', async () => {
    const bytes = randomBytes(3 * 1024 * 1024)
    const { received, sentProgress } = await send(new File([bytes], 'photo.jpg', { type: 'image/jpeg' }), WEBRTC_MESSAGE_BYTES)
    const file = await received.done
    expect(file).toMatchObject({ name: 'photo.jpg', mimeType: 'image/jpeg', size: bytes.byteLength, sha256: Buffer.from(sha256(bytes)).toString('hex') })
    expect(Buffer.from(await file!.blob!.arrayBuffer()).equals(bytes)).toBe(true)
    expect(sentProgress.at(-1)).toBe(bytes.byteLength)
  })

  it('sendFile() of an empty file: one progress event of 0 bytes on each side, and an empty Blob', async () => {
    const { received, sentProgress, gotProgress } = await send({ name: 'empty.txt', data: new Uint8Array(0) }, WEBRTC_MESSAGE_BYTES)
    const file = await received.done
    expect(file?.size).toBe(0)
    expect(file?.blob?.size).toBe(0)
    expect(sentProgress).toEqual([0])
    expect(gotProgress).toEqual([0])
  })
})
