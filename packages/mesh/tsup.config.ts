import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { defineConfig } from 'tsup'
import type { Plugin } from 'esbuild'
import { packageConfig } from '../../tsup.base.ts'

// `@libp2p/webrtc` is bundled into mesh's own dist (it is a devDependency here): published, it
// depends on react-native-webrtc, whose peer dependency npm 7+ installs, ~175 MB of React Native
// tooling in every app and relay that installs mesh. Bundled, its code ships with mesh and its
// other dependencies are mesh's own (package.json), so nothing pulls react-native-webrtc in.
// See docs/dependencies.md; its licence notice is THIRD-PARTY-NOTICES.md.
//
// Two builds of the main entry, chosen by the `exports` conditions: Node (`dist/index.js`, the
// node-datachannel RTCPeerConnection) and browsers and React Native (`dist/browser/index.js`,
// the global RTCPeerConnection: react-native-webrtc's registerGlobals() in React Native), built for the
// browser platform so that esbuild honours @libp2p/webrtc's `browser` field (the browser's own
// RTCPeerConnection, no node:net, no node-datachannel). The score stores are an entry of their
// own, `@auralink/mesh/reputation-store`: the file store under the node condition, the
// IndexedDB one for browsers.
const bundled = ['@libp2p/webrtc']

// In the Node build, @libp2p/webrtc's browser-to-browser code (private-to-private/) takes its
// RTCPeerConnection from src/webrtc-peer-connection.node.ts instead of its own `../webrtc/index.js`
// (node-datachannel's polyfill): the offerer is made the DTLS client, which removes the one-second
// DTLS retransmission that about half of all Node dials paid (that file says why;
// test/dtls-role.integration.test.ts shows it). The browser build keeps the browser's own.
const nodePeerConnection: Plugin = {
  name: 'auralink-node-peer-connection',
  setup (build) {
    build.onResolve({ filter: /^\.\.\/webrtc\/index\.js$/ }, (args) => {
      if (!/[\\/]@libp2p[\\/]webrtc[\\/]dist[\\/]src[\\/]private-to-private[\\/]/.test(args.importer)) return undefined
      return { path: resolve(import.meta.dirname, 'src/webrtc-peer-connection.node.ts') }
    })
  }
}

// Both builds: an upstream-style fix to @libp2p/webrtc 6.0.33's private-to-private/util.js
// (upstream's util.ts still has it). readCandidatesUntilConnected() ends on the first error, its
// own ConnectionFailedError when the peer connection becomes 'failed' or 'closed' included, and
// rethrew it only when the dial's signal was aborted; otherwise the dialler went on to wait for
// its 'init' data channel to open, which a dead peer connection never does, and the attempt ended
// at libp2p's dial timeout, 5 to 6 s later. Now it also rethrows when the peer connection is
// 'failed' or 'closed' by then, whatever the error (the other end, whose connection failed too,
// often resets the signalling stream first), so the attempt fails at once and the dialler's retry
// follows its backoff. An error while the peer connection is still connecting (the other end
// closed the signalling stream) is still left to the connection. The build fails if the code to
// change is not found (a new @libp2p/webrtc: check whether upstream fixed it, then update or drop
// this); test/bundled-webrtc.test.ts checks the built code, test/dtls-role.integration.test.ts
// the behaviour.
const SWALLOWED_FAILURE = "if (options.signal?.aborted === true && pc.connectionState !== 'connected') {"
const FAILURE_RETHROWN = "if ((options.signal?.aborted === true || pc.connectionState === 'failed' || pc.connectionState === 'closed') && pc.connectionState !== 'connected') {"
const failFastOnClosedPeerConnection: Plugin = {
  name: 'auralink-libp2p-webrtc-fail-fast',
  setup (build) {
    build.onLoad({ filter: /[\\/]@libp2p[\\/]webrtc[\\/]dist[\\/]src[\\/]private-to-private[\\/]util\.js$/ }, async (args) => {
      const code = await readFile(args.path, 'utf8')
      if (code.split(SWALLOWED_FAILURE).length !== 2) throw new Error(`${args.path}: the line that swallows a failed peer connection is not there once; see packages/mesh/tsup.config.ts`)
      return { contents: code.replace(SWALLOWED_FAILURE, FAILURE_RETHROWN), loader: 'js', resolveDir: dirname(args.path) }
    })
  }
}

// Both builds: a second upstream-style fix, to @libp2p/webrtc 6.0.33's
// private-to-private/initiate-connection.js. Once connected, the dialler waited for its 'init' data
// channel's 'open' event, then closed it and waited for 'close'. But the other end closes 'init'
// as soon as it sees it (muxer.js), and under load that close can come before this end's channel
// has fired 'open', or before this code looks: the channel goes from 'connecting' to 'closed'
// without opening, and the attempt hung until its stall limit (traced in Chromium under
// scripts/stress.sh: "wait for init channel to open" with readyState 'connecting' then a 'close',
// or readyState 'closed' already; docs/group-calls.md). A channel the other end closed proves what
// the wait was for (the association carries data channels both ways), so now the dialler waits
// for 'open' or 'close', and closes and waits only for a channel that is not closed yet. The build
// fails if the code to change is not found; test/bundled-webrtc.test.ts checks the built code.
const INIT_WAIT = `        if (channel.readyState !== 'open') {
            log.trace('wait for init channel to open');
            await pEvent(channel, 'open', {
                signal
            });
        }
        log.trace('closing init channel');
        channel.close();
        // wait for init channel to close before proceeding, otherwise the channel
        // id can be reused before both sides have seen the channel close
        log.trace('waiting for init channel to close');
        await pEvent(channel, 'close', {
            signal
        });`
const INIT_WAIT_FIXED = `        if (channel.readyState === 'connecting') {
            log.trace('wait for init channel to open (or be closed by the other end)');
            await pEvent(channel, ['open', 'close'], {
                signal
            });
        }
        // wait for init channel to close before proceeding, otherwise the channel
        // id can be reused before both sides have seen the channel close
        if (channel.readyState !== 'closed') {
            log.trace('closing init channel');
            channel.close();
            log.trace('waiting for init channel to close');
            await pEvent(channel, 'close', {
                signal
            });
        }`
const initChannelClosedEarly: Plugin = {
  name: 'auralink-libp2p-webrtc-init-channel',
  setup (build) {
    build.onLoad({ filter: /[\\/]@libp2p[\\/]webrtc[\\/]dist[\\/]src[\\/]private-to-private[\\/]initiate-connection\.js$/ }, async (args) => {
      const code = await readFile(args.path, 'utf8')
      if (code.split(INIT_WAIT).length !== 2) throw new Error(`${args.path}: the wait for the 'init' channel is not there once; see packages/mesh/tsup.config.ts`)
      return { contents: code.replace(INIT_WAIT, INIT_WAIT_FIXED), loader: 'js', resolveDir: dirname(args.path) }
    })
  }
}

export default defineConfig([
  {
    ...packageConfig(['src/index.ts', 'src/reputation/store.node.ts', 'src/reputation/store.browser.ts']),
    platform: 'node',
    noExternal: bundled,
    esbuildPlugins: [nodePeerConnection, failFastOnClosedPeerConnection, initChannelClosedEarly]
  },
  {
    ...packageConfig(['src/index.ts']),
    outDir: 'dist/browser',
    platform: 'browser',
    target: 'es2022',
    // the types are the Node build's (dist/index.d.ts): the API is the same
    dts: false,
    clean: false,
    noExternal: bundled,
    esbuildPlugins: [failFastOnClosedPeerConnection, initChannelClosedEarly]
  }
])
