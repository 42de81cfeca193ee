/**
 * A group call's membership (issue 18; docs/group-calls.md): a set of signed operations, each by
 * one participant's own key: a create (the room and its first member), invites (a member lets
 * someone in), leaves (a member goes). Every participant holds the set and merges what the others
 * send (a union); the members are derived from the set alone, by one rule, so two participants
 * that hold the same ops see the same room, whatever order the ops reached them in:
 *
 * - the ops are taken in order of their time, then their nonce (ties broken the same everywhere);
 * - an invite counts when its signer is a member at that point, its subject is not, and the room
 *   is not full (`maxMembers` of the create); otherwise it has no effect (a stranger's invite, a
 *   second invite of the same person, one past the size);
 * - a leave counts when its signer is a member; one who left may be invited again.
 *
 * The room's id is the first 16 bytes of the SHA-256 of its create's payload: no one can make
 * another create for a room that exists, and every other op names the room it is for.
 */
import {
  decodeGroupOp, decodeSignedGroupOp, encodeGroupOp, encodeSignedGroupOp,
  GROUP_OP_SIGNATURE_DOMAIN, MAX_GROUP_MEMBERS, MAX_GROUP_OP_BYTES, MAX_GROUP_OPS
} from '@auralink/protocol'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { InvalidGroupOpError, MessageTooLargeError } from './errors.js'
import { withDomain } from './record.js'
import type { GroupOpKind } from '@auralink/protocol'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'

/** Members a room takes unless its create says otherwise. */
export const DEFAULT_GROUP_MAX_MEMBERS = 6
/** How far ahead of the verifier's clock an op's time may be. */
export const MAX_GROUP_OP_CLOCK_SKEW_MS = 60 * 1000

/** A verified group op. */
export interface GroupOp {
  /** Who signed it. */
  signer: PeerId
  /** The room (32 lowercase hex characters); for a create, the id its bytes give. */
  roomId: string
  kind: GroupOpKind
  /** The invitee; the signer for a create or a leave. */
  subject: PeerId
  /** Ms since the epoch, by the signer's clock. */
  at: number
  nonce: string
  /** In a create: the most members the room takes. */
  maxMembers: number
  /** The signed bytes, exactly as they travel. */
  bytes: Uint8Array
}

/** What `createGroupOp()` signs. */
export interface GroupOpInit extends AbortOptions {
  kind: GroupOpKind
  /** The room; not for a create. */
  roomId?: string
  /** The invitee (an invite only). */
  subject?: PeerId
  /** A create's size. @default DEFAULT_GROUP_MAX_MEMBERS (6); 2 to MAX_GROUP_MEMBERS */
  maxMembers?: number
  /** @default Date.now() */
  now?: number
}

const HEX32 = /^[0-9a-f]{32}$/
const DOMAIN = new TextEncoder().encode(GROUP_OP_SIGNATURE_DOMAIN)
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const keyOf = (op: Pick<GroupOp, 'signer' | 'nonce'>): string => `${op.signer.toString()}/${op.nonce}`
const randomHex = (): string => hex(globalThis.crypto.getRandomValues(new Uint8Array(16)))

/** A create's room id: the first 16 bytes of the SHA-256 of its payload, in hex. */
async function roomIdOf (payload: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', Uint8Array.from(payload))).subarray(0, 16))
}

/** Field checks shared by create (RangeError) and verify ('fields'). */
function fieldProblem (f: { kind: GroupOpKind, roomId: string, subject: PeerId, nonce: string, maxMembers: number, at: number }, signer: PeerId): string | undefined {
  if (!HEX32.test(f.nonce)) return 'nonce must be 32 lowercase hex characters'
  if (!Number.isSafeInteger(f.at) || f.at <= 0) return `at must be a time in ms, got ${f.at}`
  if (f.kind === 'create') {
    if (f.roomId !== '') return 'a create names no room (its id comes from its bytes)'
    if (!f.subject.equals(signer)) return 'a create\'s subject is its signer'
    if (!Number.isInteger(f.maxMembers) || f.maxMembers < 2 || f.maxMembers > MAX_GROUP_MEMBERS) return `maxMembers must be 2 to ${MAX_GROUP_MEMBERS}, got ${f.maxMembers}`
    return undefined
  }
  if (!HEX32.test(f.roomId)) return `roomId must be 32 lowercase hex characters, got ${JSON.stringify(f.roomId.slice(0, 40))}`
  if (f.maxMembers !== 0) return 'only a create names maxMembers'
  if (f.kind === 'leave' && !f.subject.equals(signer)) return 'a leave\'s subject is its signer'
  if (f.kind === 'invite' && f.subject.equals(signer)) return 'nobody invites themself'
  return undefined
}

