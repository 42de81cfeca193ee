// The fuzz benchmark's protocol targets: generated and mutated messages sent by a stock js-libp2p
// peer (upstream @libp2p/* packages only: WebSockets, Noise, yamux, identify) to a real relay
// process on each protocol it serves. Every stream is bounded: one the relay neither answers nor
// ends within `hangMs` of our closing our side is a hang.
import { createRecord, generateIdentityKey, verifyRelayAdvert } from '@auralink/identity'
import * as P from '@auralink/protocol'
import { auraIdDhtKey } from '@auralink/signalling'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { Message, MessageType } from '../../node_modules/@libp2p/kad-dht/dist/src/message/dht.js'
import { concat, generate, mutate, Rng, varint } from './mutate.mjs'

export const DHT_PROTOCOL = '/auralink/kad/1.0.0'
const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

/** A stock libp2p peer: no AuraLink code in it. */
export async function stockPeer () {
  return createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() }
  })
}

/** The length-prefixed frames in `b` as far as they parse. */
function frames (b) {
  const out = []
  let at = 0
  while (at < b.length) {
    let len = 0
    let k = 0
    for (; k < 10; k++) {
      const x = b[at + k]
      if (x === undefined) return out
      len += (x & 0x7f) * 2 ** (7 * k)
      if ((x & 0x80) === 0) break
    }
    if (at + k + 1 + len > b.length) return out
    out.push(b.subarray(at + k + 1, at + k + 1 + len))
    at += k + 1 + len
  }
  return out
}

/** Frames `body` with its length; now and then lies about the length, cuts it, or adds junk. */
function frame (rng, body) {
  if (!rng.chance(0.05)) return concat(varint(body.length), body)
  return mutate(rng, concat(varint(body.length), body))
}

/** The varint field `field` of a protobuf message, or undefined. */
function varintField (b, field) {
  let i = 0
  const v = () => {
    let x = 0
    for (let s = 0; ; s += 7) {
      const c = b[i++]
      if (c === undefined) throw new Error('cut short')
      x += (c & 0x7f) * 2 ** s
      if ((c & 0x80) === 0) return x
    }
  }
  try {
    while (i < b.length) {
      const tag = v()
      if (tag % 8 === 0) { const x = v(); if (Math.floor(tag / 8) === field) return x } else if (tag % 8 === 2) i += v()
      else return undefined
    }
  } catch {}
  return undefined
}

/**
 * One exchange: opens a stream, sends `bytes`, closes our side, reads until the relay ends the
 * stream (or, with `readLimit`, until that many bytes came; with `answerFrames`, until that many
 * length-prefixed frames came: the hop server answers a refused CONNECT and leaves the stream to
 * the peer to close, as js-libp2p's circuit relay server does), all within `hangMs`.
 * Resolves `{ bytes, reset, hang }`.
 */
