/** Argument checks of the AIC mode controller (aic-controller.ts): TypeError or RangeError naming the field. */
import type { AicFrame, AicMode } from './aic-controller.js'

const MODES: readonly string[] = ['conservative', 'adaptive', 'aggressive']
const MAX_SIDE = 16_384
const MAX_FPS = 240

export function fail (Type: typeof TypeError | typeof RangeError, field: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got === 'object' ? 'an object' : String(got)
  throw new Type(`${field} must be ${expected}, got ${shown}`)
}

export function checkNumber (x: unknown, field: string, { min = 0, max = Number.MAX_VALUE, above = false, integer = false } = {}): number {
  const expected = `${integer ? 'a whole number' : 'a number'} ${above ? `over ${min}` : `>= ${min}`}${max < Number.MAX_VALUE ? ` and <= ${max}` : ''}`
  if (typeof x !== 'number') fail(TypeError, field, expected, x)
  if (!Number.isFinite(x) || x < min || (above && x === min) || x > max || (integer && !Number.isInteger(x))) fail(RangeError, field, expected, x)
  return x
}

export function checkMode (mode: unknown, field: string): AicMode | 'off' {
  if (mode !== 'off' && !(typeof mode === 'string' && MODES.includes(mode))) {
    fail(typeof mode === 'string' ? RangeError : TypeError, field, "'conservative', 'adaptive', 'aggressive' or 'off'", mode)
  }
  return mode as AicMode | 'off'
}

export function checkFrame (frame: unknown, field: string): AicFrame {
  if (typeof frame !== 'object' || frame === null) fail(TypeError, field, 'an object { width, height, fps }', frame)
  const f = frame as Record<string, unknown>
  return {
    width: checkNumber(f.width, `${field}.width`, { min: 0, above: true, max: MAX_SIDE, integer: true }),
    height: checkNumber(f.height, `${field}.height`, { min: 0, above: true, max: MAX_SIDE, integer: true }),
    fps: checkNumber(f.fps, `${field}.fps`, { min: 0, above: true, max: MAX_FPS })
  }
}

export function checkScales (scales: unknown, field: string): Array<1.5 | 2> {
  if (!Array.isArray(scales)) fail(TypeError, field, 'an array of scales (2, 1.5)', scales)
  if (scales.length > 8) throw new RangeError(`${field} must have at most 8 scales, got ${scales.length}`)
  const out = new Set<1.5 | 2>()
  scales.forEach((s: unknown, i) => {
    if (typeof s !== 'number') fail(TypeError, `${field}[${i}]`, '2 or 1.5', s)
    if (s !== 2 && s !== 1.5) fail(RangeError, `${field}[${i}]`, '2 or 1.5', s)
    out.add(s)
  })
  return [...out]
}
