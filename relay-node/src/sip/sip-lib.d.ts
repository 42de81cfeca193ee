// The part of the `sip` package (kirm/sip.js, CommonJS, no types of its own) that the SIP gateway
// uses: its message objects, the stack from create(), and digest signing.
declare module 'sip' {
  export interface SipUri {
    schema: string
    user?: string
    password?: string
    host: string
    port?: number
    params: Record<string, string | undefined>
    headers: Record<string, string>
  }
  export interface SipNameAddr {
    name?: string
    uri: string
    params: Record<string, string | undefined>
  }
  export interface SipMessage {
    method?: string
    uri?: string
    status?: number
    reason?: string
    version?: string
    headers: {
      via?: Array<{ version?: string, protocol?: string, host?: string, port?: number, params: Record<string, string | undefined> }>
      to?: SipNameAddr
      from?: SipNameAddr
      'call-id'?: string
      cseq?: { seq: number, method: string }
      contact?: SipNameAddr[] | '*'
      'content-type'?: string
      'max-forwards'?: number
      route?: SipNameAddr[]
      'record-route'?: SipNameAddr[]
      [header: string]: unknown
    }
    content?: string
  }
  export interface SipRemote { protocol: string, address: string, port: number, local?: { address: string, port: number } }
  export interface SipStackOptions {
    address?: string
    port?: number
    udp?: boolean
    tcp?: boolean
    publicAddress?: string
    hostname?: string
    maxBytesHeaders?: number
    maxContentLength?: number
    logger?: { send?: (m: SipMessage, target: SipRemote) => void, recv?: (m: SipMessage, remote: SipRemote) => void, error?: (e: unknown) => void }
  }
  export interface SipStack {
    send(m: SipMessage, callback?: (rs: SipMessage) => void): void
    destroy(): void
    hostname(): string
    /** A URI on this stack's host whose user part names `flow` (signed): a request routed to it goes to that address. */
    encodeFlowUri(flow: { protocol: string, address: string, port: number, local: { address: string, port: number } }): SipUri
  }
  export function create (options: SipStackOptions, onRequest: (rq: SipMessage, remote: SipRemote) => void): SipStack
  export function makeResponse (rq: SipMessage, status: number, reason?: string): SipMessage
  export function parseUri (s: string): SipUri | undefined
  export function stringifyUri (u: SipUri | string): string
  export function generateBranch (): string
  const sip: {
    create: typeof create
    makeResponse: typeof makeResponse
    parseUri: typeof parseUri
    stringifyUri: typeof stringifyUri
    generateBranch: typeof generateBranch
  }
  export default sip
}

declare module 'sip/digest.js' {
  import type { SipMessage } from 'sip'
  export function signRequest (ctx: object | null, rq: SipMessage, rs: SipMessage, creds: { user: string, password: string }): object | null
  const digest: { signRequest: typeof signRequest }
  export default digest
}
