/**
 * Playback of recordings over the relay's HTTP port (issue 17; relay-node/README.md "Recording"):
 * `GET /recordings` lists the recordings the asking peer took part in, `GET /recordings/<id>`
 * serves one (WebM, byte ranges for seeking). Every request is signed by the participant's key
 * (`peer`, `expires`, `sig` in the query: `signRecordingAccess()` in @auralink/identity), for this
 * relay and this recording, valid at most 10 minutes; nobody else gets a byte. 401 for a missing,
 * malformed, expired or forged signature; 404 for no such recording; 403 for a peer that did not
 * take part; 409 for one not finished, or encrypted at rest (the relay cannot decrypt it).
 * Responses carry `Access-Control-Allow-Origin: *` and `Cross-Origin-Resource-Policy: cross-origin`:
 * they are authorised by the signature in the URL, never by cookies, so a web app on another
 * origin may fetch them, and a cross-origin-isolated one (COEP, as the web example is for AIC's
 * threads) may play them in a `<video>`.
 */
import { createReadStream } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyRecordingAccess } from '@auralink/identity'
import type { RecordingSidecar } from './record-service.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** How a playback request ended, as `auralink_recordings_served_total{result}` counts it. */
export type PlaybackResult = 'list' | 'file' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'bad_request'

/** What a participant's list says of each recording. */
export interface RecordingListing {
  id: string
  callId: string
  status: RecordingSidecar['status']
  participants: string[]
  startedAt: string
  endedAt: string | null
  bytes: number
  encrypted: boolean
}

export interface PlaybackInit {
  dir: string
  relay: PeerId
  /** Called once per request with how it ended. */
  onRequest?: (result: PlaybackResult) => void
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/** Most recordings one list answer carries (the newest first). */
export const MAX_LISTED_RECORDINGS = 100

const ID = /^[0-9a-f]{32}$/
/** On every answer: readable from any origin (the URL's signature is the authority). */
const OPEN = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' } as const

/** The handler of /recordings and /recordings/<id>; false when the path is not one of them. */
export function playbackHandler (init: PlaybackInit): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const answer = (res: ServerResponse, result: PlaybackResult, status: number, message: string): void => {
    init.onRequest?.(result)
    res.writeHead(status, { 'content-type': 'text/plain', ...OPEN }).end(`${message}\n`)
  }
  const sidecar = async (id: string): Promise<RecordingSidecar | undefined> =>
    readFile(join(init.dir, `${id}.json`), 'utf8').then((t) => JSON.parse(t) as RecordingSidecar, () => undefined)

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay')
    const m = /^\/recordings(?:\/([^/]*))?$/.exec(url.pathname)
    if (m === null) return false
    const id = m[1] ?? ''
    if (m[1] !== undefined && !ID.test(id)) { answer(res, 'bad_request', 400, 'a recording id is 32 lowercase hex characters'); return true }
    const q = url.searchParams
    const access = await verifyRecordingAccess({ peer: q.get('peer'), expires: q.get('expires'), sig: q.get('sig') }, { relay: init.relay, recordingId: id, now: init.now?.() })
    if (!access.ok) {
      init.onRequest?.('unauthorized')
      res.writeHead(401, { 'content-type': 'text/plain', ...OPEN, 'www-authenticate': 'AuraLink-Recording realm="auralink-relay"' })
        .end(`unauthorized: ${access.message} (sign with signRecordingAccess(), @auralink/identity)\n`)
      return true
    }
    const peer = access.peer.toString()
    if (id === '') {
      const listed: RecordingListing[] = []
      for (const name of await readdir(init.dir).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{32}\.json$/.test(name)) continue
        const s = await sidecar(name.slice(0, 32))
        if (s === undefined || !Array.isArray(s.participants) || !s.participants.includes(peer)) continue
        listed.push({ id: s.recordingId, callId: s.callId, status: s.status, participants: s.participants, startedAt: s.startedAt, endedAt: s.endedAt, bytes: s.bytes, encrypted: s.encrypted === 'age' })
      }
      listed.sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      init.onRequest?.('list')
      res.writeHead(200, { 'content-type': 'application/json', ...OPEN, 'cache-control': 'no-store' })
        .end(JSON.stringify({ recordings: listed.slice(0, MAX_LISTED_RECORDINGS) }))
      return true
    }
    const s = await sidecar(id)
    if (s === undefined) { answer(res, 'not_found', 404, `no recording ${id} here`); return true }
    if (!Array.isArray(s.participants) || !s.participants.includes(peer)) { answer(res, 'forbidden', 403, `${peer} did not take part in recording ${id}`); return true }
    if (s.status !== 'complete' || s.file === null) { answer(res, 'conflict', 409, `recording ${id} is ${s.status}, not finished`); return true }
    if (s.encrypted === 'age') { answer(res, 'conflict', 409, `recording ${id} is encrypted at rest: its operator decrypts it (auralink-relay recordings decrypt)`); return true }
    const file = join(init.dir, `${id}.webm`)
    const size = await stat(file).then((st) => st.size, () => -1)
    if (size < 0) { answer(res, 'not_found', 404, `recording ${id} has no file here`); return true }
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    let [start, end] = [0, size - 1]
    if (range !== null && (range[1] !== '' || range[2] !== '')) {
      start = range[1] !== '' ? Number(range[1]) : Math.max(0, size - Number(range[2]))
      end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1
      if (start > end || start >= size) {
        init.onRequest?.('bad_request')
        res.writeHead(416, { 'content-range': `bytes */${size}`, ...OPEN }).end()
        return true
      }
    }
    init.onRequest?.('file')
    res.writeHead(range !== null ? 206 : 200, {
      'content-type': 'video/webm',
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
      ...OPEN,
      'cache-control': 'private, no-store',
      ...(range !== null ? { 'content-range': `bytes ${start}-${end}/${size}` } : {})
    })
    if (req.method === 'HEAD') { res.end(); return true }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(file, { start, end })
      stream.on('error', () => { res.destroy(); resolve() })
      res.on('close', () => { stream.destroy(); resolve() })
      stream.pipe(res)
    })
    return true
  }
}
