#!/usr/bin/env node
// npm run demo:chat: a real relay node and two chat clients (@alice.aura, @bob.aura); alice calls
// bob by AuraID and they talk over a direct WebRTC connection. Runs inside the network
// namespace of scripts/netns.sh, so it works on machines whose only interface is loopback and
// sends nothing off the machine.
import { runChatDemo } from '../examples/node-chat/scripted-demo.mjs'

try {
  const { path, setupMs } = await runChatDemo({ relayArgs: ['--log-level', 'warn'] })
  console.log(`\ndemo: @alice.aura reached @bob.aura over a ${path} connection; call setup took ${setupMs} ms (one run, not a benchmark: see bench/connect.mjs)`)
  console.log('demo: to chat yourself, see examples/node-chat/README.md')
} catch (err) {
  console.error(`demo failed: ${err.message}`)
  process.exit(1)
}
