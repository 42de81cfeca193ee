import { describe, expect, it } from 'vitest'
import { isTurnUrl, splitIceServers, turnAllowed } from '../src/ice-servers.js'
import { createMeshNode } from '../src/index.js'

const TURN = { urls: 'turn:10.0.0.1:3478', username: 'u', credential: 'p' }

describe('splitIceServers', () => {
  it('splitIceServers(undefined) and splitIceServers([]) give no servers of either kind', () => {
    expect(splitIceServers(undefined)).toEqual({ stun: [], turn: [] })
    expect(splitIceServers([])).toEqual({ stun: [], turn: [] })
  })

  it('splitIceServers() puts stun:/stuns: entries in stun and turn:/turns: entries, with their credentials, in turn', () => {
    const sets = splitIceServers([
      { urls: 'stun:stun.example:3478' },
      TURN,
      { urls: ['turns:turn.example:5349?transport=tcp'], username: 'a', credential: 'b' },
      { urls: ['stuns:stun.example:5349'] }
    ])
    expect(sets.stun).toEqual([{ urls: ['stun:stun.example:3478'] }, { urls: ['stuns:stun.example:5349'] }])
    expect(sets.turn).toEqual([
      { urls: ['turn:10.0.0.1:3478'], username: 'u', credential: 'p' },
      { urls: ['turns:turn.example:5349?transport=tcp'], username: 'a', credential: 'b' }
    ])
  })

  it('splitIceServers() splits an entry that mixes STUN and TURN URLs, the credentials going with the TURN part only', () => {
    const sets = splitIceServers([{ urls: ['stun:s.example', 'turn:t.example?transport=udp', 'TURN:T2.example'], username: 'u', credential: 'p' }])
    expect(sets.stun).toEqual([{ urls: ['stun:s.example'] }])
    expect(sets.turn).toEqual([{ urls: ['turn:t.example?transport=udp', 'TURN:T2.example'], username: 'u', credential: 'p' }])
  })

  it('splitIceServers() rejects a TURN entry without username or credential, naming the entry and its URL', () => {
    expect(() => splitIceServers([{ urls: 'stun:s.example' }, { urls: 'turn:t.example' }]))
      .toThrow(/iceServers\[1\] \(turn:t\.example\) is a TURN server but has no username/)
    expect(() => splitIceServers([{ urls: 'turns:t.example', username: 'u' }])).toThrow(/iceServers\[0\].*has no credential/)
    expect(() => splitIceServers([{ urls: 'turn:t.example', username: '', credential: 'p' }])).toThrow(/has no username/)
    expect(() => splitIceServers([{ urls: 'turn:t.example', username: 'u', credential: 42 }])).toThrow(TypeError)
  })

  it('splitIceServers() rejects a bad entry or URL with TypeError naming it', () => {
    expect(() => splitIceServers('stun:s.example')).toThrow(/iceServers must be an array/)
    expect(() => splitIceServers([null])).toThrow(/iceServers\[0\] must be an RTCIceServer object, got null/)
    expect(() => splitIceServers([{ urls: [] }])).toThrow(/iceServers\[0\] has no urls/)
    expect(() => splitIceServers([{}])).toThrow(/iceServers\[0\]\.urls has undefined/)
    expect(() => splitIceServers([{ urls: 'http://t.example' }])).toThrow(/iceServers\[0\]\.urls has "http:\/\/t\.example", not a stun:, stuns:, turn: or turns: URL/)
    expect(() => splitIceServers([{ urls: ['stun:s', 7] }])).toThrow(/iceServers\[0\]\.urls has 7/)
  })

  it('isTurnUrl() is true for turn: and turns: only', () => {
    expect(isTurnUrl('turn:x')).toBe(true)
    expect(isTurnUrl('turns:x')).toBe(true)
    expect(isTurnUrl('stun:x')).toBe(false)
    expect(isTurnUrl('stuns:turn.example')).toBe(false)
  })
})

describe('turnAllowed', () => {
  const withTurn = splitIceServers([TURN])
  const without = splitIceServers([{ urls: 'stun:s.example' }])

  it('turnAllowed() defaults to true when TURN servers are configured, and allowTurn: false turns it off', () => {
    expect(turnAllowed(undefined, withTurn)).toBe(true)
    expect(turnAllowed(true, withTurn)).toBe(true)
    expect(turnAllowed(false, withTurn)).toBe(false)
  })

  it('turnAllowed() is false without TURN servers, whatever allowTurn says', () => {
    expect(turnAllowed(undefined, without)).toBe(false)
    expect(turnAllowed(true, without)).toBe(false)
  })
})

describe('createMeshNode({ iceServers })', () => {
  it('createMeshNode({ iceServers }) rejects a TURN entry without credentials, naming it, before any node exists', async () => {
    await expect(createMeshNode({ iceServers: [{ urls: 'stun:s.example' }, { urls: ['turn:t.example:3478'] }] }))
      .rejects.toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/iceServers\[1\] \(turn:t\.example:3478\) is a TURN server but has no username/) }))
  })

  it('createMeshNode({ iceServers }) accepts STUN and credentialed TURN servers', async () => {
    const node = await createMeshNode({ iceServers: [{ urls: 'stun:s.example' }, TURN] })
    expect(node.peerId).toBeDefined()
  })
})
