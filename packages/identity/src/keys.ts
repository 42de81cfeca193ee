import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { CorruptKeyError } from './errors.js'
import type { Ed25519PrivateKey, Ed25519PublicKey, PeerId, PrivateKey } from '@libp2p/interface'

export type { Ed25519PrivateKey, Ed25519PublicKey, PeerId, PrivateKey }

/** Makes a new Ed25519 identity key. Its PeerId is the peer's address in the mesh. */
export async function generateIdentityKey (): Promise<Ed25519PrivateKey> {
  return generateKeyPair('Ed25519')
}

/** The PeerId of a private or public key. */
export function peerIdOf (key: Ed25519PrivateKey | Ed25519PublicKey): PeerId {
  return 'publicKey' in key ? peerIdFromPrivateKey(key) : peerIdFromPublicKey(key)
}

/** Exports a private key as libp2p's protobuf encoding. Keep the bytes secret. */
export function exportPrivateKey (key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

/** Imports an Ed25519 private key from {@link exportPrivateKey}'s bytes; throws CorruptKeyError otherwise. */
export function importPrivateKey (bytes: Uint8Array): Ed25519PrivateKey {
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new CorruptKeyError('bytes are not a libp2p private key', { cause: err })
  }
  if (key.type !== 'Ed25519') {
    throw new CorruptKeyError(`expected an Ed25519 key, got ${key.type}`)
  }
  return key
}

/** Decodes a protobuf-encoded public key and checks it is Ed25519. */
export function decodeEd25519PublicKey (bytes: Uint8Array): Ed25519PublicKey {
  const key = publicKeyFromProtobuf(bytes)
  if (key.type !== 'Ed25519') {
    throw new TypeError(`expected an Ed25519 public key, got ${key.type}`)
  }
  return key
}
