import { describe, expect, it } from 'vitest'
import { TransformWorkerPool } from '../src/aic-transform-workers.js'

// The pool's bookkeeping, with a stand-in for `new Worker(...)` (Node has no Worker of the web's
// kind); the real workers run in Chromium in e2e/aic-call.e2e.test.ts and bench/call-setup.

interface FakeWorker { n: number, terminated: boolean, terminate(): void }

function pool (supported = true): { pool: TransformWorkerPool, started: FakeWorker[] } {
  const started: FakeWorker[] = []
  const start = (): Worker => {
    const w: FakeWorker = { n: started.length + 1, terminated: false, terminate () { this.terminated = true } }
    started.push(w)
    return w as unknown as Worker
  }
  return { pool: new TransformWorkerPool(2, start, () => supported), started }
}

describe('TransformWorkerPool (AIC transform workers started before a call needs them)', () => {
  it('starts nothing until warmed; warm() starts two spares and a second warm() none', () => {
    const { pool: p, started } = pool()
    expect(started).toHaveLength(0)
    p.warm()
    p.warm()
    expect(started).toHaveLength(2)
    expect(p.spareCount).toBe(2)
  })

  it('take() hands out a spare started earlier, oldest first, and starts its replacement at once', () => {
    const { pool: p, started } = pool()
    p.warm()
    const a = p.take() as unknown as FakeWorker
    const b = p.take() as unknown as FakeWorker
    expect([a.n, b.n]).toEqual([1, 2])
    expect(started).toHaveLength(4)
    expect(p.spareCount).toBe(2)
  })

  it('take() on an empty pool starts a worker for the caller (and spares for the next call)', () => {
    const { pool: p, started } = pool()
    const a = p.take() as unknown as FakeWorker
    expect(a.n).toBe(1)
    expect(started).toHaveLength(3)
    expect(p.spareCount).toBe(2)
  })

  it('where this browser cannot run the transforms, warm() starts nothing', () => {
    const { pool: p, started } = pool(false)
    p.warm()
    expect(started).toHaveLength(0)
  })

  it('stop() terminates the spares, not the workers calls took; later takes keep no spares', () => {
    const { pool: p, started } = pool()
    p.warm()
    const taken = p.take() as unknown as FakeWorker
    p.stop()
    expect(taken.terminated).toBe(false)
    expect(started.filter((w) => w.terminated).map((w) => w.n)).toEqual([2, 3])
    expect(p.spareCount).toBe(0)
    p.warm()
    const late = p.take() as unknown as FakeWorker
    expect(late.terminated).toBe(false)
    expect(p.spareCount).toBe(0)
    expect(started).toHaveLength(4)
  })
})
