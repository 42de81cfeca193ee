import { MAX_CHAT_BYTES } from '@auralink/protocol'
import { MAX_UNACKED_CHAT } from './constants.js'
import type { SignalMessageFields } from '@auralink/protocol'

/** One chat message as it travels: text or bytes, and its sequence number. */
export interface ChatEntry {
  seq: number
  text?: string
  data?: Uint8Array
}

/**
 * @internal Chat messages of one call, numbered so that none is lost or delivered twice across a
 * reconnect. Each side numbers what it sends 1, 2, 3, ... and keeps each message until the other
 * side acknowledges it (cumulatively: `Ping.chat_received`, `Resume.chat_received`); after a
 * reconnect it resends what is not acknowledged, in order. The receiver delivers a message only
 * when it is the next one expected: a seq it has had is a duplicate (dropped), one past a gap is
 * dropped too (it comes again after the gap is resent). Seq 0 is a peer that does not number
 * its messages: delivered as it comes.
 */
export class ChatLog {
  private nextSeq = 1
  private readonly unacked: ChatEntry[] = []
  /** The highest seq received with none missing before it. */
  private inSeq = 0

  /** What this side has received in order: the acknowledgement to send. */
  get received (): number { return this.inSeq }
  /** Messages sent and not yet acknowledged. */
  get pending (): number { return this.unacked.length }

  /** Numbers an outgoing message and keeps it until acknowledged. Throws when too many wait. */
  add (chat: { text?: string, data?: Uint8Array }): ChatEntry {
    if (this.unacked.length >= MAX_UNACKED_CHAT) {
      throw new RangeError(`send(message): ${MAX_UNACKED_CHAT} messages already wait for the other side to acknowledge them`)
    }
    const entry: ChatEntry = { seq: this.nextSeq++, ...chat }
    this.unacked.push(entry)
    return entry
  }

  /** The other side has every message up to `seq`: forget them. */
  acked (seq: number): void {
    while (this.unacked.length > 0 && this.unacked[0]!.seq <= seq) this.unacked.shift()
  }

  /** After a reconnect: what to send again, in order, given the other side's acknowledgement. */
  resend (ackedSeq: number): ChatEntry[] {
    this.acked(ackedSeq)
    return this.unacked.slice()
  }

  /** A received message: whether to deliver it (true), or drop it as a duplicate or out of order (a reason). */
  accept (seq: number): true | string {
    if (seq === 0) return true
    if (seq <= this.inSeq) return `chat message ${seq} again (have up to ${this.inSeq})`
    if (seq !== this.inSeq + 1) return `chat message ${seq} after a gap (have up to ${this.inSeq}); it comes again after a reconnect`
    this.inSeq = seq
    return true
  }
}

/** The call stream message that carries `entry` on call `callId`. */
export function chatMessage (callId: string, entry: ChatEntry): SignalMessageFields {
  return { callId, chat: { ...(entry.text !== undefined ? { text: entry.text } : {}), ...(entry.data !== undefined ? { data: entry.data } : {}), seq: entry.seq } }
}

/** What `call.send(message)` sends: a string as text, bytes as data; throws on another type or over MAX_CHAT_BYTES. */
export function checkChat (message: unknown): { text?: string, data?: Uint8Array } {
  if (typeof message === 'string') {
    if (new TextEncoder().encode(message).byteLength > MAX_CHAT_BYTES) throw new RangeError(`send(message): message is over ${MAX_CHAT_BYTES} bytes; use sendFile()`)
    return { text: message }
  }
  if (message instanceof Uint8Array) {
    if (message.byteLength > MAX_CHAT_BYTES) throw new RangeError(`send(message): message is ${message.byteLength} bytes, over ${MAX_CHAT_BYTES}; use sendFile()`)
    return { data: message }
  }
  throw new TypeError(`send(message): message must be a string or a Uint8Array, got ${message === null ? 'null' : typeof message}`)
}
