import { createServer } from 'node:http'
import type { RelayMetrics } from './metrics.js'
import type { Server } from 'node:http'

export interface HealthSource {
  ready(): boolean
  health(): Promise<Record<string, unknown>>
}

/** GET /healthz (200 JSON when serving, 503 while starting or stopping) and GET /metrics. */
export function createHttpServer (metrics: RelayMetrics, health: HealthSource): Server {
  return createServer((req, res) => {
    void (async () => {
      try {
        const path = (req.url ?? '/').split('?')[0]
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD' }).end()
        } else if (path === '/healthz') {
          const ready = health.ready()
          const body = JSON.stringify({ status: ready ? 'ok' : 'unavailable', ...(ready ? await health.health() : {}) })
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(body)
        } else if (path === '/metrics') {
          const body = await metrics.registry.metrics()
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body)
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n')
        }
      } catch (err) {
        metrics.error('http')
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`internal error: ${(err as Error).message}\n`)
      }
    })()
  })
}
