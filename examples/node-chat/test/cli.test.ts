import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const CLI = resolve(import.meta.dirname, '../dist/cli.js')

async function run (args: string[]): Promise<{ code: number | null, out: string }> {
  const keyDir = await mkdtemp(join(tmpdir(), 'auralink-chat-keys-'))
  const child = spawn(process.execPath, [CLI, '--key-dir', keyDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const kept = await readdir(keyDir)
  await rm(keyDir, { recursive: true, force: true })
  expect(kept).toEqual([]) // a run that fails on its arguments keeps no key
  return { code, out }
}

describe('auralink-chat arguments', () => {
  it('exits 2 naming the rule when --as is not a valid AuraID', async () => {
    const { code, out } = await run(['--as', '@x.aura', '--relay', '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWRTuXuDrk3RQxf1FubM9HBLceLXjotEBE9RZQtNrNEL5Y'])
    expect(code).toBe(2)
    expect(out).toMatch(/--as "@x\.aura": .* must be 3 to 32/)
  })

  it('exits 2 when --relay is missing or neither a relay multiaddr nor a ws:// URL', async () => {
    expect((await run(['--as', '@alice.aura'])).out).toMatch(/--relay is required/)
    const bad = await run(['--as', '@alice.aura', '--relay', 'localhost:4001'])
    expect(bad.code).toBe(2)
    expect(bad.out).toMatch(/--relay: relays\[0\] is neither a multiaddr nor a ws:\/\/ or wss:\/\/ URL: "localhost:4001"/)
  })
})
