import type { PeerRef } from './types.js'

/** Longest relay or peer id accepted (a PeerId string is about 52 characters). */
const MAX_ID_LENGTH = 256

/** How a bad value reads in an error message: numbers as they print (NaN, Infinity), the rest as JSON. */
export function show (value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)
  if (value === undefined) return 'undefined'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** The string key of a relay or peer: a PeerId's string form, or a non-empty string. */
export function idOf (ref: PeerRef, name: string): string {
  const id = typeof ref === 'string' ? ref : (ref != null && typeof ref === 'object' && typeof ref.toString === 'function') ? ref.toString() : undefined
  if (typeof id !== 'string' || id === '' || id === '[object Object]') {
    throw new TypeError(`${name} must be a PeerId or a non-empty PeerId string, got ${show(ref)}`)
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new RangeError(`${name} must be at most ${MAX_ID_LENGTH} characters, got ${id.length}`)
  }
  return id
}

/** A number: TypeError when not one. */
export function number (name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${show(value)}`)
  return value
}

/** A finite number >= 0: TypeError when not a number, RangeError naming it otherwise. */
export function nonNegative (name: string, value: unknown): number {
  const n = number(name, value)
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${show(n)}`)
  return n
}

/** A finite number > 0. */
export function positive (name: string, value: unknown): number {
  const n = number(name, value)
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a finite number > 0, got ${show(n)}`)
  return n
}

/** A finite number in [min, max]. */
export function between (name: string, value: unknown, min: number, max: number): number {
  const n = number(name, value)
  if (!Number.isFinite(n) || n < min || n > max) throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${show(n)}`)
  return n
}

/** A finite number of any sign. */
export function finite (name: string, value: unknown): number {
  const n = number(name, value)
  if (!Number.isFinite(n)) throw new RangeError(`${name} must be a finite number, got ${show(n)}`)
  return n
}

/** A whole number >= min. */
export function integer (name: string, value: unknown, min: number): number {
  const n = number(name, value)
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${show(n)}`)
  return n
}

export function boolean (name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${show(value)}`)
  return value
}

/** An option: its default when undefined, checked otherwise. */
export function option<T> (value: T | undefined, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value)
}

/** A finite number in (0, 1]. */
export function share (name: string, value: unknown): number {
  const n = number(name, value)
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new RangeError(`${name} must be a number > 0 and <= 1, got ${show(n)}`)
  return n
}
