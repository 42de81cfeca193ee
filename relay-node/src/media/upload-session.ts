/**
 * One participant's upload stream on `/auralink/record/1.0.0`, once the relay has taken its
 * request (docs/PROTOCOL.md): the relay's answer, then its messages in order (the recording began,
 * a stream's state changed), then a last one saying why the upload ended. What ends it: the
 * participant closing its end, the agreed end (`endsAt`), the relay (end()), or the participant
 * sending anything after its request (a protocol violation: the stream is reset). Shared by the
 * file recordings (record-service.ts) and the streams out (stream-service.ts).
 */
import { encodeRecordResponse } from '@auralink/protocol'
import type { RecordResult } from '@auralink/protocol'
import type { Stream } from '@libp2p/interface'
import type { lpStream } from '@libp2p/utils'

/** Why an upload ended. */
export type UploadStopReason = 'participant' | 'lapsed' | 'bytes' | 'disk' | 'relay_stopping' | 'failed' | 'protocol' | 'interrupted'

/** The end response each reason gets. */
export const END_RESULT: Record<UploadStopReason, RecordResult> = { participant: 'ok', lapsed: 'ok', bytes: 'limit', disk: 'limit', relay_stopping: 'failed', failed: 'failed', protocol: 'bad-request', interrupted: 'failed' }
export const END_WORDS: Record<UploadStopReason, string> = {
  participant: 'stopped by the participant',
  lapsed: 'the agreed end (the consents\' earliest lapse, or this relay\'s duration cap) came',
  bytes: 'this upload reached the relay\'s size cap',
  disk: 'the relay\'s disk is nearly full',
  relay_stopping: 'the relay is stopping',
  failed: 'the relay\'s media endpoint failed',
  protocol: 'the participant sent bytes after its request',
  interrupted: 'the relay stopped without finishing it'
}

export class UploadSession {
  private reason_: UploadStopReason | undefined
  /** Words of the relay's own for the last message (a stream that failed says how), in place of END_WORDS. */
  private words: string | undefined
  private endedResolve!: () => void
  /** Resolves once the upload ends (end() was called, for any reason). */
  readonly ended: Promise<void>
  private said: Promise<void>
  private answeredResolve!: () => void
  private readonly lapse: ReturnType<typeof setTimeout>
  private readonly onRemoteEnd = (): void => { this.end('participant') }
  private readonly onMessage = (): void => { this.end('protocol') }

  constructor (private readonly stream: Stream, private readonly lp: ReturnType<typeof lpStream<Stream>>, endsAt: number) {
    this.ended = new Promise((resolve) => { this.endedResolve = resolve })
    // the relay's messages after the answer go one at a time, in order
    this.said = new Promise((resolve) => { this.answeredResolve = resolve })
    this.lapse = setTimeout(() => { this.end('lapsed') }, Math.max(0, endsAt - Date.now()))
    stream.addEventListener('remoteCloseWrite', this.onRemoteEnd)
    stream.addEventListener('close', this.onRemoteEnd)
  }

  /** Why it ended; undefined while it runs. */
  get reason (): UploadStopReason | undefined {
    return this.reason_
  }

  /** Ends the upload: the first reason given wins; `words` replace the reason's usual words in the last message. */
  end (reason: UploadStopReason, words?: string): void {
    if (this.reason_ === undefined) {
      this.reason_ = reason
      this.words = words
    }
    this.endedResolve()
  }

  /** Sends the relay's answer; false (and the upload ended) when it could not be delivered. */
  async answer (bytes: Uint8Array): Promise<boolean> {
    try {
      await this.lp.write(bytes, { signal: AbortSignal.timeout(5_000) })
      // beside the length-prefixed reader's own listener: anything after the request ends the upload
      this.stream.addEventListener('message', this.onMessage)
      if (this.stream.remoteWriteStatus !== 'writable' || this.stream.status !== 'open') this.end('participant')
      return this.reason_ === undefined
    } catch {
      this.end('participant')
      return false
    } finally {
      this.answeredResolve()
    }
  }

  /** A message after the answer (in order; lost silently when the stream is gone). */
  async say (bytes: Uint8Array): Promise<void> {
    this.said = this.said.then(async () => { await this.lp.write(bytes, { signal: AbortSignal.timeout(2_000) }) }).catch(() => {})
    await this.said
  }

  /** Stops listening (call once ended). */
  detach (): void {
    clearTimeout(this.lapse)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.stream.removeEventListener('close', this.onRemoteEnd)
    this.stream.removeEventListener('message', this.onMessage)
  }

  /** The last message (why it ended), then the stream closed; a protocol violation resets it instead. */
  async close (): Promise<void> {
    const reason = this.reason_ ?? 'failed'
    if (reason === 'protocol') {
      this.stream.abort(new Error(END_WORDS.protocol))
    } else if (this.stream.status === 'open' && this.stream.writeStatus === 'writable') {
      await this.say(encodeRecordResponse({ result: END_RESULT[reason], message: (this.words ?? END_WORDS[reason]).slice(0, 256), endsAt: Date.now() }))
      await this.stream.close({ signal: AbortSignal.timeout(2_000) }).catch((err: Error) => { this.stream.abort(err) })
    }
  }
}
