import { afterEach, describe, expect, it } from 'vitest'
import { AuraLink } from '../src/index.js'
import { checkNodeVersion } from '../src/node-version.js'

describe('the Node version check', () => {
  const real = Object.getOwnPropertyDescriptor(process.versions, 'node')!
  afterEach(() => { Object.defineProperty(process.versions, 'node', real) })

  it('checkNodeVersion("20.11.1") throws UnsupportedRuntimeError "AuraLink needs Node 22 or later, this is Node 20.11.1"', () => {
    expect(() => { checkNodeVersion('20.11.1') }).toThrow(expect.objectContaining({
      name: 'UnsupportedRuntimeError', code: 'ERR_UNSUPPORTED_RUNTIME', message: 'AuraLink needs Node 22 or later, this is Node 20.11.1'
    }))
    expect(() => { checkNodeVersion('18.0.0') }).toThrow(/this is Node 18\.0\.0/)
  })

  it('checkNodeVersion() passes Node 22 and later, and a browser (no version)', () => {
    for (const v of ['22.0.0', '24.21.0', '30.1.0', undefined]) expect(() => { checkNodeVersion(v) }).not.toThrow()
  })

  it('AuraLink.create() on Node 20 rejects with the version it needs before anything else', async () => {
    Object.defineProperty(process.versions, 'node', { ...real, value: '20.11.1' })
    await expect(AuraLink.create({ relays: ['ws://127.0.0.1:1'], keyStore: null })).rejects.toThrow('AuraLink needs Node 22 or later, this is Node 20.11.1')
  })
})
