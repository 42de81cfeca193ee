// The remote side of the benchmarks, in its own process: registers an AuraID and serves
//   /bench/echo/1.0.0   echoes every byte back
//   /bench/sink/1.0.0   counts bytes until the writer closes, then answers the count (8 bytes)
//   /bench/rawdc/1.0.0  answers a raw node-datachannel offer (JSON lines) and counts bytes on it
// Usage: node bench/peer.mjs --relay <addr> --name @bob.aura [--dtls-client answerer]   (prints "ready <peerId>")
// --dtls-client answerer: the DTLS roles node-datachannel picks by itself (MeshNodeInit.dtlsClient),
// bench/connect's baseline
import { parseArgs } from 'node:util'
import { createMeshNode } from '@auralink/mesh'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { lpStream } from '@libp2p/utils'

const { values } = parseArgs({ options: { relay: { type: 'string', multiple: true }, name: { type: 'string' }, 'dtls-client': { type: 'string', default: 'offerer' } } })
const node = await createMeshNode({ relays: values.relay, dtlsClient: values['dtls-client'] })
await node.start()
await node.waitForReservation({ signal: AbortSignal.timeout(20_000) })
await node.register(values.name)

await node.handle('/bench/echo/1.0.0', async (stream) => {
  for await (const chunk of stream) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
})

await node.handle('/bench/sink/1.0.0', async (stream) => {
  let n = 0
  for await (const chunk of stream) n += chunk.byteLength
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  stream.send(out)
  await stream.close()
})

await node.handle('/bench/rawdc/1.0.0', async (stream) => {
  const lp = lpStream(stream)
  const pc = new RTCPeerConnection({ iceServers: [] })
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  pc.onicecandidate = ({ candidate }) => { if (candidate) void lp.write(enc.encode(JSON.stringify({ candidate: candidate.toJSON() }))) }
  pc.ondatachannel = ({ channel }) => {
    channel.binaryType = 'arraybuffer'
    let n = 0
    let expected = Infinity
    channel.onmessage = ({ data }) => {
      if (typeof data === 'string') expected = JSON.parse(data).bytes
      else n += data.byteLength
      if (n >= expected) { channel.send(JSON.stringify({ received: n })); expected = Infinity; n = 0 }
    }
  }
  try {
    while (true) {
      const msg = JSON.parse(dec.decode((await lp.read()).subarray()))
      if (msg.sdp) {
        await pc.setRemoteDescription(msg)
        const answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        await lp.write(enc.encode(JSON.stringify(pc.localDescription)))
      } else if (msg.candidate) {
        await pc.addIceCandidate(msg.candidate)
      } else if (msg.close) {
        break
      }
    }
  } catch {}
  pc.close()
  await stream.close().catch(() => {})
}, { runOnLimitedConnection: false })

console.log(`ready ${node.peerId.toString()}`)
process.on('SIGTERM', async () => { await node.stop(); process.exit(0) })
