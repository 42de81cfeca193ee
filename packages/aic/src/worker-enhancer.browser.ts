/**
 * The main-thread side of the worker enhancer: an Enhancer whose session lives in a dedicated
 * worker (enhancer-worker.browser.ts). Each enhance() posts the frame's RGBA bytes (a copy for
 * ImageData and Frame, whose bytes stay the caller's; a VideoFrame's fresh copy as it is) and
 * gets the restored frame's bytes back; both buffers are transferred.
 */
import { checkFrameForScale } from './enhancer.js'
import { InvalidStateError, RuntimeUnavailableError } from './errors.js'
import { toFrame } from './frame.browser.js'
import { fromWire } from './worker-protocol.browser.js'
import type { BrowserEnhancer, BrowserEnhancerInfo } from './create-enhancer.browser.js'
import type { EnhanceOptions, WeightUpdateResult } from './enhancer.js'
import type { FrameSource } from './frame.browser.js'
import type { Frame } from './frame.js'
import type { EnhanceResult, OpenRequest, OpenResult, WorkerReply, WorkerRequest } from './worker-protocol.browser.js'

type Pending = { resolve: (value: unknown) => void, reject: (err: Error) => void }
type RequestBody<T> = T extends unknown ? Omit<T, 'id'> : never

/** A dedicated module worker running enhancer-worker.browser.js (beside this module in dist/ and src/). */
export function startEnhancerWorker (): Worker {
  // this exact form (a literal `new URL(…, import.meta.url)` inside `new Worker`) is what
  // bundlers recognise to build and copy the worker
  return new Worker(new URL('./enhancer-worker.browser.js', import.meta.url), { type: 'module', name: 'auralink-aic-enhancer' })
}

/** One worker and the requests in flight to it. */
export class EnhancerWorkerClient {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private failure?: Error

  constructor (worker: Worker) {
    this.worker = worker
    worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const reply = ev.data
      const p = this.pending.get(reply.id)
      if (p === undefined) return
      this.pending.delete(reply.id)
      if (reply.ok) p.resolve(reply.value)
      else p.reject(fromWire(reply.error))
    }
    // the worker's script did not load, or threw outside a request: every request fails, now and later
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault()
      this.fail(new RuntimeUnavailableError(`the enhancer worker failed: ${ev.message !== '' ? ev.message : 'its script did not load (is enhancer-worker.browser.js served beside the package\'s module?)'}`))
    }
    worker.onmessageerror = () => { this.fail(new RuntimeUnavailableError('the enhancer worker sent a message that could not be read')) }
  }

  private fail (err: Error): void {
    this.failure ??= err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.worker.terminate()
  }

  async request<T> (body: RequestBody<WorkerRequest>, transfer: Transferable[] = []): Promise<T> {
    if (this.failure !== undefined) throw this.failure
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer)
    })
  }

  terminate (): void {
    this.fail(new InvalidStateError('the enhancer worker was stopped'))
  }

  /** Asks the worker to release its session, then stops it. */
  async close (): Promise<void> {
    // if the worker cannot release it (it failed earlier), terminating it frees the session's
    // memory all the same, and that earlier failure was given to the calls it broke
    await this.request({ type: 'close' }).catch(() => {})
    this.terminate()
  }
}

/** Opens a session in a new worker; the model's buffer is transferred to it. */
export async function openWorkerSession (client: EnhancerWorkerClient, open: Omit<OpenRequest, 'type' | 'id'>): Promise<OpenResult> {
  return client.request<OpenResult>({ type: 'open', ...open }, [open.model.buffer])
}

export class WorkerEnhancer implements BrowserEnhancer {
  readonly info: BrowserEnhancerInfo
  private client?: EnhancerWorkerClient

  constructor (client: EnhancerWorkerClient, info: BrowserEnhancerInfo) {
    this.client = client
    this.info = info
  }

  async enhance (source: FrameSource, options: EnhanceOptions = {}): Promise<Frame> {
    if (this.client === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
    options.signal?.throwIfAborted()
    const isVideo = typeof VideoFrame === 'function' && source instanceof VideoFrame
    const frame = await toFrame(source)
    // checked here, not only in the worker: the error then comes before the bytes travel
    checkFrameForScale(frame.width, frame.height, this.info.scale)
    const client = this.client
    if (client === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
    options.signal?.throwIfAborted()
    const data = isVideo ? frame.data : frame.data.slice()
    const result = client.request<EnhanceResult>({ type: 'enhance', width: frame.width, height: frame.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, [data.buffer])
    const signal = options.signal
    if (signal === undefined) return result
    // an abort answers at once; the worker finishes that frame and its answer is dropped
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([result, aborted])
    } finally {
      signal.removeEventListener('abort', onAbort!)
      result.catch(() => {})
    }
  }

  async applyUpdate (bytes: Uint8Array): Promise<WeightUpdateResult> {
    if (this.client === undefined) throw new InvalidStateError('applyUpdate() on a closed enhancer')
    if (this.info.adaptive !== true) throw new InvalidStateError('applyUpdate() on an enhancer that is not adaptive (createEnhancer({ adaptive: true }))')
    if (!(bytes instanceof Uint8Array)) throw new TypeError('applyUpdate() takes the WeightUpdate\'s bytes as a Uint8Array')
    return this.client.request<WeightUpdateResult>({ type: 'update', bytes: bytes.slice() })
  }

  async close (): Promise<void> {
    const client = this.client
    this.client = undefined
    await client?.close()
  }
}
