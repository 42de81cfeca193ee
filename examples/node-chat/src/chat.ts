import { parseAuraId } from '@auralink/identity'
import { lpStream } from '@libp2p/utils'
import type { MeshNode } from '@auralink/mesh'
import type { Connection, Stream } from '@libp2p/interface'

export const CHAT_PROTOCOL = '/auralink/example-chat/1.0.0'
const MAX_LINE_BYTES = 64 * 1024
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface ChatSession {
  readonly peer: string
  readonly direct: boolean
  send(line: string): Promise<void>
  close(): Promise<void>
}

export interface ChatEvents {
  onOpen(session: ChatSession): void
  onLine(from: string, line: string): void
  onClose(peer: string, reason: string): void
  onError(message: string): void
}

/**
 * The example's tiny chat protocol on one stream: the first frame is the caller's AuraID,
 * which the callee checks by resolving it and comparing the key with the connection's
 * authenticated PeerId; every later frame is one UTF-8 line.
 */
export async function startChat (node: MeshNode, me: string, events: ChatEvents): Promise<{ call(name: string): Promise<ChatSession> }> {
  await node.handle(CHAT_PROTOCOL, (stream: Stream, connection: Connection) => {
    void (async () => {
      const lp = lpStream(stream, { maxDataLength: MAX_LINE_BYTES })
      let claimed = ''
      try {
        claimed = parseAuraId(decoder.decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray()))
        const record = await node.resolve(claimed)
        if (!record.peerId.equals(connection.remotePeer)) {
          events.onError(`a peer claimed to be ${claimed} but its key is not the one registered: refused`)
          stream.abort(new Error('identity mismatch'))
          return
        }
      } catch (err) {
        events.onError(`refused an incoming chat: ${(err as Error).message}`)
        stream.abort(err as Error)
        return
      }
      await run(lp, stream, claimed, connection.direct && connection.limits == null, events)
    })()
  }, { runOnLimitedConnection: false })

  return {
    async call (name: string): Promise<ChatSession> {
      const peer = parseAuraId(name)
      const conn = await node.dial(peer)
      const stream = await conn.newStream(CHAT_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: MAX_LINE_BYTES })
      await lp.write(encoder.encode(me))
      return run(lp, stream, peer, conn.direct, events)
    }
  }
}

async function run (lp: ReturnType<typeof lpStream>, stream: Stream, peer: string, direct: boolean, events: ChatEvents): Promise<ChatSession> {
  const session: ChatSession = {
    peer,
    direct,
    async send (line: string) { await lp.write(encoder.encode(line)) },
    async close () { await stream.close().catch(() => { stream.abort(new Error('closed')) }) }
  }
  events.onOpen(session)
  void (async () => {
    try {
      while (true) {
        const frame = await lp.read()
        events.onLine(peer, decoder.decode(frame.subarray()))
      }
    } catch (err) {
      const reason = (err as Error).name === 'UnexpectedEOFError' ? 'hung up' : (err as Error).message
      events.onClose(peer, reason)
    }
  })()
  return session
}
