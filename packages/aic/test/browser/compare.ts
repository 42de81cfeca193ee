import type { Frame } from '../../src/index.js'

/** RGBA bytes from the base64 that global-setup.ts provides. */
export function fromB64 (f: { width: number, height: number, rgba: string }): { width: number, height: number, data: Uint8ClampedArray } {
  const bin = atob(f.rgba)
  const data = new Uint8ClampedArray(bin.length)
  for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i)
  return { width: f.width, height: f.height, data }
}

/** How far two frames of one size are apart: the largest difference of a value, and the share of values that differ. */
export function difference (a: Frame, b: Frame): { maxDiff: number, share: number, differing: number, values: number } {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}x${a.height} and ${b.width}x${b.height}`)
  let maxDiff = 0
  let differing = 0
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!)
    if (d > 0) differing++
    if (d > maxDiff) maxDiff = d
  }
  return { maxDiff, share: differing / a.data.length, differing, values: a.data.length }
}

/** The name of the error `p` rejects with, or 'no error' (for tables of cases in the Node and browser tests). */
export async function nameOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (err) {
    return (err as Error).name
  }
}
