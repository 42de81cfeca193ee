/**
 * The workers that run AIC's encoded transforms (aic-transform-worker.ts), started before a call
 * needs them. A video call puts a transform on its video sender and on each video receiver, and
 * no frame is encoded or decoded until the transform's worker has loaded and runs: a worker
 * started at that moment puts its start-up (fetching and evaluating the module, tens of ms on a
 * busy machine) on the path to the call's first frame, on both sides. The client keeps
 * {@link SPARE_TRANSFORM_WORKERS} workers started and waiting from its first call or invite on;
 * a call takes them and the pool starts others for the next call. Each call terminates the
 * workers it took when it ends, as before; `stop()` terminates the spares.
 */
import { hasEncodedTransform, missingPipelineApi } from './aic-runtime.js'

/** Spare workers kept started: a call takes two (its video sender's and its video receiver's). */
export const SPARE_TRANSFORM_WORKERS = 2

/** What a call needs of the pool. */
export interface TransformWorkerSource {
  /** A started worker (a spare, or a new one when none is left); the caller terminates it. */
  take(): Worker
  /** Starts spares up to the pool's size, where this browser can run AIC's transforms. */
  warm(): void
}

/** Starts one transform worker. */
export function startTransformWorker (): Worker {
  // the literal `new URL(…, import.meta.url)` inside `new Worker` is what bundlers build and copy
  return new Worker(new URL('./aic-transform-worker.js', import.meta.url), { type: 'module', name: 'auralink-aic-transform' })
}

/** Whether this runtime can run AIC's receiving pipeline and encoded transforms. */
export function canRunTransforms (): boolean {
  return missingPipelineApi() === undefined && hasEncodedTransform()
}

/** One client's spare transform workers. */
export class TransformWorkerPool implements TransformWorkerSource {
  private readonly spares: Worker[] = []
  private stopped = false

  constructor (
    private readonly size: number = SPARE_TRANSFORM_WORKERS,
    private readonly start: () => Worker = startTransformWorker,
    private readonly supported: () => boolean = canRunTransforms
  ) {}

  warm (): void {
    if (this.stopped || !this.supported()) return
    while (this.spares.length < this.size) this.spares.push(this.start())
  }

  take (): Worker {
    const worker = this.spares.shift() ?? this.start()
    // the next call's worker starts now, while this call sets up: it is ready when that call comes
    if (!this.stopped) this.warm()
    return worker
  }

  /** Spares kept now (for tests and stats). */
  get spareCount (): number { return this.spares.length }

  /** Terminates the spares; later takes start workers of their own and keep no spares. */
  stop (): void {
    this.stopped = true
    for (const w of this.spares.splice(0)) w.terminate()
  }
}
