// Echo server for N1-N3 of WORKLOADS.md on Node.js:
//
//   node node_echo.js [--listen HOST:PORT]
//
// net.createServer with noDelay, and socket.on('data', d => socket.write(d)):
// no pause on backpressure, as specified. It prints "listening on HOST:PORT"
// first and serves until SIGINT or SIGTERM, then exits 0.
'use strict';
const net = require('net');

let listen = '127.0.0.1:0';
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--listen' && i + 1 < args.length) {
    listen = args[++i];
  } else {
    console.error(`usage: node node_echo.js [--listen HOST:PORT]; got ${args[i]}`);
    process.exit(2);
  }
}
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (d) => socket.write(d));
  socket.on('error', () => {}); // a reset by the client only ends this socket
});
server.listen({ host, port, backlog: 4096 }, () => {
  const a = server.address();
  console.log(`listening on ${a.address}:${a.port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
