import { encodeGroupOp, encodeSignedGroupOp, MAX_GROUP_OPS } from '@auralink/protocol'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createGroupOp, GroupMembership, verifyGroupOp } from '../src/index.js'
import type { GroupOp } from '../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// A group call's membership (issue 18): signed ops, and the members every holder derives from the
// same set. Strangers' ops are made here as a hostile client would: signed by its own key, for
// rooms it is not in, replayed, re-signed with edited fields.
const T = 1_800_000_000_000

describe('group membership', () => {
  const keys: Record<string, PrivateKey> = {}
  const ids: Record<string, PeerId> = {}
  beforeAll(async () => {
    for (const n of ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory']) {
      keys[n] = await generateKeyPair('Ed25519')
      ids[n] = peerIdFromPublicKey(keys[n].publicKey)
    }
  })
  const names = (m: GroupMembership): string[] => m.members().map((x) => Object.keys(ids).find((n) => ids[n]!.equals(x.peer))!)
  const room = async (maxMembers = 6): Promise<{ create: GroupOp, m: GroupMembership }> => {
    const create = await createGroupOp(keys.alice!, { kind: 'create', maxMembers, now: T })
    return { create, m: await GroupMembership.from(create.bytes, { now: T }) }
  }
  const invite = async (by: string, who: string, roomId: string, at: number): Promise<GroupOp> => createGroupOp(keys[by]!, { kind: 'invite', subject: ids[who], roomId, now: at })
  const leave = async (who: string, roomId: string, at: number): Promise<GroupOp> => createGroupOp(keys[who]!, { kind: 'leave', roomId, now: at })

  it('createGroupOp() and verifyGroupOp(): every field back; a room\'s id is its create\'s digest, so no other create can claim it', async () => {
    const { create, m } = await room()
    expect(create.roomId).toMatch(/^[0-9a-f]{32}$/)
    const back = await verifyGroupOp(create.bytes, { now: T })
    expect(back).toMatchObject({ kind: 'create', roomId: create.roomId, at: T, maxMembers: 6 })
    expect(back.signer.equals(ids.alice!)).toBe(true)
    expect(m.roomId).toBe(create.roomId)
    expect(names(m)).toEqual(['alice'])
    const other = await createGroupOp(keys.mallory!, { kind: 'create', now: T })
    expect(other.roomId).not.toBe(create.roomId)
    const { refused } = await m.merge([other.bytes], { now: T })
    expect(refused[0]?.reason).toMatch(/^a create of another room/)
  })

  it('createGroupOp() refuses what the rules forbid, naming it', async () => {
    await expect(createGroupOp(keys.alice!, { kind: 'create', maxMembers: 9 })).rejects.toThrow(/maxMembers must be 2 to 8, got 9/)
    await expect(createGroupOp(keys.alice!, { kind: 'create', maxMembers: 1 })).rejects.toThrow(/maxMembers must be 2 to 8, got 1/)
    await expect(createGroupOp(keys.alice!, { kind: 'invite', roomId: 'ab'.repeat(16) })).rejects.toThrow(TypeError)
    await expect(createGroupOp(keys.alice!, { kind: 'invite', roomId: 'ab'.repeat(16), subject: ids.alice })).rejects.toThrow(/nobody invites themself/)
    await expect(createGroupOp(keys.alice!, { kind: 'invite', roomId: 'nope', subject: ids.bob })).rejects.toThrow(/roomId must be 32 lowercase hex/)
    await expect(createGroupOp(keys.alice!, { kind: 'kick' as 'leave', roomId: 'ab'.repeat(16) })).rejects.toThrow(/kind must be/)
  })

  it('only a member can invite: a stranger\'s invite (signed by its own key) has no effect; a member\'s invitee can invite in turn', async () => {
    const { create, m } = await room()
    const id = create.roomId
    const forged = await invite('mallory', 'dave', id, T + 1)
    const byAlice = await invite('alice', 'bob', id, T + 2)
    const byBob = await invite('bob', 'carol', id, T + 3)
    const r = await m.merge([forged.bytes, byAlice.bytes, byBob.bytes], { now: T + 10 })
    expect(r.refused).toEqual([])
    expect(r.added.map((a) => a.effect)).toEqual(['not-member', 'applied', 'applied'])
    expect(names(m)).toEqual(['alice', 'bob', 'carol'])
    expect(m.members()[2]?.invitedBy?.equals(ids.bob!)).toBe(true)
    expect(m.isMember(ids.dave!)).toBe(false)
    // mallory invites herself in through a re-signed copy of alice's invite: the signature is hers, so it is her invite
    const edited = await resign(keys.mallory!, byAlice, { subject: ids.mallory!.toString() })
    const r2 = await m.merge([edited], { now: T + 10 })
    expect(r2.added[0]?.effect ?? r2.refused[0]?.reason).toMatch(/not-member|nobody invites themself/)
    expect(m.isMember(ids.mallory!)).toBe(false)
  })

  it('replays and ops for another room: the same op twice counts once; an op naming another room is refused; ops from over a minute ahead are refused', async () => {
    const { create, m } = await room()
    const id = create.roomId
    const inv = await invite('alice', 'bob', id, T + 1)
    await m.merge([inv.bytes], { now: T + 5 })
    const again = await m.merge([inv.bytes, inv.bytes], { now: T + 5 })
    expect(again.added).toEqual([])
    expect(m.signedOps()).toHaveLength(2)
    const elsewhere = await invite('alice', 'carol', 'cd'.repeat(16), T + 2)
    expect((await m.merge([elsewhere.bytes], { now: T + 5 })).refused[0]?.reason).toMatch(/^an op for room c{1}d/)
    const future = await invite('alice', 'carol', id, T + 5 + 61_000)
    const f = await m.merge([future.bytes], { now: T + 5 })
    expect(f.refused[0]?.reason).toMatch(/in the future/)
    expect(names(m)).toEqual(['alice', 'bob'])
  })

  it('conflicting invites (two members invite the same person, or two people into the last place) resolve the same for every holder, whatever order the ops came in', async () => {
    const { create } = await room(3)
    const id = create.roomId
    const b = await invite('alice', 'bob', id, T + 1)
    // glare: alice and bob both invite carol at the same moment; alice invites dave while bob invites erin, one place left
    const ops = [b, await invite('alice', 'carol', id, T + 5), await invite('bob', 'carol', id, T + 5), await invite('alice', 'dave', id, T + 6), await invite('bob', 'erin', id, T + 6)]
    const views: string[][] = []
    const effects: Array<Array<string | undefined>> = []
    for (const order of [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]]) {
      const m = await GroupMembership.from(create.bytes, { now: T })
      for (const i of order) await m.merge([ops[i]!.bytes], { now: T + 10 })
      views.push(names(m))
      effects.push(ops.map((o) => m.effectOf(o)))
    }
    expect(views[0]).toEqual(['alice', 'bob', 'carol'])
    expect(views[1]).toEqual(views[0])
    expect(views[2]).toEqual(views[0])
    expect(effects[1]).toEqual(effects[0])
    expect(effects[2]).toEqual(effects[0])
    // carol once (the other invite 'already-member'), dave and erin 'full'
    expect(effects[0]!.filter((e) => e === 'already-member')).toHaveLength(1)
    expect(effects[0]!.filter((e) => e === 'full')).toHaveLength(2)
  })

  it('leaves: a member leaves and its later invites have no effect; it may be invited again; a stranger\'s leave changes nothing', async () => {
    const { create, m } = await room()
    const id = create.roomId
    await m.merge([(await invite('alice', 'bob', id, T + 1)).bytes, (await invite('bob', 'carol', id, T + 2)).bytes], { now: T + 100 })
    const bobLeaves = await leave('bob', id, T + 3)
    const bobInvitesLate = await invite('bob', 'dave', id, T + 4)
    const strangerLeaves = await leave('mallory', id, T + 5)
    const r = await m.merge([bobLeaves.bytes, bobInvitesLate.bytes, strangerLeaves.bytes], { now: T + 100 })
    expect(r.added.map((a) => a.effect)).toEqual(['applied', 'not-member', 'not-member'])
    expect(names(m)).toEqual(['alice', 'carol'])
    await m.merge([(await invite('carol', 'bob', id, T + 6)).bytes], { now: T + 100 })
    expect(names(m)).toEqual(['alice', 'carol', 'bob'])
    expect(m.members().find((x) => x.peer.equals(ids.bob!))?.invitedBy?.equals(ids.carol!)).toBe(true)
  })

  it('split views: three members each holding a different part of the ops end with the same room once they have sent each other their states', async () => {
    const { create } = await room()
    const id = create.roomId
    const views = await Promise.all([0, 1, 2].map(async () => GroupMembership.from(create.bytes, { now: T })))
    const b = await invite('alice', 'bob', id, T + 1)
    const c = await invite('alice', 'carol', id, T + 2)
    const d = await invite('bob', 'dave', id, T + 3)
    const cl = await leave('carol', id, T + 4)
    await views[0]!.merge([b.bytes, c.bytes], { now: T + 10 })
    await views[1]!.merge([b.bytes, d.bytes], { now: T + 10 })
    await views[2]!.merge([c.bytes, cl.bytes], { now: T + 10 })
    // each sends its whole state (signedOps) to the others
    for (const from of views) for (const to of views) if (from !== to) await to.merge(from.signedOps(), { now: T + 10 })
    const seen = views.map(names)
    expect(seen[0]).toEqual(['alice', 'bob', 'dave'])
    expect(seen[1]).toEqual(seen[0])
    expect(seen[2]).toEqual(seen[0])
  })

  it('a room holds at most MAX_GROUP_OPS ops: past it the rest are refused, saying so', async () => {
    const { create, m } = await room(8)
    const id = create.roomId
    const many: Uint8Array[] = []
    for (let i = 0; i < MAX_GROUP_OPS + 2; i++) many.push((await invite('alice', i % 2 === 0 ? 'bob' : 'carol', id, T + 1 + i)).bytes)
    const r = await m.merge(many, { now: T + 1000 })
    expect(r.refused.length).toBe(3)
    expect(r.refused[0]?.reason).toBe(`the room holds its most ops (${MAX_GROUP_OPS})`)
    expect(m.signedOps().length).toBe(MAX_GROUP_OPS)
  })

  it('any bytes a stranger sends are refused with a reason, never accepted and never a throw', async () => {
    const { create, m } = await room()
    const good = (await invite('alice', 'bob', create.roomId, T + 1)).bytes
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 1200 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const b = Uint8Array.from(good); b[i]! ^= x; return b })), async (bytes) => {
      const r = await m.merge([bytes], { now: T + 10 })
      // a flipped bit that keeps a valid op is impossible without the key: every such input is refused or had no effect
      for (const a of r.added) expect(a.op.signer.equals(ids.alice!)).toBe(true)
    }), { numRuns: 300 })
    expect(names(m)).toEqual(['alice'])
  })
})

/** The op's fields with `edit` applied, signed by `key`: what a stranger can make of someone's op. */
async function resign (key: PrivateKey, op: GroupOp, edit: Record<string, unknown>): Promise<Uint8Array> {
  const payload = encodeGroupOp({ publicKey: publicKeyToProtobuf(key.publicKey), roomId: op.roomId, kind: op.kind, subject: op.subject.toString(), at: op.at, nonce: op.nonce, maxMembers: op.maxMembers, ...edit })
  const signature = await key.sign(new Uint8Array([...new TextEncoder().encode('auralink-group-op:'), ...payload]))
  return encodeSignedGroupOp({ payload, signature })
}
