import { TypedEventEmitter } from '@libp2p/interface'

type Listener = EventListenerOrEventListenerObject

/**
 * A TypedEventEmitter whose listeners cannot break it: a listener that throws is reported to
 * `onListenerError` (a debug log by default in subclasses) instead of escaping. In Node an
 * exception from an EventTarget listener becomes an uncaught exception and ends the process;
 * in a relay node one bad metrics hook must not take the service down.
 */
export class SafeEventEmitter<EventMap extends Record<string, any>> extends TypedEventEmitter<EventMap> {
  private readonly wrapped = new Map<string, WeakMap<Listener, EventListener>>()

  /** Called with every error a listener throws. */
  protected onListenerError (_type: string, _err: unknown): void {}

  override addEventListener<K extends keyof EventMap> (type: K, listener: ((evt: EventMap[K]) => void) | Listener | null, options?: boolean | AddEventListenerOptions): void {
    if (listener == null) return
    const key = String(type)
    let map = this.wrapped.get(key)
    if (map === undefined) {
      map = new WeakMap()
      this.wrapped.set(key, map)
    }
    let safe = map.get(listener as Listener)
    if (safe === undefined) {
      const l = listener as Listener
      safe = (evt: Event) => {
        try {
          const r: unknown = typeof l === 'function' ? l.call(this, evt) : l.handleEvent(evt)
          if (r instanceof Promise) r.catch((err: unknown) => { this.onListenerError(key, err) })
        } catch (err) {
          this.onListenerError(key, err)
        }
      }
      map.set(l, safe)
    }
    super.addEventListener(type, safe as never, options)
  }

  override removeEventListener<K extends keyof EventMap> (type: K, listener?: ((evt: EventMap[K]) => void) | Listener | null, options?: boolean | EventListenerOptions): void {
    if (listener == null) return
    const safe = this.wrapped.get(String(type))?.get(listener as Listener)
    super.removeEventListener(type, (safe ?? listener) as never, options)
  }
}
