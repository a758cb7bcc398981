// An independent HBONE peer for interop tests: Node's built-in http2 server answering CONNECT over mTLS.
// The :authority picks the behaviour (host part), e.g. "echo.test:1":
//   echo       200, echoes every byte, half-closes after the client did
//   sha256     200, hashes everything received; after the client's END_STREAM writes the hex digest and ends
//   source     200, for every byte n it reads, sends n MiB (throughput benchmark)
//   sink       200, discards what it reads; one byte back per <port> MiB read (throughput benchmark)
//   greet      200, writes "hello from node" and half-closes at once; logs what the client sends afterwards
//   reset      200, resets the stream (RST_STREAM, no END_STREAM) after the first bytes arrive
//   close      200, stream.close(CANCEL) after the first bytes: END_STREAM, then RST_STREAM CANCEL
//   goaway     200, sends GOAWAY (last stream = this one) and keeps echoing this stream
//   status-NNN answers with status NNN and ends
// Events go to stdout as JSON lines: {"event":"listening","port":N} first, then per-stream events.
'use strict';
const http2 = require('http2');
const crypto = require('crypto');
const fs = require('fs');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const server = http2.createSecureServer({
  key: fs.readFileSync(args.key),
  cert: fs.readFileSync(args.cert),
  ca: fs.readFileSync(args.ca),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.3',
  allowHTTP1: false,
  maxSessionMemory: 1000,
  settings: {
    maxConcurrentStreams: Number(args['max-streams'] || 100),
    initialWindowSize: 4 * 1024 * 1024,
    maxFrameSize: 1024 * 1024 - 1,
  },
});

server.on('session', (session) => {
  // Node's default connection window is 64 KiB; raise it like a real HBONE server would.
  session.on('localSettings', () => session.setLocalWindowSize(16 * 1024 * 1024));
});

server.on('stream', (stream, headers) => {
  if (headers[':method'] !== 'CONNECT' || headers[':path'] !== undefined || headers[':scheme'] !== undefined) {
    stream.respond({ ':status': 400 }, { endStream: true });
    return;
  }
  const authority = headers[':authority'];
  const mode = authority.split(':')[0].split('.')[0];
  stream.on('error', () => {});
  stream.on('aborted', () => log({ event: 'aborted', authority }));
  if (mode.startsWith('status-')) {
    stream.respond({ ':status': Number(mode.slice(7)) }, { endStream: true });
    return;
  }
  stream.respond({ ':status': 200 });
  log({ event: 'open', authority, forwarded: headers['forwarded'] || null, session: stream.session.socket.remotePort });
  switch (mode) {
    case 'echo':
      stream.pipe(stream);
      break;
    case 'sha256': {
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      stream.on('data', (d) => { hash.update(d); bytes += d.length; });
      stream.on('end', () => stream.end(`${bytes} ${hash.digest('hex')}`));
      break;
    }
    case 'source': {
      const chunk = Buffer.alloc(64 * 1024, 7);
      stream.on('data', async (d) => {
        stream.pause();
        for (const n of d) {
          for (let i = 0; i < n * 16; i++) {
            if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
          }
        }
        stream.resume();
      });
      stream.on('end', () => stream.end());
      break;
    }
    case 'sink': {
      const every = Number(authority.split(':')[1]) * 1024 * 1024;
      let bytes = 0;
      stream.on('data', (d) => {
        bytes += d.length;
        if (bytes >= every) { bytes -= every; stream.write('k'); }
      });
      stream.on('end', () => stream.end());
      break;
    }
    case 'greet': {
      stream.end('hello from node');
      const chunks = [];
      stream.on('data', (d) => chunks.push(d));
      stream.on('end', () => log({ event: 'received', authority, data: Buffer.concat(chunks).toString() }));
      break;
    }
    case 'reset':
      stream.once('data', () => stream.destroy(new Error('reset by test')));
      break;
    case 'close':
      stream.once('data', () => stream.close(http2.constants.NGHTTP2_CANCEL));
      break;
    case 'goaway':
      stream.pipe(stream);
      stream.session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      log({ event: 'goaway', authority, lastStreamId: stream.id });
      break;
    default:
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  }
});

server.listen(0, '127.0.0.1', () => log({ event: 'listening', port: server.address().port }));
process.stdin.on('end', () => process.exit(0)); // the test closes our stdin when it is done
process.stdin.resume();
