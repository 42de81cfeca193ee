import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// `npm pack` of the relay node (with the workspace packages it needs), installed into an empty
// folder, runs with `npx auralink-relay`: scripts/pack-smoke.sh does it; this test runs it.
describe('auralink-relay from packed tarballs', () => {
  it('npx auralink-relay in a fresh folder serves /healthz', async () => {
    const { stdout } = await promisify(execFile)('bash', [resolve(import.meta.dirname, '../../scripts/pack-smoke.sh')], { timeout: 180_000 })
    expect(stdout).toMatch(/pack-smoke: npx auralink-relay from packed tarballs serves http:\/\/127\.0\.0\.1:\d+\/healthz/)
  })
})
