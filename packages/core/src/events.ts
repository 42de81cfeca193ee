import { TypedEventEmitter } from '@libp2p/interface'
import type { EventHandler } from 'main-event'

type AnyHandler = EventHandler<Event>

/**
 * A TypedEventEmitter whose listeners cannot break it: a listener that throws (or an async one
 * that rejects) is reported to `onListenerError` instead of escaping. In Node an exception from
 * an EventTarget listener becomes an uncaught exception and ends the process; in a relay node
 * one bad metrics hook must not take the service down.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same constraint as TypedEventEmitter's
export class SafeEventEmitter<EventMap extends Record<string, any>> extends TypedEventEmitter<EventMap> {
  private readonly wrapped = new Map<string, WeakMap<object, EventListener>>()

  /** Called with every error a listener throws. Subclasses log it. */
  protected onListenerError (_type: string, _err: unknown): void {}

  /** Adds `listener` for `type`, wrapped so that an error it throws goes to `onListenerError`. */
  override addEventListener<K extends keyof EventMap> (type: K, listener: EventHandler<EventMap[K]> | null, options?: boolean | AddEventListenerOptions): void {
    if (listener == null) return
    const key = String(type)
    let map = this.wrapped.get(key)
    if (map === undefined) {
      map = new WeakMap()
      this.wrapped.set(key, map)
    }
    let safe = map.get(listener)
    if (safe === undefined) {
      const l = listener as unknown as AnyHandler
      safe = (evt: Event) => {
        try {
          const r: unknown = typeof l === 'function' ? l.call(this, evt) : l.handleEvent(evt)
          if (r instanceof Promise) r.catch((err: unknown) => { this.onListenerError(key, err) })
        } catch (err) {
          this.onListenerError(key, err)
        }
      }
      map.set(listener, safe)
    }
    super.addEventListener(type, safe as unknown as EventHandler<EventMap[K]>, options)
  }

  /** Removes a listener added with addEventListener (its wrapper). */
  override removeEventListener<K extends keyof EventMap> (type: K, listener?: EventHandler<EventMap[K]> | null, options?: boolean | EventListenerOptions): void {
    if (listener == null) return
    const safe = this.wrapped.get(String(type))?.get(listener)
    super.removeEventListener(type, (safe ?? listener) as unknown as EventHandler<EventMap[K]>, options)
  }
}
