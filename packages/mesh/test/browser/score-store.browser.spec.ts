import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { relayScorer } from '../../src/reputation/scorer.js'
import { idbScoreStore } from '../../src/reputation/store.browser.js'

// In real Chromium: relay scores kept in IndexedDB between "runs" (two scorers, one store).
const RELAY = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const OTHER = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X'

let n = 0
const fresh = (): string => `auralink-relay-scores-test-${Date.now()}-${n++}`

describe('idbScoreStore (IndexedDB)', () => {
  it('load() of an empty store resolves undefined', async () => {
    expect(await idbScoreStore({ dbName: fresh() }).load()).toBeUndefined()
  })

  it('a scorer saved by one store is loaded by another on the same database: same ranking, same counters', async () => {
    const dbName = fresh()
    const scorer = relayScorer()
    scorer.recordRtt(RELAY, 40)
    scorer.recordCircuit(RELAY, true)
    scorer.recordCircuit(OTHER, false)
    scorer.recordViolation(OTHER, 'malformed advert')
    await idbScoreStore({ dbName }).save(scorer.toJSON())

    const again = relayScorer()
    const snapshot = await idbScoreStore({ dbName }).load()
    expect(snapshot).toBeDefined()
    again.load(snapshot)
    expect(again.ranked().map((r) => r.relay)).toEqual(scorer.ranked().map((r) => r.relay))
    expect(again.toJSON().relays[RELAY]?.circuits.ok).toBeCloseTo(scorer.toJSON().relays[RELAY]!.circuits.ok, 3)
  })

  it('keeps separate entries per key, and a later save replaces the earlier', async () => {
    const dbName = fresh()
    const a = relayScorer()
    a.recordRtt(RELAY, 10)
    const b = relayScorer()
    b.recordRtt(OTHER, 20)
    await idbScoreStore({ dbName, key: 'a' }).save(a.toJSON())
    await idbScoreStore({ dbName, key: 'b' }).save(b.toJSON())
    expect(Object.keys((await idbScoreStore({ dbName, key: 'a' }).load())!.relays)).toEqual([RELAY])
    b.recordRtt(RELAY, 30)
    await idbScoreStore({ dbName, key: 'b' }).save(b.toJSON())
    expect(Object.keys((await idbScoreStore({ dbName, key: 'b' }).load())!.relays).sort()).toEqual([RELAY, OTHER].sort())
  })

  it('a corrupt entry makes load() throw a TypeError naming the database and key, never an empty state', async () => {
    const dbName = fresh()
    await idbScoreStore({ dbName }).save(relayScorer().toJSON())
    const db = await openDB(dbName, 1)
    await db.put('snapshots', '{"version":1,"relays":', 'scores')
    await expect(idbScoreStore({ dbName }).load()).rejects.toThrow(new RegExp(`IndexedDB ${dbName}/snapshots/scores is not JSON`))
    await db.put('snapshots', JSON.stringify({ version: 99 }), 'scores')
    await expect(idbScoreStore({ dbName }).load()).rejects.toThrow(TypeError)
    await expect(idbScoreStore({ dbName }).load()).rejects.toThrow(new RegExp(`IndexedDB ${dbName}/snapshots/scores: `))
    db.close()
  })

  it('refuses bad options, and an aborted signal, naming them', async () => {
    expect(() => idbScoreStore({ dbName: '' })).toThrow(/dbName must be a non-empty string/)
    expect(() => idbScoreStore({ key: '' })).toThrow(/key must be a non-empty string/)
    await expect(idbScoreStore({ dbName: fresh() }).load({ signal: AbortSignal.abort() })).rejects.toThrow()
  })
})
