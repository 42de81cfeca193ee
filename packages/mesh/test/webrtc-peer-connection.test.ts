import { RTCPeerConnection as PlainRTCPeerConnection } from 'node-datachannel/polyfill'
import { afterEach, describe, expect, it } from 'vitest'
import { DTLS_CLIENT_CONFIG_KEY } from '../src/constants.js'
import { offerAsDtlsClient, RTCPeerConnection } from '../src/webrtc-peer-connection.node.js'

// The Node build's RTCPeerConnection (src/webrtc-peer-connection.node.ts) makes the offerer the DTLS
// client. These tests use real node-datachannel peer connections but connect nothing: they read the
// descriptions each side produces. test/dtls-role.integration.test.ts dials with it.
const setup = (sdp: string | undefined): string[] => [...(sdp ?? '').matchAll(/^a=setup:(\w+)\r?$/gm)].map((m) => m[1]!)

describe('offerAsDtlsClient(sdp)', () => {
  it('turns every a=setup:actpass into a=setup:active and keeps the line endings', () => {
    const sdp = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:actpass\r\na=mid:0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:actpass\r\n'
    expect(offerAsDtlsClient(sdp)).toBe(sdp.replaceAll('a=setup:actpass', 'a=setup:active'))
    expect(offerAsDtlsClient('a=setup:actpass\na=mid:0\n')).toBe('a=setup:active\na=mid:0\n')
  })

  it('leaves a setup the offer already fixed, and lines that only contain the word, as they are', () => {
    for (const sdp of ['a=setup:passive\r\n', 'a=setup:active\r\n', 'a=x-note:a=setup:actpass\r\n', 'a=setup:actpassive\r\n', '']) {
      expect(offerAsDtlsClient(sdp)).toBe(sdp)
    }
  })
})

describe('RTCPeerConnection (Node build: the offerer is the DTLS client)', () => {
  const pcs: Array<{ close(): void }> = []
  afterEach(() => { for (const pc of pcs.splice(0)) pc.close() })
  function track<T extends { close(): void }> (pc: T): T { pcs.push(pc); return pc }

  async function offerFrom (pc: PlainRTCPeerConnection): Promise<RTCSessionDescriptionInit> {
    pc.createDataChannel('init')
    return pc.createOffer()
  }

  async function answerTo (pc: PlainRTCPeerConnection, offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
    await pc.setRemoteDescription(offer)
    return pc.createAnswer()
  }

  it('createOffer() offers a=setup:active; a plain node-datachannel answerer then answers a=setup:passive', async () => {
    const offer = await offerFrom(track(new RTCPeerConnection({ iceServers: [] })))
    expect(offer.type).toBe('offer')
    expect(setup(offer.sdp)).toEqual(['active'])
    const answer = await answerTo(track(new PlainRTCPeerConnection({ iceServers: [] })), offer)
    expect(setup(answer.sdp)).toEqual(['passive'])
  })

  it('setRemoteDescription() of an actpass offer (a browser\'s, node-datachannel\'s own) answers a=setup:passive', async () => {
    const offer = await offerFrom(track(new PlainRTCPeerConnection({ iceServers: [] })))
    expect(setup(offer.sdp)).toEqual(['actpass'])
    const answer = await answerTo(track(new RTCPeerConnection({ iceServers: [] })), offer)
    expect(setup(answer.sdp)).toEqual(['passive'])
  })

  it(`{ ${DTLS_CLIENT_CONFIG_KEY}: 'answerer' } leaves the roles as node-datachannel sets them: actpass offered, active answered`, async () => {
    const config = { iceServers: [], [DTLS_CLIENT_CONFIG_KEY]: 'answerer' } as RTCConfiguration
    const offer = await offerFrom(track(new RTCPeerConnection(config)))
    expect(setup(offer.sdp)).toEqual(['actpass'])
    const answer = await answerTo(track(new RTCPeerConnection(config)), offer)
    expect(setup(answer.sdp)).toEqual(['active'])
  })

  it('the configuration member is removed before node-datachannel sees it; the rest is kept', () => {
    const pc = track(new RTCPeerConnection({ iceServers: [], iceTransportPolicy: 'all', [DTLS_CLIENT_CONFIG_KEY]: 'answerer' } as RTCConfiguration))
    const config = pc.getConfiguration() as RTCConfiguration & Record<string, unknown>
    expect(config).not.toHaveProperty(DTLS_CLIENT_CONFIG_KEY)
    expect(config.iceTransportPolicy).toBe('all')
  })
})