/** Signs a group op with `privateKey`: a create (a new room), an invite, or a leave. */
export async function createGroupOp (privateKey: PrivateKey, init: GroupOpInit): Promise<GroupOp> {
  const signer = peerIdFromPublicKey(privateKey.publicKey)
  const kind = init?.kind
  if (kind !== 'create' && kind !== 'invite' && kind !== 'leave') throw new RangeError(`kind must be 'create', 'invite' or 'leave', got ${JSON.stringify(kind)}`)
  if (kind === 'invite' && (init.subject == null || typeof init.subject.toMultihash !== 'function')) throw new TypeError('an invite needs subject: the invitee\'s PeerId')
  const subject = kind === 'invite' ? init.subject! : signer
  const fields = {
    kind,
    roomId: kind === 'create' ? '' : (init.roomId ?? ''),
    subject,
    at: init.now ?? Date.now(),
    nonce: randomHex(),
    maxMembers: kind === 'create' ? (init.maxMembers ?? DEFAULT_GROUP_MAX_MEMBERS) : 0
  }
  const problem = fieldProblem(fields, signer)
  if (problem !== undefined) throw new RangeError(problem)
  const payload = encodeGroupOp({ ...fields, publicKey: publicKeyToProtobuf(privateKey.publicKey), subject: subject.toString() })
  const signature = await privateKey.sign(withDomain(DOMAIN, payload), init)
  const bytes = encodeSignedGroupOp({ payload, signature })
  if (bytes.length > MAX_GROUP_OP_BYTES) throw new RangeError(`the op is ${bytes.length} bytes, over ${MAX_GROUP_OP_BYTES}`)
  return { ...fields, roomId: kind === 'create' ? await roomIdOf(payload) : fields.roomId, signer, bytes }
}

/**
 * Decodes and checks one signed op: size (MessageTooLargeError), encoding ('malformed'), fields
 * ('fields'), the signature by the key it names ('signature'), and a time not ahead of `now` by
 * more than a minute ('future').
 */
export async function verifyGroupOp (bytes: Uint8Array, options: AbortOptions & { now?: number } = {}): Promise<GroupOp> {
  let signed, m
  try {
    signed = decodeSignedGroupOp(bytes)
    m = decodeGroupOp(signed.payload)
  } catch (err) {
    if (err instanceof MessageTooLargeError) throw err
    throw new InvalidGroupOpError('malformed', `group op does not decode: ${(err as Error).message}`, { cause: err })
  }
  let publicKey, subject
  try {
    publicKey = publicKeyFromProtobuf(m.publicKey)
    subject = peerIdFromString(m.subject)
  } catch (err) {
    throw new InvalidGroupOpError('malformed', `group op has a bad key or PeerId: ${(err as Error).message}`, { cause: err })
  }
  const signer = peerIdFromPublicKey(publicKey)
  const kind = m.kind
  if (kind === undefined) throw new InvalidGroupOpError('fields', `group op of ${signer.toString()}: kind is none this version knows`)
  const problem = fieldProblem({ ...m, kind, subject }, signer)
  if (problem !== undefined) throw new InvalidGroupOpError('fields', `group op of ${signer.toString()}: ${problem}`)
  let ok = false
  try {
    ok = await publicKey.verify(withDomain(DOMAIN, signed.payload), signed.signature, options)
  } catch {
    options.signal?.throwIfAborted()
  }
  if (!ok) throw new InvalidGroupOpError('signature', `group op of ${signer.toString()}: signature does not verify`)
  const now = options.now ?? Date.now()
  if (m.at > now + MAX_GROUP_OP_CLOCK_SKEW_MS) throw new InvalidGroupOpError('future', `group op of ${signer.toString()} is ${m.at - now} ms in the future`)
  const roomId = kind === 'create' ? await roomIdOf(signed.payload) : m.roomId
  return { signer, roomId, kind, subject, at: m.at, nonce: m.nonce, maxMembers: m.maxMembers, bytes }
}

/** What an op did when the members were derived. */
export type GroupOpEffect = 'applied' | 'not-member' | 'already-member' | 'full' | 'not-in-room'

/** A member, and who let it in. */
export interface GroupMember {
  peer: PeerId
  /** Who invited it; undefined for the room's creator. */
  invitedBy?: PeerId
  /** When it came in (the create's or the invite's time). */
  since: number
}

