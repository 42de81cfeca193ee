import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_REPUTATION_HALF_LIFE_MS } from '../src/constants.js'
import { memoryScoreStore, relayScorer, REPUTATION_SNAPSHOT_VERSION } from '../src/index.js'
import { fileScoreStore } from '../src/reputation/store.node.js'
import type { RelayScorer, ReputationSnapshot } from '../src/index.js'

const START = 1_800_000_000_000

function filled (now: () => number): RelayScorer {
  const scorer = relayScorer({ preTrusted: ['peer-boot'] }, { now })
  for (let i = 0; i < 6; i++) {
    scorer.recordRtt('relay-a', 20 + i)
    scorer.recordRtt('relay-b', 300)
    scorer.recordCircuit('relay-a', true)
    scorer.recordCircuit('relay-b', i % 3 !== 0)
    scorer.recordReservation('relay-b', true)
    scorer.recordUptime('relay-a', i !== 2)
    scorer.recordThroughput('relay-a', 900_000)
  }
  scorer.recordViolation('relay-b', 'invalid advert signature')
  scorer.setRelayInfo('relay-a', { hops: 1, aicSupport: true })
  scorer.setRelayInfo('relay-boot', { bootstrap: true })
  scorer.recordPeerTrust('peer-friend', true)
  scorer.addReport({ reporter: 'peer-boot', relay: 'relay-b', value: 0.9, at: now() - 1000 })
  scorer.addReport({ reporter: 'peer-friend', relay: 'relay-a', value: 0.2, at: now() })
  return scorer
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the corruptions below write any type anywhere
type Loose = Record<string, any>

/** A valid snapshot with one relay and one report, for corrupting. */
function valid (): Loose {
  return {
    version: 1,
    savedAt: START,
    relays: {
      'relay-a': { reservations: { ok: 1, failed: 0 }, circuits: { ok: 2, failed: 1 }, uptime: { up: 3, down: 0 }, violations: 0, rtt: { mean: 20, weight: 2 } }
    },
    peers: { 'peer-a': { ok: 1, failed: 0 } },
    reports: [{ reporter: 'peer-a', relay: 'relay-a', value: 0.5, at: START }]
  }
}

describe('relayScorer: persistence', () => {
  it('toJSON() then relayScorer({ state }) through JSON gives back the same scores, ranking and trust', () => {
    const now = (): number => START
    const scorer = filled(now)
    const snapshot = scorer.toJSON()
    expect(snapshot.version).toBe(REPUTATION_SNAPSHOT_VERSION)
    expect(snapshot.savedAt).toBe(START)
    const back = relayScorer({ preTrusted: ['peer-boot'], state: JSON.parse(JSON.stringify(snapshot)) }, { now })
    expect(back.ranked()).toEqual(scorer.ranked())
    expect(back.trust()).toEqual(scorer.trust())
    expect(back.toJSON()).toEqual(snapshot)
  })

  it('load() keeps decaying from savedAt: counters saved one half-life ago come back halved', () => {
    let t = START
    const scorer = filled(() => t)
    const snapshot = scorer.toJSON()
    t += DEFAULT_REPUTATION_HALF_LIFE_MS
    const later = relayScorer({ preTrusted: ['peer-boot'] }, { now: () => t })
    later.load(snapshot)
    expect(later.toJSON().relays['relay-a']?.circuits.ok).toBeCloseTo((snapshot.relays['relay-a']?.circuits.ok ?? 0) / 2, 9)
    expect(later.score('relay-a')).toEqual(scorer.score('relay-a'))
  })

  const corruptions: Array<[string, (s: Loose) => unknown, RegExp]> = [
    ['not an object', () => 'snapshot', /^snapshot must be an object/],
    ['an unknown version', (s) => ({ ...s, version: 2 }), /^snapshot\.version must be 1, got 2/],
    ['a missing savedAt', (s) => ({ ...s, savedAt: undefined }), /^snapshot\.savedAt must be a finite number/],
    ['relays as an array', (s) => ({ ...s, relays: [] }), /^snapshot\.relays must be an object/],
    ['a negative counter', (s) => { s.relays['relay-a'].circuits.ok = -1; return s }, /^snapshot\.relays\["relay-a"\]\.circuits\.ok must be a finite number >= 0, got -1/],
    ['a missing counter group', (s) => { delete s.relays['relay-a'].uptime; return s }, /^snapshot\.relays\["relay-a"\]\.uptime must be an object/],
    ['a string counter', (s) => { s.relays['relay-a'].violations = '0'; return s }, /^snapshot\.relays\["relay-a"\]\.violations must be a finite number/],
    ['an RTT mean with no samples', (s) => { s.relays['relay-a'].rtt.weight = 0; return s }, /^snapshot\.relays\["relay-a"\]\.rtt\.weight must be above 0/],
    ['fractional hops', (s) => { s.relays['relay-a'].hops = 1.5; return s }, /^snapshot\.relays\["relay-a"\]\.hops must be an integer >= 0/],
    ['a non-boolean bootstrap', (s) => { s.relays['relay-a'].bootstrap = 'yes'; return s }, /^snapshot\.relays\["relay-a"\]\.bootstrap must be a boolean/],
    ['an empty relay id', (s) => { s.relays[''] = s.relays['relay-a']; return s }, /^snapshot\.relays\[""\] must be a PeerId string/],
    ['a bad peer counter', (s) => { s.peers['peer-a'].failed = null; return s }, /^snapshot\.peers\["peer-a"\]\.failed must be a finite number/],
    ['reports not an array', (s) => ({ ...s, reports: {} }), /^snapshot\.reports must be an array/],
    ['a report value out of range', (s) => { s.reports[0].value = 2; return s }, /^snapshot\.reports\[0\]\.value must be a number from 0 to 1, got 2/],
    ['a report about an unlisted relay', (s) => { s.reports[0].relay = 'relay-z'; return s }, /^snapshot\.reports\[0\]\.relay must be a relay listed/],
    ['two reports from one reporter about one relay', (s) => { s.reports.push({ ...s.reports[0] }); return s }, /^snapshot\.reports\[1\] must be the only report/],
    ['a self-report', (s) => { s.reports[0].reporter = 'relay-a'; return s }, /^snapshot\.reports\[0\]\.reporter must be another peer/],
    ['more relays than maxRelays', (s) => { s.relays['relay-b'] = s.relays['relay-a']; s.relays['relay-c'] = s.relays['relay-a']; return s }, /^snapshot\.relays must be at most 2 relays/]
  ]
  for (const [what, corrupt, message] of corruptions) {
    it(`load() rejects a snapshot with ${what} with a TypeError naming the field, and keeps its state`, () => {
      const scorer = relayScorer({ maxRelays: 2 }, { now: () => START })
      scorer.load(valid())
      const before = scorer.toJSON()
      let err: unknown
      try {
        scorer.load(corrupt(valid()))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TypeError)
      expect((err as Error).message).toMatch(message)
      expect(scorer.toJSON()).toEqual(before)
    })
  }

  it('relayScorer({ state }) throws a TypeError for a corrupt snapshot rather than starting empty', () => {
    expect(() => relayScorer({ state: { ...valid(), version: 0 } })).toThrow(TypeError)
  })

  it('memoryScoreStore() loads undefined until saved, then a copy of what was saved', async () => {
    const store = memoryScoreStore()
    expect(await store.load()).toBeUndefined()
    const snapshot = filled(() => START).toJSON()
    await store.save(snapshot)
    const back = await store.load()
    expect(back).toEqual(snapshot)
    expect(back).not.toBe(snapshot)
    await expect(store.load({ signal: AbortSignal.abort() })).rejects.toThrow()
  })
})

describe('fileScoreStore', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'auralink-reputation-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('fileScoreStore(path).load() resolves undefined when the file does not exist', async () => {
    expect(await fileScoreStore(join(dir, 'none.json')).load()).toBeUndefined()
  })

  it('fileScoreStore(path).save() writes mode 0600 through a temporary file and load() gives the snapshot back', async () => {
    const path = join(dir, 'state', 'relays.json')
    const store = fileScoreStore(path)
    const first = filled(() => START).toJSON()
    await store.save(first)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await store.load()).toEqual(first)
    const second: ReputationSnapshot = { ...first, savedAt: START + 1, reports: [] }
    await store.save(second)
    expect(await store.load()).toEqual(second)
    expect(await readdir(join(dir, 'state'))).toEqual(['relays.json'])
    expect(relayScorer({ preTrusted: ['peer-boot'], state: await store.load() }, { now: () => START }).ranked().length).toBe(3)
  })

  it('fileScoreStore(path).save() with an aborted signal leaves the old file and no temporary file', async () => {
    const path = join(dir, 'relays.json')
    const store = fileScoreStore(path)
    const first = filled(() => START).toJSON()
    await store.save(first)
    await expect(store.save({ ...first, savedAt: 1 }, { signal: AbortSignal.abort() })).rejects.toThrow()
    expect(await store.load()).toEqual(first)
    expect(await readdir(dir)).toEqual(['relays.json'])
  })

  it('fileScoreStore(path).load() throws a TypeError naming the path for a file that is not JSON', async () => {
    const path = join(dir, 'relays.json')
    await writeFile(path, '{"version": 1, "relays": {', { mode: 0o600 })
    await expect(fileScoreStore(path).load()).rejects.toThrow(TypeError)
    await expect(fileScoreStore(path).load()).rejects.toThrow(`${path} is not JSON`)
    expect(await readFile(path, 'utf8')).toBe('{"version": 1, "relays": {')
  })

  it('fileScoreStore(path).load() throws a TypeError naming the path and the field for an invalid snapshot', async () => {
    const path = join(dir, 'relays.json')
    await writeFile(path, JSON.stringify({ ...valid(), version: 9 }), { mode: 0o600 })
    await expect(fileScoreStore(path).load()).rejects.toThrow(`${path}: snapshot.version must be 1, got 9`)
  })

  it('fileScoreStore("") throws a TypeError naming path', () => {
    expect(() => fileScoreStore('')).toThrow(/^path must be a non-empty string/)
  })
})
