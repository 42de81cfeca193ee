import { auralink } from './gen/auraid.js'
import { safeDecode, toSafeNumber } from './codec.js'
import { MAX_DIRECTORY_REQUEST_BYTES, MAX_DIRECTORY_RESPONSE_BYTES, MAX_RECORD_BYTES } from './constants.js'

const pb = auralink.auraid

export const Visibility = pb.Visibility
export type Visibility = auralink.auraid.Visibility
export const DirectoryOp = pb.DirectoryOp
export type DirectoryOp = auralink.auraid.DirectoryOp
export const DirectoryError = pb.DirectoryError
export type DirectoryError = auralink.auraid.DirectoryError

export type AuraIdRecordFields = auralink.auraid.AuraIdRecord.$Properties
export type SignedAuraIdRecordFields = auralink.auraid.SignedAuraIdRecord.$Properties
export type UnregisterPayloadFields = auralink.auraid.UnregisterPayload.$Properties
export type SignedUnregisterFields = auralink.auraid.SignedUnregister.$Properties
export type DirectoryRequestFields = auralink.auraid.DirectoryRequest.$Properties
export type DirectoryResponseFields = auralink.auraid.DirectoryResponse.$Properties

export type AuraIdRecordMessage = ReturnType<typeof pb.AuraIdRecord.decode>
export type SignedAuraIdRecordMessage = ReturnType<typeof pb.SignedAuraIdRecord.decode>
export type UnregisterPayloadMessage = ReturnType<typeof pb.UnregisterPayload.decode>
export type SignedUnregisterMessage = ReturnType<typeof pb.SignedUnregister.decode>
export type DirectoryRequestMessage = ReturnType<typeof pb.DirectoryRequest.decode>
export type DirectoryResponseMessage = ReturnType<typeof pb.DirectoryResponse.decode>

export const encodeAuraIdRecord = (m: AuraIdRecordFields): Uint8Array => pb.AuraIdRecord.encode(m).finish()
export const decodeAuraIdRecord = (b: Uint8Array): AuraIdRecordMessage => {
  const m = safeDecode('AuraIdRecord', pb.AuraIdRecord, b, MAX_RECORD_BYTES)
  m.sequence = toSafeNumber('AuraIdRecord', 'sequence', m.sequence)
  m.validity = toSafeNumber('AuraIdRecord', 'validity', m.validity)
  return m
}

export const encodeSignedAuraIdRecord = (m: SignedAuraIdRecordFields): Uint8Array => pb.SignedAuraIdRecord.encode(m).finish()
export const decodeSignedAuraIdRecord = (b: Uint8Array): SignedAuraIdRecordMessage =>
  safeDecode('SignedAuraIdRecord', pb.SignedAuraIdRecord, b, MAX_RECORD_BYTES)

export const encodeUnregisterPayload = (m: UnregisterPayloadFields): Uint8Array => pb.UnregisterPayload.encode(m).finish()
export const decodeUnregisterPayload = (b: Uint8Array): UnregisterPayloadMessage => {
  const m = safeDecode('UnregisterPayload', pb.UnregisterPayload, b, MAX_RECORD_BYTES)
  m.timestamp = toSafeNumber('UnregisterPayload', 'timestamp', m.timestamp)
  return m
}

export const encodeSignedUnregister = (m: SignedUnregisterFields): Uint8Array => pb.SignedUnregister.encode(m).finish()
export const decodeSignedUnregister = (b: Uint8Array): SignedUnregisterMessage =>
  safeDecode('SignedUnregister', pb.SignedUnregister, b, MAX_RECORD_BYTES)

export const encodeDirectoryRequest = (m: DirectoryRequestFields): Uint8Array => pb.DirectoryRequest.encode(m).finish()
export const decodeDirectoryRequest = (b: Uint8Array): DirectoryRequestMessage =>
  safeDecode('DirectoryRequest', pb.DirectoryRequest, b, MAX_DIRECTORY_REQUEST_BYTES)

export const encodeDirectoryResponse = (m: DirectoryResponseFields): Uint8Array => pb.DirectoryResponse.encode(m).finish()
export const decodeDirectoryResponse = (b: Uint8Array): DirectoryResponseMessage =>
  safeDecode('DirectoryResponse', pb.DirectoryResponse, b, MAX_DIRECTORY_RESPONSE_BYTES)