/** A room's membership: its ops, and the members they give (see the file's header for the rule). */
export class GroupMembership {
  private readonly ops = new Map<string, GroupOp>()
  private members_ = new Map<string, GroupMember>()
  private readonly effects = new Map<string, GroupOpEffect>()

  private constructor (readonly create: GroupOp) {
    this.derive()
  }

  /** A room from its create (the signed bytes, checked). */
  static async from (createBytes: Uint8Array, options: AbortOptions & { now?: number } = {}): Promise<GroupMembership> {
    const op = await verifyGroupOp(createBytes, options)
    if (op.kind !== 'create') throw new InvalidGroupOpError('fields', `a room starts from a create, got ${op.kind === 'invite' ? 'an invite' : 'a leave'}`)
    return new GroupMembership(op)
  }

  /** The room's id (32 hex characters): its create's digest. */
  get roomId (): string {
    return this.create.roomId
  }

  /** The most members the room takes (its create's `maxMembers`). */
  get maxMembers (): number {
    return this.create.maxMembers
  }

  /** The members now, in the order they came in. */
  members (): GroupMember[] {
    return [...this.members_.values()]
  }

  /** Whether `peer` is a member now. */
  isMember (peer: PeerId): boolean {
    return this.members_.has(peer.toString())
  }

  /** Every op of the room (the create first), as it travels: what a GroupState carries. */
  signedOps (): Uint8Array[] {
    return [this.create.bytes, ...this.sorted().map((o) => o.bytes)]
  }

  /** What an op did when the members were last derived; undefined for one this room does not hold. */
  effectOf (op: Pick<GroupOp, 'signer' | 'nonce'>): GroupOpEffect | undefined {
    return this.effects.get(keyOf(op))
  }

  /**
   * Verifies and merges ops from another participant (a GroupState, or one op). Each is checked
   * alone (a bad one is refused with why; the rest still count), then the members are derived
   * again. Returns each new op's effect, and the refusals. Ops already held are skipped; past
   * MAX_GROUP_OPS, the rest are refused ('the room holds its most ops').
   */
  async merge (bytes: readonly Uint8Array[], options: AbortOptions & { now?: number } = {}): Promise<{ added: Array<{ op: GroupOp, effect: GroupOpEffect }>, refused: Array<{ index: number, reason: string }> }> {
    const refused: Array<{ index: number, reason: string }> = []
    const added: GroupOp[] = []
    for (const [index, b] of bytes.entries()) {
      let op: GroupOp
      try {
        op = await verifyGroupOp(b, options)
      } catch (err) {
        refused.push({ index, reason: (err as Error).message })
        continue
      }
      if (op.kind === 'create') {
        if (op.nonce !== this.create.nonce || op.roomId !== this.roomId) refused.push({ index, reason: `a create of another room (${op.roomId})` })
        continue
      }
      if (op.roomId !== this.roomId) { refused.push({ index, reason: `an op for room ${op.roomId}, not ${this.roomId}` }); continue }
      const key = keyOf(op)
      if (this.ops.has(key)) continue
      if (this.ops.size + 1 >= MAX_GROUP_OPS) { refused.push({ index, reason: `the room holds its most ops (${MAX_GROUP_OPS})` }); continue }
      this.ops.set(key, op)
      added.push(op)
    }
    if (added.length > 0) this.derive()
    return { added: added.map((op) => ({ op, effect: this.effects.get(keyOf(op)) ?? 'not-in-room' })), refused }
  }

  private sorted (): GroupOp[] {
    // time, then nonce, then signer: the same order for the same set, wherever it is derived
    const text = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0
    return [...this.ops.values()].sort((a, b) => a.at - b.at || text(a.nonce, b.nonce) || text(a.signer.toString(), b.signer.toString()))
  }

  /** The members from the ops, by the rule (file header). */
  private derive (): void {
    const members = new Map<string, GroupMember>([[this.create.signer.toString(), { peer: this.create.signer, since: this.create.at }]])
    this.effects.clear()
    this.effects.set(keyOf(this.create), 'applied')
    for (const op of this.sorted()) {
      const signer = op.signer.toString()
      const subject = op.subject.toString()
      let effect: GroupOpEffect
      if (!members.has(signer)) effect = 'not-member'
      else if (op.kind === 'leave') {
        members.delete(signer)
        effect = 'applied'
      } else if (members.has(subject)) effect = 'already-member'
      else if (members.size >= this.create.maxMembers) effect = 'full'
      else {
        members.set(subject, { peer: op.subject, invitedBy: op.signer, since: op.at })
        effect = 'applied'
      }
      this.effects.set(keyOf(op), effect)
    }
    this.members_ = members
  }
}
