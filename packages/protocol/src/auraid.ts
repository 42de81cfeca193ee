import { auralink } from './gen/auraid.js'
import { safeDecode, toSafeNumber } from './codec.js'
import { MAX_DIRECTORY_REQUEST_BYTES, MAX_DIRECTORY_RESPONSE_BYTES, MAX_RECORD_BYTES } from './constants.js'

const pb = auralink.auraid

/** The `Visibility` enum of protos/auraid.proto: its names to numbers and back. */
export const Visibility = pb.Visibility
/** A value of the `Visibility` enum of protos/auraid.proto. */
export type Visibility = auralink.auraid.Visibility
/** The `DirectoryOp` enum of protos/auraid.proto: its names to numbers and back. */
export const DirectoryOp = pb.DirectoryOp
/** A value of the `DirectoryOp` enum of protos/auraid.proto. */
export type DirectoryOp = auralink.auraid.DirectoryOp
/** The `DirectoryError` enum of protos/auraid.proto: its names to numbers and back. */
export const DirectoryError = pb.DirectoryError
/** A value of the `DirectoryError` enum of protos/auraid.proto. */
export type DirectoryError = auralink.auraid.DirectoryError

/** The fields of a `AuraIdRecord` message (protos/auraid.proto), as encodeAuraIdRecord takes them. */
export type AuraIdRecordFields = auralink.auraid.AuraIdRecord.$Properties
/** The fields of a `SignedAuraIdRecord` message (protos/auraid.proto), as encodeSignedAuraIdRecord takes them. */
export type SignedAuraIdRecordFields = auralink.auraid.SignedAuraIdRecord.$Properties
/** The fields of a `UnregisterPayload` message (protos/auraid.proto), as encodeUnregisterPayload takes them. */
export type UnregisterPayloadFields = auralink.auraid.UnregisterPayload.$Properties
/** The fields of a `SignedUnregister` message (protos/auraid.proto), as encodeSignedUnregister takes them. */
export type SignedUnregisterFields = auralink.auraid.SignedUnregister.$Properties
/** The fields of a `DirectoryRequest` message (protos/auraid.proto), as encodeDirectoryRequest takes them. */
export type DirectoryRequestFields = auralink.auraid.DirectoryRequest.$Properties
/** The fields of a `DirectoryResponse` message (protos/auraid.proto), as encodeDirectoryResponse takes them. */
export type DirectoryResponseFields = auralink.auraid.DirectoryResponse.$Properties

/** A decoded `AuraIdRecord` message (protos/auraid.proto). */
export type AuraIdRecordMessage = ReturnType<typeof pb.AuraIdRecord.decode>
/** A decoded `SignedAuraIdRecord` message (protos/auraid.proto). */
export type SignedAuraIdRecordMessage = ReturnType<typeof pb.SignedAuraIdRecord.decode>
/** A decoded `UnregisterPayload` message (protos/auraid.proto). */
export type UnregisterPayloadMessage = ReturnType<typeof pb.UnregisterPayload.decode>
/** A decoded `SignedUnregister` message (protos/auraid.proto). */
export type SignedUnregisterMessage = ReturnType<typeof pb.SignedUnregister.decode>
/** A decoded `DirectoryRequest` message (protos/auraid.proto). */
export type DirectoryRequestMessage = ReturnType<typeof pb.DirectoryRequest.decode>
/** A decoded `DirectoryResponse` message (protos/auraid.proto). */
export type DirectoryResponseMessage = ReturnType<typeof pb.DirectoryResponse.decode>

/** Encodes a `AuraIdRecord` message (protos/auraid.proto) to protobuf bytes. */
export const encodeAuraIdRecord = (m: AuraIdRecordFields): Uint8Array => pb.AuraIdRecord.encode(m).finish()
/** Decodes a `AuraIdRecord` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeAuraIdRecord = (b: Uint8Array): AuraIdRecordMessage => {
  const m = safeDecode('AuraIdRecord', pb.AuraIdRecord, b, MAX_RECORD_BYTES)
  m.sequence = toSafeNumber('AuraIdRecord', 'sequence', m.sequence)
  m.validity = toSafeNumber('AuraIdRecord', 'validity', m.validity)
  return m
}

/** Encodes a `SignedAuraIdRecord` message (protos/auraid.proto) to protobuf bytes. */
export const encodeSignedAuraIdRecord = (m: SignedAuraIdRecordFields): Uint8Array => pb.SignedAuraIdRecord.encode(m).finish()
/** Decodes a `SignedAuraIdRecord` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignedAuraIdRecord = (b: Uint8Array): SignedAuraIdRecordMessage =>
  safeDecode('SignedAuraIdRecord', pb.SignedAuraIdRecord, b, MAX_RECORD_BYTES)

/** Encodes a `UnregisterPayload` message (protos/auraid.proto) to protobuf bytes. */
export const encodeUnregisterPayload = (m: UnregisterPayloadFields): Uint8Array => pb.UnregisterPayload.encode(m).finish()
/** Decodes a `UnregisterPayload` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeUnregisterPayload = (b: Uint8Array): UnregisterPayloadMessage => {
  const m = safeDecode('UnregisterPayload', pb.UnregisterPayload, b, MAX_RECORD_BYTES)
  m.timestamp = toSafeNumber('UnregisterPayload', 'timestamp', m.timestamp)
  return m
}

/** Encodes a `SignedUnregister` message (protos/auraid.proto) to protobuf bytes. */
export const encodeSignedUnregister = (m: SignedUnregisterFields): Uint8Array => pb.SignedUnregister.encode(m).finish()
/** Decodes a `SignedUnregister` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignedUnregister = (b: Uint8Array): SignedUnregisterMessage =>
  safeDecode('SignedUnregister', pb.SignedUnregister, b, MAX_RECORD_BYTES)

/** Encodes a `DirectoryRequest` message (protos/auraid.proto) to protobuf bytes. */
export const encodeDirectoryRequest = (m: DirectoryRequestFields): Uint8Array => pb.DirectoryRequest.encode(m).finish()
/** Decodes a `DirectoryRequest` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeDirectoryRequest = (b: Uint8Array): DirectoryRequestMessage =>
  safeDecode('DirectoryRequest', pb.DirectoryRequest, b, MAX_DIRECTORY_REQUEST_BYTES)

/** Encodes a `DirectoryResponse` message (protos/auraid.proto) to protobuf bytes. */
export const encodeDirectoryResponse = (m: DirectoryResponseFields): Uint8Array => pb.DirectoryResponse.encode(m).finish()
/** Decodes a `DirectoryResponse` message (protos/auraid.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeDirectoryResponse = (b: Uint8Array): DirectoryResponseMessage =>
  safeDecode('DirectoryResponse', pb.DirectoryResponse, b, MAX_DIRECTORY_RESPONSE_BYTES)