export async function exchange (node, addr, protocol, bytes, { hangMs, readLimit = Infinity, answerFrames = Infinity }) {
  const signal = AbortSignal.timeout(hangMs)
  let stream
  try {
    stream = await node.dialProtocol(multiaddr(addr), protocol, { signal, runOnLimitedConnection: true })
  } catch (err) {
    return { bytes: new Uint8Array(0), dialError: err, hang: signal.aborted }
  }
  const chunks = []
  let n = 0
  const onAbort = () => { stream.abort(new Error('no answer in time')) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    if (!stream.send(bytes)) await stream.onDrain({ signal })
    await stream.close({ signal })
    // the read is raced against the deadline too: a stream the muxer neither feeds nor ends
    // would otherwise keep its iterator waiting after stream.abort()
    let stop
    const deadline = new Promise((resolve) => { stop = resolve; signal.addEventListener('abort', () => { resolve('hang') }, { once: true }) })
    const read = (async () => {
      for await (const c of stream) {
        chunks.push(c.subarray())
        n += c.byteLength
        if (n >= readLimit || (answerFrames !== Infinity && frames(concat(...chunks)).length >= answerFrames)) { stream.abort(new Error('enough')); break }
      }
    })()
    read.catch(() => {})
    const first = await Promise.race([read.then(() => 'done'), deadline])
    stop()
    if (first === 'hang') return { bytes: concat(...chunks), reset: false, hang: n < readLimit }
    return { bytes: concat(...chunks), reset: false, hang: false }
  } catch (err) {
    return { bytes: concat(...chunks), reset: !signal.aborted, hang: signal.aborted && n < readLimit, error: err }
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Each protocol target: `lanes` streams at once, `perStream` messages per stream (the index
 * advances by it), `make(rng)` the bytes of one stream, `classify(result, sent)` the outcome of
 * each message: ok (decoded and answered), typed (refused as malformed, an answer or a reset),
 * limited (refused by a limit), unanswered (never reached the decoder), hang.
 */
export async function protocolTargets () {
  const k = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(21))
  const records = []
  for (const [i, name] of ['@fuzz-alice.aura', '@fuzz-bob.aura', '@fuzz-carol.aura'].entries()) {
    records.push((await createRecord(k, { name, sequence: i + 1, ...(i === 2 ? { visibility: 'unlisted' } : {}) })).bytes)
  }
  const unregister = (await import('@auralink/identity')).createUnregister
  const Op = P.DirectoryOp
  const directory = [
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_REGISTER, record: records[0] }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_UPDATE, record: records[1] }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_RESOLVE, name: '@fuzz-alice.aura' }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_SEARCH, prefix: '@fuzz', limit: 5 }),
    P.encodeDirectoryRequest({ op: Op.DIRECTORY_OP_UNREGISTER, name: '@fuzz-carol.aura', unregister: await unregister(k, '@fuzz-carol.aura') })
  ]
  const probes = [0, 1, 64, 1024].map((bytes) => P.encodeRelayProbeRequest({ bytes }))
  const other = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(22)))
  // HopMessage { type: RESERVE } and { type: CONNECT, peer: { id, addrs } }, by hand as the spec gives them
  const peerMsg = concat(Uint8Array.of(0x0a), varint(other.toMultihash().bytes.length), other.toMultihash().bytes, Uint8Array.of(0x12, 8, 4, 127, 0, 0, 1, 6, 15, 161))
  const hops = [Uint8Array.of(0x08, 0x00), concat(Uint8Array.of(0x08, 0x01, 0x12), varint(peerMsg.length), peerMsg)]
  const dhtKeys = ['@fuzz-alice.aura', '@fuzz-bob.aura'].map((n) => auraIdDhtKey(n))
  const kad = [
    Message.encode({ type: MessageType.PUT_VALUE, key: dhtKeys[0], record: { key: dhtKeys[0], value: records[0] }, closer: [], providers: [] }),
    Message.encode({ type: MessageType.GET_VALUE, key: dhtKeys[1], closer: [], providers: [] }),
    Message.encode({ type: MessageType.FIND_NODE, key: other.toMultihash().bytes, closer: [], providers: [] }),
    Message.encode({ type: MessageType.GET_PROVIDERS, key: Uint8Array.of(1, 0x55, 0x12, 0x20, ...new Uint8Array(32).fill(3)), closer: [], providers: [] }),
    Message.encode({ type: MessageType.PING, closer: [], providers: [] })
  ]
  const E = P.DirectoryError

  return [
    {
      name: 'directory', protocol: P.DIRECTORY_PROTOCOL, lanes: 16, perStream: 1,
      make: (rng) => frame(rng, generate(rng, directory)),
      classify (r) {
        const f = frames(r.bytes)[0]
        if (f === undefined) return r.hang ? 'hang' : 'typed'
        let code
        try { code = P.decodeDirectoryResponse(f).error ?? 0 } catch { return 'badAnswer' }
        if (code === E.DIRECTORY_ERROR_RATE_LIMITED || code === E.DIRECTORY_ERROR_QUOTA_EXCEEDED) return 'limited'
        return code === E.DIRECTORY_ERROR_BAD_REQUEST || code === E.DIRECTORY_ERROR_TOO_LARGE ? 'typed' : 'ok'
      }
    },
    {
      // the relay answers with as many bytes as asked (up to 1 MiB): we stop reading at the first chunk
      name: 'relay-probe', protocol: P.RELAY_PROBE_PROTOCOL, lanes: 2, perStream: 1, readLimit: 1,
      make: (rng) => frame(rng, generate(rng, probes)),
      classify: (r) => r.hang ? 'hang' : r.bytes.length > 0 || !r.reset ? 'ok' : 'typed'
    },
    {
      // the relay writes its list and closes without reading: what we send is never decoded. We
      // stop at its first advert (its own): with bytes from us unread, the end of the stream came
      // more than 5 s after the list in about 1 stream in 10 in our runs (the relay's close()
      // waits, bounded by its 10 s deadline); only a stream with no advert at all is a hang
      name: 'relay-list', protocol: P.RELAY_LIST_PROTOCOL, lanes: 8, perStream: 1, answerFrames: 1,
      make: (rng) => rng.bytes(rng.int(64)),
      async classify (r) {
        if (r.hang) return 'hang'
        for (const f of frames(r.bytes)) await verifyRelayAdvert(f)
        return 'unanswered'
      }
    },
    {
      name: 'circuit-relay-hop', protocol: HOP_PROTOCOL, lanes: 8, perStream: 1, answerFrames: 1,
      make: (rng) => frame(rng, generate(rng, hops)),
      classify (r) {
        const f = frames(r.bytes)[0]
        if (f === undefined) return r.hang ? 'hang' : 'typed'
        const status = varintField(f, 5)
        // 400 MALFORMED_MESSAGE, 401 UNEXPECTED_MESSAGE; 200 RESERVATION_REFUSED and 202 PERMISSION_DENIED may be limits
        return status === 400 || status === 401 ? 'typed' : status === 202 ? 'limited' : 'ok'
      }
    },
    {
      // kad-dht reads messages one after another on a stream and resets it at the first it refuses:
      // 6 in 10 are seeds as they are, so that more of a stream's messages reach the decoder
      name: 'kad-dht', protocol: DHT_PROTOCOL, lanes: 8, perStream: 8,
      make: (rng) => concat(...new Array(8).fill(0).map(() => frame(rng, rng.chance(0.6) ? rng.pick(kad) : generate(rng, kad)))),
      classify (r, sent) {
        const answered = Math.min(frames(r.bytes).length, sent)
        const out = new Array(sent).fill('unanswered')
        out.fill('ok', 0, answered)
        if (r.hang && answered < sent) out[answered] = 'hang'
        else if (r.reset && answered < sent) out[answered] = 'typed'
        return out
      }
    }
  ]
}

/** A fresh key and its record, for the legitimate peer. */
export async function legitRecord (name) {
  const key = await generateIdentityKey()
  return { key, bytes: (await createRecord(key, { name })).bytes }
}

/** REGISTER or RESOLVE from `node`: the directory's error code (0: none) or 'no answer'. */
export async function directoryCall (node, addr, request, hangMs = 10_000) {
  const r = await exchange(node, addr, P.DIRECTORY_PROTOCOL, concat(varint(request.length), request), { hangMs })
  const f = frames(r.bytes)[0]
  if (f === undefined) return 'no answer'
  const res = P.decodeDirectoryResponse(f)
  return { code: res.error ?? 0, records: res.records ?? [] }
}

export { Rng }
