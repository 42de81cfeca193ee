import { describe, expect, it } from 'vitest'
import { MAX_CHAT_BYTES } from '@auralink/protocol'
import { ChatLog, chatMessage, checkChat } from '../src/chat-log.js'
import { MAX_UNACKED_CHAT } from '../src/constants.js'

describe('ChatLog', () => {
  it('add() numbers messages 1, 2, 3 and keeps them until acked(seq) (cumulative)', () => {
    const log = new ChatLog()
    expect(log.add({ text: 'a' }).seq).toBe(1)
    expect(log.add({ text: 'b' }).seq).toBe(2)
    expect(log.add({ data: new Uint8Array([1]) }).seq).toBe(3)
    expect(log.pending).toBe(3)
    log.acked(2)
    expect(log.pending).toBe(1)
    log.acked(1) // an older acknowledgement changes nothing
    expect(log.pending).toBe(1)
    log.acked(3)
    expect(log.pending).toBe(0)
  })

  it('resend(peerHas) returns, in order, exactly the messages the other side lacks', () => {
    const log = new ChatLog()
    for (const t of ['a', 'b', 'c', 'd']) log.add({ text: t })
    expect(log.resend(2).map((e) => [e.seq, e.text])).toEqual([[3, 'c'], [4, 'd']])
    // a second reconnect before any acknowledgement: the same ones again
    expect(log.resend(2).map((e) => e.seq)).toEqual([3, 4])
    expect(log.resend(4)).toEqual([])
  })

  it('accept(seq) delivers each seq once and in order: a duplicate and a message past a gap are dropped with a reason', () => {
    const log = new ChatLog()
    expect(log.accept(1)).toBe(true)
    expect(log.accept(2)).toBe(true)
    expect(log.accept(2)).toMatch(/again/)
    expect(log.accept(1)).toMatch(/again/)
    expect(log.accept(4)).toMatch(/gap/)
    expect(log.received).toBe(2)
    expect(log.accept(3)).toBe(true)
    expect(log.accept(4)).toBe(true)
    expect(log.received).toBe(4)
  })

  it('accept(0) delivers every unnumbered message (a peer that does not number them) and leaves the count alone', () => {
    const log = new ChatLog()
    expect(log.accept(0)).toBe(true)
    expect(log.accept(0)).toBe(true)
    expect(log.received).toBe(0)
  })

  it(`add() throws RangeError once ${MAX_UNACKED_CHAT} messages wait unacknowledged`, () => {
    const log = new ChatLog()
    for (let i = 0; i < MAX_UNACKED_CHAT; i++) log.add({ text: String(i) })
    expect(() => log.add({ text: 'one too many' })).toThrow(RangeError)
    log.acked(1)
    expect(log.add({ text: 'fits again' }).seq).toBe(MAX_UNACKED_CHAT + 1)
  })

  it('a break simulated end to end: lost and repeated messages arrive exactly once, in order', () => {
    const a = new ChatLog()
    const b = new ChatLog()
    const got: string[] = []
    const deliver = (seq: number, text: string): void => { if (b.accept(seq) === true) got.push(text) }
    for (let i = 1; i <= 10; i++) {
      const e = a.add({ text: `m${i}` })
      // 4 to 7 were written to the stream that broke and never arrived
      if (i < 4 || i > 7) deliver(e.seq, e.text!)
    }
    a.acked(2) // a ping got through before the break
    // both sides resume: b says what it has; a sends the rest again, 3 of it a second time
    for (const e of a.resend(b.received)) deliver(e.seq, e.text!)
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10'])
    expect(a.resend(b.received)).toEqual([])
  })
})

describe('checkChat() and chatMessage()', () => {
  it('checkChat(message) takes a string as text and bytes as data', () => {
    expect(checkChat('hi')).toEqual({ text: 'hi' })
    expect(checkChat(new Uint8Array([1, 2]))).toEqual({ data: new Uint8Array([1, 2]) })
  })

  it('checkChat(message) rejects another type with a TypeError naming it', () => {
    expect(() => checkChat(null)).toThrow(TypeError)
    expect(() => checkChat(null)).toThrow(/got null/)
    expect(() => checkChat(42)).toThrow(/got number/)
  })

  it('checkChat(message) rejects text or bytes over MAX_CHAT_BYTES with a RangeError', () => {
    expect(() => checkChat('é'.repeat(MAX_CHAT_BYTES / 2 + 1))).toThrow(RangeError)
    expect(() => checkChat(new Uint8Array(MAX_CHAT_BYTES + 1))).toThrow(RangeError)
    expect(checkChat(new Uint8Array(MAX_CHAT_BYTES)).data).toHaveLength(MAX_CHAT_BYTES)
  })

  it('chatMessage(callId, entry) carries text or data and the seq, nothing else', () => {
    expect(chatMessage('c1', { seq: 3, text: 'a' })).toEqual({ callId: 'c1', chat: { text: 'a', seq: 3 } })
    expect(chatMessage('c1', { seq: 4, data: new Uint8Array([9]) })).toEqual({ callId: 'c1', chat: { data: new Uint8Array([9]), seq: 4 } })
  })
})
