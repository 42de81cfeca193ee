/**
 * The RTCPeerConnection that the Node build of mesh gives libp2p's WebRTC transport: node-datachannel's
 * (libdatachannel), with one change, in which side runs the DTLS client. tsup.config.ts puts this
 * module in place of `@libp2p/webrtc`'s own `webrtc/index.js` when it bundles that package into
 * `dist/index.js`; browsers keep their own RTCPeerConnection.
 *
 * Why: a libdatachannel peer creates its DTLS transport only when its own ICE agent reports a
 * working pair. A DTLS packet that arrives before then is held and replayed when the transport
 * starts (libdatachannel 0.24.3 and later), but the replay queues it for a worker thread before the
 * transport has left its initial state, and the worker drops out without reading it when it runs
 * first (`DtlsTransport::start()` registers the receive callback before it changes state to
 * connecting; `doRecv()` returns early unless connecting). The server then answers nothing until
 * the client's DTLS retransmission timer resends its ClientHello, 1 s later (RFC 6347's initial
 * value). So a DTLS server whose ICE completes after the client's loses one second about half the
 * time. libdatachannel's logs show it: the ClientHello at `IceTransport::RecvCallback` before
 * "Changing state to connected", replayed at `DtlsTransport::start`, read only when its copy
 * arrives a second later.
 *
 * With the roles JSEP gives by default the answerer is the DTLS client (`a=setup:active`), and the
 * answerer is also the side whose ICE completes first: it has the offer and the offerer's trickled
 * candidates before the offerer has its answer, and libjuice reports "connected" at the first
 * succeeded check. So the ClientHello nearly always reached a server that was not ready yet.
 * Here the offerer is the DTLS client instead: its offer says `a=setup:active` (RFC 5763 lets an
 * offerer choose), so the answerer answers `a=setup:passive`, and its DTLS server already runs when
 * the offerer's ICE completes and its ClientHello arrives. An offer from a peer that leaves the
 * choice to us (`actpass`, as browsers send) is read as `active` for the same reason.
 *
 * Only the SDP sent or applied changes; node-datachannel's own local description keeps `actpass`
 * for an offer, which is what libdatachannel expects of itself.
 */
import { RTCIceCandidate, RTCPeerConnection as NodeRTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'
import { DTLS_CLIENT_CONFIG_KEY } from './constants.js'

export { RTCIceCandidate, RTCSessionDescription }

const SETUP_ACTPASS = /^a=setup:actpass(?=\r?$)/gm

/**
 * An offer's SDP with every `a=setup:actpass` line (RFC 4145, RFC 5763: the offerer lets the
 * answerer pick the DTLS role) made `a=setup:active`: the offerer will be the DTLS client and the
 * answerer must answer `a=setup:passive`. Other lines, and a setup the offer already fixed, stay.
 */
export function offerAsDtlsClient (sdp: string): string {
  return sdp.replace(SETUP_ACTPASS, 'a=setup:active')
}

function hasCandidates (sdp: string | undefined): sdp is string {
  return sdp !== undefined && /^a=candidate:/m.test(sdp)
}

/**
 * node-datachannel's RTCPeerConnection, in which the offerer is the DTLS client (see the module
 * comment): `createOffer()` returns an offer that says `a=setup:active`, and
 * `setRemoteDescription()` reads a remote `actpass` offer as `active`. A configuration whose
 * `auralinkDtlsClient` member is 'answerer' (`MeshNodeInit.dtlsClient`) leaves both as they are.
 */
export class RTCPeerConnection extends NodeRTCPeerConnection {
  private readonly offererIsDtlsClient: boolean

  constructor (config?: RTCConfiguration) {
    const { [DTLS_CLIENT_CONFIG_KEY]: dtlsClient, ...rest } = (config ?? {}) as RTCConfiguration & Record<string, unknown>
    super(rest)
    this.offererIsDtlsClient = dtlsClient !== 'answerer'
  }

  override async createOffer (): Promise<RTCSessionDescriptionInit> {
    const offer: RTCSessionDescriptionInit = await super.createOffer()
    if (!this.offererIsDtlsClient) return offer
    // the local description as it is now holds the candidates gathered so far (the host ones at
    // least: libjuice lists them as soon as it gathers): sent in the offer, they let the answerer's
    // ICE start checks when it applies the offer, well before we have its answer, so that its
    // DTLS server is up before our ClientHello can reach it. Later candidates trickle as before
    // (an answerer ignores the trickled copies of those it already has).
    const current = this.localDescription
    const sdp = current.type === 'offer' && hasCandidates(current.sdp) ? current.sdp : offer.sdp ?? ''
    return { type: offer.type, sdp: offerAsDtlsClient(sdp) }
  }

  override async setRemoteDescription (description: RTCSessionDescriptionInit): Promise<void> {
    if (this.offererIsDtlsClient && description.type === 'offer' && description.sdp != null) {
      description = { type: 'offer', sdp: offerAsDtlsClient(description.sdp) }
    }
    await super.setRemoteDescription(description)
  }
}
