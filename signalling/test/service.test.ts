import { generateIdentityKey } from '@auralink/identity'
import { DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp } from '@auralink/protocol'
import { Key } from 'interface-datastore'
import { beforeEach, describe, expect, it } from 'vitest'
import { DAY, expectRefusedUnchanged, makeDirectory, ops, record, somePeer } from './helpers.js'
import type { Harness } from './helpers.js'
import type { DirectoryOperationEvent } from '../src/index.js'
import type { Ed25519PrivateKey } from '@auralink/identity'
import type { DirectoryRequestMessage } from '@auralink/protocol'

const E = DirectoryError

describe('auraIdDirectory: limits, events, lifecycle, storage', () => {
  let h: Harness
  let c: ReturnType<typeof ops>
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey

  beforeEach(async () => {
    h = makeDirectory()
    c = ops(h.dir, await somePeer())
    alice = await generateIdentityKey()
    mallory = await generateIdentityKey()
  })
  const rec = async (key: Ed25519PrivateKey, name: string, extra: Parameters<typeof record>[3] = {}): Promise<Uint8Array> => record(key, name, h.clock.now, extra)

  it('a key may hold at most maxNamesPerKey names: QUOTA_EXCEEDED after that, directory unchanged', async () => {
    h = makeDirectory({ maxNamesPerKey: 2 })
    c = ops(h.dir, await somePeer())
    expect((await c.register(await rec(alice, '@one-name.aura', { validity: h.clock.now + DAY }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.register(await rec(alice, '@two-name.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_QUOTA_EXCEEDED, async () => c.register(await rec(alice, '@three-name.aura')))
    expect(res.message).toContain('2')
    // updates of names it holds are not new names
    expect((await c.update(await rec(alice, '@two-name.aura', { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // another key is not affected
    expect((await c.register(await rec(mallory, '@three-name.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // a name past validity + grace no longer counts
    h.clock.now += 8 * DAY + 1
    expect((await c.register(await rec(alice, '@four-name.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('concurrent REGISTERs of new names by one key never exceed maxNamesPerKey', async () => {
    h = makeDirectory({ maxNamesPerKey: 2 })
    c = ops(h.dir, await somePeer())
    const records = await Promise.all(['@name-a.aura', '@name-b.aura', '@name-c.aura', '@name-d.aura'].map(async (n) => rec(alice, n)))
    const codes = (await Promise.all(records.map(async (r) => c.register(r)))).map((r) => r.error)
    expect(codes.filter((e) => e === E.DIRECTORY_ERROR_NONE)).toHaveLength(2)
    expect(codes.filter((e) => e === E.DIRECTORY_ERROR_QUOTA_EXCEEDED)).toHaveLength(2)
    expect(await h.dir.size()).toBe(2)
  })

  it('handle() from a flooding PeerId answers RATE_LIMITED while another PeerId is still served, and refills after a minute', async () => {
    h = makeDirectory({ maxRequestsPerMinute: 10, maxWritesPerMinute: 3 })
    const flooder = ops(h.dir, await somePeer())
    const codes = []
    for (let i = 0; i < 15; i++) codes.push((await flooder.resolve('@nobody-here.aura')).error)
    expect(codes.slice(0, 10)).toEqual(new Array(10).fill(E.DIRECTORY_ERROR_NOT_FOUND))
    expect(codes.slice(10)).toEqual(new Array(5).fill(E.DIRECTORY_ERROR_RATE_LIMITED))
    const other = ops(h.dir, await somePeer())
    expect((await other.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // a refused request changes nothing, even a valid write
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_RATE_LIMITED, async () => flooder.register(await rec(mallory, '@mallory.aura')))
    // writes have their own, smaller budget
    const writer = ops(h.dir, await somePeer())
    const writes = []
    for (let i = 1; i <= 5; i++) writes.push((await writer.register(await rec(mallory, `@m${i}-name.aura`))).error)
    expect(writes).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_RATE_LIMITED, E.DIRECTORY_ERROR_RATE_LIMITED])
    expect((await writer.resolve('@m1-name.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
    // a minute later the flooder is served again
    h.clock.now += 60_000
    expect((await flooder.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle() emits one operation event per request, with op, outcome, peer and name; a listener that throws breaks nothing', async () => {
    const events: DirectoryOperationEvent[] = []
    h.dir.addEventListener('operation', () => { throw new Error('a listener that throws') })
    h.dir.addEventListener('operation', async () => { throw new Error('a listener that rejects') })
    h.dir.addEventListener('operation', (e) => { events.push(e.detail) })
    const peer = await somePeer()
    c = ops(h.dir, peer)
    expect((await h.dir.handle(peer, { op: 42 } as unknown as DirectoryRequestMessage)).error).toBe(E.DIRECTORY_ERROR_BAD_REQUEST)
    expect((await h.dir.handle(peer, null as unknown as DirectoryRequestMessage)).error).toBe(E.DIRECTORY_ERROR_BAD_REQUEST)
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(mallory, '@alice.aura'))
    await c.resolve('@nobody-here.aura')
    await c.search('al')
    await c.register(new Uint8Array([1, 2, 3]))
    expect(events.map((e) => `${e.op}:${e.outcome}:${e.name ?? '-'}`)).toEqual([
      'invalid:bad_request:-', 'invalid:bad_request:-', 'register:ok:@alice.aura', 'register:name_taken:@alice.aura',
      'resolve:not_found:@nobody-here.aura', 'search:ok:-', 'register:bad_request:-'
    ])
    expect(events.every((e) => e.peer?.equals(peer))).toBe(true)
  })

  it('handle() never throws: an aborted signal or a failing datastore gives INTERNAL', async () => {
    const controller = new AbortController()
    controller.abort()
    const res = await h.dir.handle(await somePeer(), { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' } as DirectoryRequestMessage, { signal: controller.signal })
    expect(res.error).toBe(E.DIRECTORY_ERROR_INTERNAL)
    h.datastore.get = async () => { throw new Error('disk on fire') }
    const events: string[] = []
    h.dir.addEventListener('operation', (e) => { events.push(e.detail.outcome) })
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_INTERNAL)
    expect((await c.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_INTERNAL)
    expect(events).toEqual(['internal', 'internal'])
  })

  it('start() registers the protocol handler once, for limited connections too; stop() unhandles once', async () => {
    h = makeDirectory({ maxInboundStreams: 7 })
    await h.dir.stop()
    expect(h.registrar.unhandleCalls).toBe(0)
    await Promise.all([h.dir.start(), h.dir.start()])
    await h.dir.start()
    expect(h.registrar.handleCalls).toBe(1)
    expect(h.registrar.handled.get(DIRECTORY_PROTOCOL)?.options).toMatchObject({ maxInboundStreams: 7, runOnLimitedConnection: true })
    await h.dir.stop()
    await h.dir.stop()
    expect(h.registrar.unhandleCalls).toBe(1)
    expect(h.registrar.handled.size).toBe(0)
    // and it starts again
    await h.dir.start()
    expect(h.registrar.handled.has(DIRECTORY_PROTOCOL)).toBe(true)
    await h.dir.stop()
  })

  it('auraIdDirectory() refuses a missing datastore, negative or non-numeric limits and a non-function clock, naming them', () => {
    expect(() => makeDirectory({ datastore: undefined as never })).toThrow(/datastore is required/)
    expect(() => makeDirectory({ maxNamesPerKey: -1 })).toThrow(RangeError)
    expect(() => makeDirectory({ maxNamesPerKey: -1 })).toThrow(/maxNamesPerKey/)
    expect(() => makeDirectory({ requestTimeoutMs: Number.NaN })).toThrow(/requestTimeoutMs/)
    expect(() => makeDirectory({ gracePeriodMs: '7d' as never })).toThrow(/gracePeriodMs/)
    expect(() => makeDirectory({ now: 5 as never })).toThrow(TypeError)
  })

  it('a stored record that no longer verifies is treated as absent: not resolved, not searched, not counted against its name', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(alice, '@alina.aura'))
    const key = new Key('/auraid/name/@alice.aura')
    const stored = await h.datastore.get(key)
    const corrupted = Uint8Array.from(stored)
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 1
    await h.datastore.put(key, corrupted)
    expect(await h.dir.get('@alice.aura')).toBeUndefined()
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect((await c.search('ali')).records).toHaveLength(1)
    // a record stored under another name's key is not served either
    await h.datastore.put(new Key('/auraid/name/@alina.aura'), stored)
    expect((await c.resolve('@alina.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    // the name can be registered again
    expect((await c.register(await rec(mallory, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('start() on a store written before the public index existed builds it, so SEARCH finds those names', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(alice, '@alina.aura', { visibility: 'unlisted' }))
    // make it look like layout 1: no public index, no layout marker
    for await (const key of h.datastore.queryKeys({ prefix: '/auraid/public/' })) await h.datastore.delete(key)
    expect((await c.search('ali')).records).toHaveLength(0)
    await h.dir.start()
    expect((await c.search('ali')).records).toHaveLength(1)
    expect(await h.datastore.has(new Key('/auraid/meta/layout'))).toBe(true)
    await h.dir.stop()
  })
})
