import { createGroupOp } from '@auralink/identity'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuraLink } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { GroupCall } from '../src/index.js'
import type { GroupStateMessage } from '../src/call-machine.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// Group calls (issue 18) between Node clients (data only: the SDK's Node path), through a real
// relay-node process in the test network namespace: every pair holds its own call, the room's
// membership is signed ops each client checks. Media and the web example's grid are the e2e's.
describe('AuraLink group calls in Node through a real relay node', () => {
  let relay: RelayProcess
  const clients: AuraLink[] = []
  let n = 0

  beforeAll(async () => { relay = await startRelayProcess({ args: ['--max-reservations-per-address', '64'] }) })
  afterAll(async () => {
    await relay.stop()
    await removeDir(relay.dataDir)
  })
  afterEach(async () => { await Promise.all(clients.splice(0).map(async (c) => c.stop())) })

  async function client (label: string): Promise<{ client: AuraLink, name: string }> {
    const c = await AuraLink.create({ relays: [relay.addr], iceServers: [], keyStore: null })
    clients.push(c)
    const name = `@${label}-${++n}.aura`
    await c.register(name)
    return { client: c, name }
  }

  /** The next group invite `c` hears, accepted (data only). */
  async function joins (c: AuraLink, timeoutMs = 15_000): Promise<GroupCall> {
    const group = await new Promise<GroupCall>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no group invite within ${timeoutMs} ms`)) }, timeoutMs)
      c.addEventListener('incoming', (e) => {
        if (e.detail.group === undefined) return
        clearTimeout(t)
        resolve(e.detail.group)
      })
    })
    await group.accept({ data: true })
    return group
  }

  /** Waits until `group` has `count` participants connected. */
  async function connected (group: GroupCall, count: number, timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now()
    while (group.participants.filter((p) => p.state === 'connected').length < count) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${group.participants.filter((p) => p.state === 'connected').length} of ${count} participants connected within ${timeoutMs} ms: ${JSON.stringify(group.participants.map((p) => [p.auraId, p.state]))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it('alice calls bob and carol, then invites dave: every pair connects (4 members, 3 connected each); a chat reaches everyone; carol leaves and the others see it within 2 s and stay connected', async () => {
    const [alice, bob, carol, dave] = [await client('alice'), await client('bob'), await client('carol'), await client('dave')]
    const bobJoins = joins(bob.client)
    const carolJoins = joins(carol.client)
    const a = await alice.client.call([bob.name, carol.name], { data: true })
    const [b, c] = await Promise.all([bobJoins, carolJoins])
    expect(b.roomId).toBe(a.roomId)
    // carol came in after bob: she calls him; the app never hears that call
    for (const g of [a, b, c]) await connected(g, 2)

    const daveJoins = joins(dave.client)
    await a.invite(dave.name)
    const d = await daveJoins
    for (const g of [a, b, c, d]) await connected(g, 3)
    expect(d.participants.map((p) => p.auraId).sort()).toEqual([alice.name, bob.name, carol.name].sort())
    expect(d.participants.find((p) => p.auraId === alice.name)?.invitedBy).toBeUndefined()
    expect(d.participants.find((p) => p.auraId === carol.name)?.invitedBy?.equals(alice.client.peerId)).toBe(true)

    // chat to everyone
    const heard = [b, c, d].map(async (g) => new Promise<string>((resolve) => { g.addEventListener('message', (e) => { resolve(`${e.detail.participant.auraId ?? ''}: ${e.detail.text ?? ''}`) }, { once: true }) }))
    await a.send('hello all')
    expect(await Promise.all(heard)).toEqual([`${alice.name}: hello all`, `${alice.name}: hello all`, `${alice.name}: hello all`])

    // carol leaves: the others hear it within 2 s and keep their calls
    const t0 = Date.now()
    const left = [a, b, d].map(async (g) => new Promise<number>((resolve) => {
      g.addEventListener('participant:left', (e) => { if (e.detail.participant.peer.equals(carol.client.peerId)) resolve(Date.now() - t0) })
    }))
    await c.leave()
    const after = await Promise.all(left)
    console.log(`[group] carol's leave seen after ${after.join(', ')} ms`)
    for (const ms of after) expect(ms).toBeLessThan(2_000)
    for (const g of [a, b, d]) {
      expect(g.participants.filter((p) => p.state === 'connected').length).toBe(2)
      expect(g.participants.find((p) => p.peer.equals(carol.client.peerId))?.state).toBe('left')
    }
  })

  it('a forged group invite (mallory names alice\'s room with an invite she signed herself) is refused: bob\'s app never hears of it', async () => {
    const [alice, bob, mallory] = [await client('alice'), await client('bob'), await client('mallory')]
    const bobJoins = joins(bob.client)
    const a = await alice.client.call([bob.name], { data: true })
    await bobJoins
    let heard = 0
    bob.client.addEventListener('incoming', () => { heard++ })
    // mallory has seen alice's room's ops (a member shared them), and adds an invite of herself by herself... refused at signing
    const state = (a as unknown as { groupState: () => GroupStateMessage }).groupState()
    // ...so she signs an invite of bob by herself: its signer is no member
    const forged = await createGroupOp((mallory.client as unknown as { identity: { key: Parameters<typeof createGroupOp>[0] } }).identity.key, { kind: 'invite', roomId: a.roomId, subject: bob.client.peerId })
    const placeCall = (mallory.client as unknown as { placeCall: (name: string, media: object, options: object, group: GroupStateMessage) => Promise<{ whenEnded: () => Promise<{ reason?: string, message?: string }> }> }).placeCall.bind(mallory.client)
    const call = await placeCall(bob.name, { data: true }, {}, { ops: [...state.ops, forged.bytes], names: [] })
    const end = await call.whenEnded()
    expect(end.reason).toBe('rejected')
    expect(heard).toBe(0)
    // a room of her own that does not name bob
    const own = await createGroupOp((mallory.client as unknown as { identity: { key: Parameters<typeof createGroupOp>[0] } }).identity.key, { kind: 'create' })
    const call2 = await placeCall(bob.name, { data: true }, {}, { ops: [own.bytes], names: [] })
    expect((await call2.whenEnded()).reason).toBe('rejected')
    expect(heard).toBe(0)
  })
})
