/**
 * `target` with some of its properties replaced, everything else read from `target` itself (its
 * methods bound to it, so private fields keep working): how the relay hands libp2p's stock
 * services a wrapped registrar or upgrader without subclassing them.
 * `overriding(registrar, { handle })` is the registrar with `handle` replaced.
 */
export function overriding<T extends object> (target: T, replaced: Record<string, unknown>): T {
  return new Proxy(target, {
    get: (t, prop) => {
      if (typeof prop === 'string' && Object.hasOwn(replaced, prop)) return replaced[prop]
      const value: unknown = Reflect.get(t, prop)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value
    }
  })
}
