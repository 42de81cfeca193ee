/** Most power-iteration rounds; the error shrinks by (1 - damping) a round, so the default 0.15 stops near 170. */
const MAX_ROUNDS = 1_000
/** Stop once the trust vector moves less than this (L1) in a round. */
const EPSILON = 1e-12

export interface TrustInput {
  /** Pre-trusted peers: bootstrap relays and `init.preTrusted`. */
  preTrusted: ReadonlySet<string>
  /** Our local trust in peers from own experience: max(0, ok - failed), decayed. */
  local: ReadonlyMap<string, number>
  /** What each reporter says of others: opinions.get(j).get(k) = j's report value (0..1) about k. */
  opinions: ReadonlyMap<string, ReadonlyMap<string, number>>
  /** Share of trust sent back to the seed each round. */
  damping: number
  /** Share of the seed given to pre-trusted peers when local trust exists too. */
  preTrustedShare: number
}

const byId = ([a]: [string, number], [b]: [string, number]): number => a < b ? -1 : a > b ? 1 : 0

/** A distribution proportional to the positive weights (summed in id order), or undefined when they sum to zero. */
function normalised (weights: Iterable<[string, number]>): Map<string, number> | undefined {
  const out = new Map<string, number>()
  let sum = 0
  for (const [id, w] of [...weights].sort(byId)) {
    if (w > 0) { out.set(id, (out.get(id) ?? 0) + w); sum += w }
  }
  if (sum === 0 || !Number.isFinite(sum)) return undefined
  for (const [id, w] of out) out.set(id, w / sum)
  return out
}

/**
 * Personalised EigenTrust: the stationary trust vector of
 *
 *     t = (1 - a) * (C^T t + d(t) * p) + a * p
 *
 * where p is the seed (pre-trusted peers uniformly, mixed with our own normalised local trust),
 * C is the row-normalised matrix of reporters' opinions (self-opinions ignored), d(t) is the trust
 * held by peers that state no opinion (sent back to the seed, so t stays a distribution), and
 * a is the damping. Trust only reaches peers on a path of opinions from the seed: a clique of
 * fake peers that vouch for each other, with no one trusted vouching for any of them, gets none.
 *
 * Returns each peer's weight relative to the most trusted one (0..1), only peers above zero; an
 * empty map when there is no seed (no pre-trusted peer and no own experience: no report counts).
 * The result does not depend on the order of the maps.
 */
export function eigenTrust (input: TrustInput): Map<string, number> {
  const pre = normalised([...input.preTrusted].map((id) => [id, 1]))
  const local = normalised(input.local)
  let seed: Map<string, number>
  if (pre !== undefined && local !== undefined) {
    seed = normalised([
      ...[...pre].map(([id, w]): [string, number] => [id, w * input.preTrustedShare]),
      ...[...local].map(([id, w]): [string, number] => [id, w * (1 - input.preTrustedShare)])
    ]) ?? pre
  } else if (pre !== undefined || local !== undefined) {
    seed = (pre ?? local) as Map<string, number>
  } else {
    return new Map()
  }
  const ids = new Set<string>(seed.keys())
  for (const [j, row] of input.opinions) {
    ids.add(j)
    for (const k of row.keys()) ids.add(k)
  }
  const order = [...ids].sort()
  const index = new Map(order.map((id, i) => [id, i]))
  const n = order.length
  const p = new Float64Array(n)
  for (const [id, w] of seed) p[index.get(id) as number] = w
  // rows of C, sparse: [from, to[], weight[]]
  const rows: Array<{ from: number, to: number[], w: number[] }> = []
  const hasRow = new Uint8Array(n)
  for (const j of order) {
    const row = input.opinions.get(j)
    if (row === undefined) continue
    const c = normalised([...row].filter(([k]) => k !== j))
    if (c === undefined) continue
    const from = index.get(j) as number
    hasRow[from] = 1
    rows.push({ from, to: [...c.keys()].map((k) => index.get(k) as number), w: [...c.values()] })
  }
  const a = input.damping
  let t = Float64Array.from(p)
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = new Float64Array(n)
    let dangling = 0
    for (let i = 0; i < n; i++) if (hasRow[i] === 0) dangling += t[i] as number
    for (const { from, to, w } of rows) {
      const mass = (1 - a) * (t[from] as number)
      for (let x = 0; x < to.length; x++) next[to[x] as number] = (next[to[x] as number] as number) + mass * (w[x] as number)
    }
    let moved = 0
    for (let i = 0; i < n; i++) {
      const v = (next[i] as number) + ((1 - a) * dangling + a) * (p[i] as number)
      moved += Math.abs(v - (t[i] as number))
      next[i] = v
    }
    t = next
    if (moved < EPSILON) break
  }
  let max = 0
  for (const v of t) max = Math.max(max, v)
  const out = new Map<string, number>()
  if (max === 0) return out
  for (let i = 0; i < n; i++) {
    const v = (t[i] as number) / max
    if (v > 0) out.set(order[i] as string, v)
  }
  return out
}
