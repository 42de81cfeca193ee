// Which ICE servers each phase of a dial may use (see dial phases in mesh-dialler.ts).

/** `MeshNodeInit.iceServers` split by kind: STUN for direct WebRTC, TURN for the last phase of a dial. */
export interface IceServerSets {
  /** `stun:` / `stuns:` URLs: direct attempts and inbound connections gather host and server-reflexive candidates only. */
  readonly stun: RTCIceServer[]
  /** `turn:` / `turns:` URLs with their credentials: the TURN phase, with `iceTransportPolicy: 'relay'`. */
  readonly turn: RTCIceServer[]
}

const STUN_URL = /^stuns?:/i
const TURN_URL = /^turns?:/i

/** Whether an ICE server URL names a TURN server (`turn:` or `turns:`). */
export function isTurnUrl (url: string): boolean {
  return TURN_URL.test(url)
}

/**
 * Checks `MeshNodeInit.iceServers` and splits it into STUN and TURN servers. An entry that mixes
 * both kinds of URL goes to both sets, each with its own URLs (the TURN part keeps the
 * credentials). Throws TypeError naming the entry (`iceServers[i]`) for: not an object, no URLs,
 * a URL that is not `stun:`, `stuns:`, `turn:` or `turns:`, and a TURN URL without a string
 * `username` and `credential`, which no TURN server accepts (RFC 8489 long-term credentials).
 */
export function splitIceServers (servers: unknown): IceServerSets {
  if (servers === undefined) return { stun: [], turn: [] }
  if (!Array.isArray(servers)) throw new TypeError(`iceServers must be an array of RTCIceServer, got ${typeof servers}`)
  const stun: RTCIceServer[] = []
  const turn: RTCIceServer[] = []
  for (const [i, entry] of servers.entries()) {
    const name = `iceServers[${i}]`
    if (entry === null || typeof entry !== 'object') throw new TypeError(`${name} must be an RTCIceServer object, got ${JSON.stringify(entry)}`)
    const server = entry as RTCIceServer
    const urls: unknown[] = Array.isArray(server.urls) ? server.urls : [server.urls]
    if (urls.length === 0) throw new TypeError(`${name} has no urls`)
    const stunUrls: string[] = []
    const turnUrls: string[] = []
    for (const url of urls) {
      if (typeof url === 'string' && STUN_URL.test(url)) stunUrls.push(url)
      else if (typeof url === 'string' && TURN_URL.test(url)) turnUrls.push(url)
      else throw new TypeError(`${name}.urls has ${JSON.stringify(url)}, not a stun:, stuns:, turn: or turns: URL`)
    }
    if (turnUrls.length > 0) {
      for (const field of ['username', 'credential'] as const) {
        const value: unknown = server[field]
        if (typeof value !== 'string' || value === '') {
          throw new TypeError(`${name} (${turnUrls.join(', ')}) is a TURN server but has no ${field}: TURN needs a username and a credential`)
        }
      }
      turn.push({ urls: turnUrls, username: server.username, credential: server.credential })
    }
    if (stunUrls.length > 0) stun.push({ urls: stunUrls })
  }
  return { stun, turn }
}

/** Whether a dial may end with a TURN phase: `allowTurn` as given, else whenever TURN servers are configured. */
export function turnAllowed (allowTurn: boolean | undefined, sets: IceServerSets): boolean {
  return sets.turn.length > 0 && allowTurn !== false
}
