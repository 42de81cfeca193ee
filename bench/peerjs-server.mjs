// PeerJS's own signalling server (`peer`) on 127.0.0.1, in a process of its own: the server
// keeps timers it offers no way to stop, so the benchmarks kill the process instead.
// Prints "peerjs-server listening <port>".
import { PeerServer } from 'peer'

const server = PeerServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), path: '/peerjs' }, (http) => {
  console.log(`peerjs-server listening ${http.address().port}`)
})
server.on('error', (err) => { console.error(`peerjs-server: ${err.message}`); process.exit(1) })
process.on('SIGTERM', () => process.exit(0))
