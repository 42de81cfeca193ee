import { encodeSignalMessage, MAX_SIGNAL_MESSAGE_BYTES } from '@auralink/protocol'
import { streamPair } from '@libp2p/utils'
import { lpStream } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { SignalChannel } from '../src/signal-channel.js'
import type { SignalMessage } from '@auralink/protocol'

function logger (): { log: ((fmt: string, ...args: unknown[]) => void) & { error: () => void, trace: () => void, enabled: boolean }, lines: string[] } {
  const lines: string[] = []
  const log = Object.assign((fmt: string, ...args: unknown[]) => { lines.push(`${fmt} ${args.map(String).join(' ')}`) }, { error: () => {}, trace: () => {}, enabled: true })
  return { log, lines }
}

async function until (cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('SignalChannel', () => {
  it('skips a frame that does not decode, with a logged reason, and keeps reading', async () => {
    const [a, b] = await streamPair()
    const { log, lines } = logger()
    const channel = new SignalChannel(b, log as never)
    const got: SignalMessage[] = []
    channel.start({ message: (m) => got.push(m), closed: () => {} })
    const raw = lpStream(a)
    await raw.write(new Uint8Array([0x0a, 0xff, 0xff, 0xff])) // a field whose length runs past the frame
    await raw.write(encodeSignalMessage({ callId: 'x', chat: { text: 'after' } }))
    await until(() => got.length === 1)
    expect(got[0]?.chat?.text).toBe('after')
    expect(lines.some((l) => /does not decode/.test(l))).toBe(true)
    expect(channel.closed).toBe(false)
  })

  it('closes with an error on a frame over MAX_SIGNAL_MESSAGE_BYTES', async () => {
    const [a, b] = await streamPair()
    const { log } = logger()
    const channel = new SignalChannel(b, log as never)
    let closedWith: Error | undefined | null = null
    channel.start({ message: () => {}, closed: (err) => { closedWith = err } })
    await lpStream(a).write(new Uint8Array(MAX_SIGNAL_MESSAGE_BYTES + 1))
    await until(() => closedWith !== null)
    expect(closedWith).toBeInstanceOf(Error)
    expect(channel.closed).toBe(true)
    await expect(channel.send({ callId: 'x', ping: { nonce: 1 } })).rejects.toThrow(/closed/)
  })

  it('delivers messages in order and reports a clean close when the other side closes', async () => {
    const [a, b] = await streamPair()
    const { log } = logger()
    const left = new SignalChannel(a, log as never)
    const right = new SignalChannel(b, log as never)
    const got: string[] = []
    let closed: Error | undefined | null = null
    right.start({ message: (m) => got.push(m.chat?.text ?? ''), closed: (err) => { closed = err } })
    left.start({ message: () => {}, closed: () => {} })
    await Promise.all(Array.from({ length: 20 }, async (_, i) => left.send({ callId: 'x', chat: { text: String(i) } })))
    await left.close()
    await until(() => closed !== null)
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
    expect(closed).toBeUndefined()
  })
})
