import { describe, expect, it } from 'vitest'
import { SafeEventEmitter } from '../src/index.js'

class Emitter extends SafeEventEmitter<{ ping: CustomEvent<number> }> {
  readonly errors: unknown[] = []
  protected override onListenerError (_type: string, err: unknown): void { this.errors.push(err) }
}

describe('SafeEventEmitter', () => {
  it('a listener that throws does not stop later listeners and is reported to onListenerError', () => {
    const e = new Emitter()
    const seen: number[] = []
    e.addEventListener('ping', () => { throw new Error('bad listener') })
    e.addEventListener('ping', (evt) => { seen.push(evt.detail) })
    e.safeDispatchEvent('ping', { detail: 7 })
    expect(seen).toEqual([7])
    expect(e.errors).toHaveLength(1)
    expect((e.errors[0] as Error).message).toBe('bad listener')
  })

  it('removeEventListener() removes a listener added through the wrapper', () => {
    const e = new Emitter()
    const seen: number[] = []
    const l = (evt: CustomEvent<number>): void => { seen.push(evt.detail) }
    e.addEventListener('ping', l)
    e.removeEventListener('ping', l)
    e.safeDispatchEvent('ping', { detail: 1 })
    expect(seen).toEqual([])
    expect(e.listenerCount('ping')).toBe(0)
  })

  it('a rejected promise from an async listener is reported, not left unhandled', async () => {
    const e = new Emitter()
    e.addEventListener('ping', async () => { throw new Error('async bad') })
    e.safeDispatchEvent('ping', { detail: 1 })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect((e.errors[0] as Error).message).toBe('async bad')
  })
})
