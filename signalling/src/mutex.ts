/**
 * Promise chains keyed by string: `run(key, fn)` starts `fn` once every earlier `run` on the
 * same key has settled. Keys with nothing queued are forgotten, so memory follows the writes
 * in flight only.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve()
    const next = prev.then(fn)
    const tail = next.then(() => {}, () => {})
    this.tails.set(key, tail)
    try {
      return await next
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }

  /** Keys with a write queued or running. */
  get size (): number {
    return this.tails.size
  }
}
