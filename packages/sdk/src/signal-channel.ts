import { upstreamErrorKind } from '@auralink/core'
import { decodeSignalMessage, encodeSignalMessage, MAX_SIGNAL_MESSAGE_BYTES } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import type { SignalMessage, SignalMessageFields } from '@auralink/protocol'
import type { Logger, Stream } from '@libp2p/interface'

export interface SignalChannelEvents {
  /** A decoded message. */
  message(msg: SignalMessage): void
  /** The stream ended or failed: no more messages either way. `error` is absent for a clean end. */
  closed(error?: Error): void
}

/**
 * Length-prefixed SignalMessages on one libp2p stream, both ways. Writes are queued so that
 * each message goes out whole and in order; a frame that does not decode is logged and skipped
 * (the stream stays usable); a frame over MAX_SIGNAL_MESSAGE_BYTES, or a stream error, closes
 * the channel.
 */
export class SignalChannel {
  readonly stream: Stream
  private readonly lp
  private readonly log: Logger
  private writes: Promise<void> = Promise.resolve()
  private closedFlag = false
  private handlers: SignalChannelEvents | undefined
  /** Bytes read and written, frames included: the data call's bitrate. */
  bytesIn = 0
  bytesOut = 0

  constructor (stream: Stream, log: Logger) {
    this.stream = stream
    this.log = log
    this.lp = lpStream(stream, { maxDataLength: MAX_SIGNAL_MESSAGE_BYTES })
  }

  get closed (): boolean { return this.closedFlag }

  /** Starts the read loop; `first` are messages already read (the invite). */
  start (handlers: SignalChannelEvents): void {
    this.handlers = handlers
    void this.readLoop()
  }

  /** Reads exactly one message (the invite), before start(). */
  async readOne (signal: AbortSignal): Promise<SignalMessage> {
    const frame = await this.lp.read({ signal })
    this.bytesIn += frame.byteLength
    return decodeSignalMessage(frame.subarray())
  }

  private async readLoop (): Promise<void> {
    try {
      while (!this.closedFlag) {
        const frame = await this.lp.read()
        this.bytesIn += frame.byteLength
        let msg: SignalMessage
        try {
          msg = decodeSignalMessage(frame.subarray())
        } catch (err) {
          this.log('ignoring a signal frame of %d bytes that does not decode: %s', frame.byteLength, (err as Error).message)
          continue
        }
        this.handlers?.message(msg)
      }
    } catch (err) {
      // an end that reads as clean, on a stream the peer reset, is a reset (the reset can reach the
      // reader as the end of its data first)
      const e = endError(err) ?? (this.stream.status === 'reset' || this.stream.status === 'aborted' ? new Error(`the stream was ${this.stream.status}`) : undefined)
      this.finish(this.closedFlag ? undefined : e)
    }
  }

  /** Queues `msg`; resolves when written. Rejects when the channel is closed or the write fails. */
  async send (msg: SignalMessageFields): Promise<void> {
    if (this.closedFlag) throw new Error('the call stream is closed')
    const bytes = encodeSignalMessage(msg)
    const write = this.writes.then(async () => {
      if (this.closedFlag) throw new Error('the call stream is closed')
      await this.lp.write(bytes)
      this.bytesOut += bytes.byteLength
    })
    this.writes = write.catch(() => {})
    await write
  }

  /** Sends what is queued, closes the stream gracefully (bounded), and reports `closed`. */
  async close (timeoutMs = 2000): Promise<void> {
    if (this.closedFlag) return
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      await Promise.race([this.writes, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))])
      await this.stream.close({ signal })
    } catch {
      this.stream.abort(new Error('call stream closed'))
    }
    this.finish()
  }

  /** Drops the stream at once. */
  abort (reason: Error): void {
    if (this.closedFlag) return
    try { this.stream.abort(reason) } catch {}
    this.finish(reason)
  }

  private finish (error?: Error): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.handlers?.closed(error)
  }
}

function endError (err: unknown): Error | undefined {
  const e = err as Error
  // the remote closed its end cleanly
  if (upstreamErrorKind(e) === 'unexpected-eof') return undefined
  return e instanceof Error ? e : new Error(String(err))
}
