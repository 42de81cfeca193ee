import { auralink } from './gen/signal.js'
import { safeDecode, toSafeNumber } from './codec.js'
import { MalformedMessageError } from './errors.js'

const pb = auralink.signal

/** Prefix of the bytes a group op's signature covers (then the encoded GroupOp). */
export const GROUP_OP_SIGNATURE_DOMAIN = 'auralink-group-op:'
/** A key, two PeerIds, a nonce, a signature: 1 KiB is plenty. */
export const MAX_GROUP_OP_BYTES = 1024
/** Most members any room may take (a create asks 2 to this many). */
export const MAX_GROUP_MEMBERS = 8
/**
 * Most ops a room's state holds: a create, and for each of its members at most a few invites and
 * leaves. A state past it is refused whole.
 */
export const MAX_GROUP_OPS = 64
/** A GroupState: its ops and their framing. */
export const MAX_GROUP_STATE_BYTES = MAX_GROUP_OPS * (MAX_GROUP_OP_BYTES + 4)

/** What a group op does. */
export type GroupOpKind = 'create' | 'invite' | 'leave'
const KINDS: Record<GroupOpKind, number> = { create: pb.GroupOpKind.GROUP_OP_CREATE, invite: pb.GroupOpKind.GROUP_OP_INVITE, leave: pb.GroupOpKind.GROUP_OP_LEAVE }

/** The fields of a `GroupOp` (protos/signal.proto); `kind` undefined when decoded and none this version knows. */
export interface GroupOpFields {
  publicKey: Uint8Array
  roomId: string
  kind: GroupOpKind
  subject: string
  at: number
  nonce: string
  maxMembers: number
}

/** Encodes a `GroupOp` message (protos/signal.proto) to protobuf bytes. */
export const encodeGroupOp = (m: GroupOpFields): Uint8Array => pb.GroupOp.encode({ ...m, kind: KINDS[m.kind] }).finish()
/** Decodes a `GroupOp` message; oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeGroupOp (b: Uint8Array): Omit<GroupOpFields, 'kind'> & { kind: GroupOpKind | undefined } {
  const m = safeDecode('GroupOp', pb.GroupOp, b, MAX_GROUP_OP_BYTES)
  return {
    publicKey: Uint8Array.from(m.publicKey),
    roomId: m.roomId,
    kind: (Object.keys(KINDS) as GroupOpKind[]).find((k) => KINDS[k] === m.kind),
    subject: m.subject,
    at: toSafeNumber('GroupOp', 'at', m.at),
    nonce: m.nonce,
    maxMembers: m.maxMembers
  }
}

/** Encodes a `SignedGroupOp` message to protobuf bytes. */
export const encodeSignedGroupOp = (m: { payload: Uint8Array, signature: Uint8Array }): Uint8Array => pb.SignedGroupOp.encode(m).finish()
/** Decodes a `SignedGroupOp` message; oversized, truncated or malformed bytes throw. */
export const decodeSignedGroupOp = (b: Uint8Array): { payload: Uint8Array, signature: Uint8Array } => {
  const m = safeDecode('SignedGroupOp', pb.SignedGroupOp, b, MAX_GROUP_OP_BYTES)
  return { payload: Uint8Array.from(m.payload), signature: Uint8Array.from(m.signature) }
}

/** Encodes a `GroupState` (its SignedGroupOps) to protobuf bytes. */
export const encodeGroupState = (ops: Uint8Array[], names: Array<{ peer: string, auraId: string }> = []): Uint8Array => pb.GroupState.encode({ ops, names }).finish()
/** Decodes a `GroupState`; oversized or malformed bytes, or more than MAX_GROUP_OPS ops, throw MessageTooLargeError or MalformedMessageError. */
export function decodeGroupState (b: Uint8Array): Uint8Array[] {
  const m = safeDecode('GroupState', pb.GroupState, b, MAX_GROUP_STATE_BYTES)
  if (m.ops.length > MAX_GROUP_OPS) throw new MalformedMessageError('GroupState', { cause: new RangeError(`${m.ops.length} ops, over ${MAX_GROUP_OPS}`) })
  return m.ops.map((o) => Uint8Array.from(o))
}
