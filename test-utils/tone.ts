// Tone detection for tests, with no Node imports: Node tests and the e2e pages (bundled for the
// browser) share it.

/**
 * The strength of `hz` in `pcm` (sampled at `rate`) against the whole signal: the Goertzel
 * filter's power at that frequency over the total power, 0 to about 1 (a pure tone at `hz` gives
 * close to 1; silence or another tone close to 0). The samples' scale does not matter (16-bit
 * integers or floats from -1 to 1 give the same share).
 */
export function toneShare (pcm: ArrayLike<number>, hz: number, rate = 8000): number {
  const n = pcm.length
  if (n === 0) return 0
  const coeff = 2 * Math.cos(2 * Math.PI * hz / rate)
  let s1 = 0
  let s2 = 0
  let total = 0
  for (let i = 0; i < n; i++) {
    const x = pcm[i]!
    total += x * x
    const s = x + coeff * s1 - s2
    s2 = s1
    s1 = s
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2
  // a pure tone's Goertzel power is total * n / 2
  return total === 0 ? 0 : power / (total * n / 2)
}
