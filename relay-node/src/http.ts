import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { DEFAULTS } from './constants.js'
import { guardSockets } from './socket-guard.js'
import type { RelayMetrics } from './metrics.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface HealthSource {
  ready(): boolean
  /**
   * The /healthz fields once ready; `status: 'degraded'` and `reason` in it replace `status: 'ok'`
   * (still 200: a degraded relay still relays and answers what it can read).
   */
  health(): Promise<Record<string, unknown>>
}

/** Limits and the /metrics token of the HTTP server; `RelayConfig` documents each. */
export interface HttpServerInit {
  /** A bearer token GET /metrics requires; '' for none. @default '' */
  metricsToken?: string
  /** @default 10000 */
  headersTimeoutMs?: number
  /** Never less than `headersTimeoutMs` (Node requires it). @default 30000 */
  requestTimeoutMs?: number
  /** @default 5000 */
  keepAliveTimeoutMs?: number
  /** @default 64 */
  maxConnections?: number
  /** @default 8 */
  maxConnectionsPerAddress?: number
  /** More routes (the recordings' playback): true when it answered the request. */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
}

/** Raw answers for sockets whose request never completed (Node's own, which a 'clientError' listener replaces). */
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/**
 * GET /healthz (200 JSON when serving, 503 while starting or stopping; always open) and
 * GET /metrics (behind `Authorization: Bearer <metricsToken>` when a token is set: 401 with
 * `WWW-Authenticate` without it or with another, compared in constant time).
 * The server caps its sockets in total and per address, and closes a socket that has not sent
 * a whole request head within `headersTimeoutMs` (from its first moment, so a socket that sends
 * nothing is closed too) or a whole request within `requestTimeoutMs`, with 408; each of these
 * is counted in `auralink_relay_connections_refused_total{listener="http"}`.
 */
export function createHttpServer (metrics: RelayMetrics, health: HealthSource, init: HttpServerInit = {}): Server {
  const token = init.metricsToken ?? DEFAULTS.metricsToken
  const expected = token !== '' ? digest(token) : undefined
  const headersTimeout = init.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs
  const server = createServer({
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, init.requestTimeoutMs ?? DEFAULTS.httpRequestTimeoutMs),
    keepAliveTimeout: init.keepAliveTimeoutMs ?? DEFAULTS.httpKeepAliveTimeoutMs,
    // how often Node checks the two timeouts above (its default is every 30 s)
    connectionsCheckingInterval: Math.min(1000, headersTimeout)
  }, (req, res) => {
    void (async () => {
      try {
        const path = (req.url ?? '/').split('?')[0]
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD' }).end()
        } else if (path === '/healthz') {
          const ready = health.ready()
          const body = JSON.stringify({ status: ready ? 'ok' : 'unavailable', ...(ready ? await health.health() : {}) })
          // public facts (peer id, counts): a web app on another origin may read them (its relay's peer id)
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(body)
        } else if (path === '/metrics') {
          if (expected !== undefined && !authorized(req.headers.authorization, expected)) {
            const error = req.headers.authorization === undefined ? '' : ', error="invalid_token"'
            res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': `Bearer realm="auralink-relay"${error}` })
              .end('unauthorized: /metrics needs Authorization: Bearer <token> (the relay\'s --metrics-token)\n')
            return
          }
          const body = await metrics.registry.metrics()
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body)
        } else if (init.routes === undefined || !(await init.routes(req, res))) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n')
        }
      } catch (err) {
        metrics.error('http')
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`internal error: ${(err as Error).message}\n`)
      }
    })()
  })
  guardSockets(server, {
    maxSockets: init.maxConnections ?? DEFAULTS.httpMaxConnections,
    maxPerAddress: init.maxConnectionsPerAddress ?? DEFAULTS.httpMaxConnectionsPerAddress,
    onRefuse: (reason) => { metrics.connectionRefused('http', reason) }
  })
  // a socket that timed out after sending a whole request head was slow on its body (or on a
  // later request of a kept-alive socket): request_timeout; else headers_timeout
  const answered = new WeakSet<Socket>()
  server.on('request', (req) => { answered.add(req.socket) })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      metrics.connectionRefused('http', answered.has(socket) ? 'request_timeout' : 'headers_timeout')
      if (socket.writable) socket.write(REQUEST_TIMEOUT)
    } else if (err.code !== 'ECONNRESET' && socket.writable) {
      socket.write(BAD_REQUEST)
    }
    socket.destroy()
  })
  return server
}

/** Whether `header` is `Bearer <token>` for the token whose SHA-256 is `expected` (equal-length digests: constant time). */
function authorized (header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '')
  return m?.[1] !== undefined && timingSafeEqual(digest(m[1]), expected)
}
