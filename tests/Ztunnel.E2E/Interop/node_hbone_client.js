// An independent HBONE client for interop tests: Node's built-in http2 (nghttp2) over mTLS.
// usage: node node_hbone_client.js <mode> <host> <port> <ca.pem> <cert.pem|-> <key.pem|-> <authority> [bytes]
//   mode echo:      send <bytes> random bytes, end, read everything back; report both SHA-256s.
//   mode halfclose: send "hello", end (half-close), then read what the server sends after that.
//   mode status:    send CONNECT, report the response status and stream end.
// Prints one JSON line on stdout; exits 0 unless the script itself broke.
'use strict';
const http2 = require('http2');
const crypto = require('crypto');
const fs = require('fs');

const [mode, host, port, caPath, certPath, keyPath, authority, bytesArg] = process.argv.slice(2);
const result = { mode, status: null, error: null, serverSettingsReceived: false };

let reported = false;
function finish(extra) {
  Object.assign(result, extra || {});
  reported = true;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
// A TLS alert that ends the session before it connected can leave Node with nothing to wait for and no
// 'close' event: the report is written on the way out then.
process.on('exit', () => {
  if (!reported) {
    reported = true;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
});

const tls = {
  ca: fs.readFileSync(caPath),
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ALPNProtocols: ['h2'],
  // HBONE certificates carry only a SPIFFE URI SAN, no DNS name: check the identity below instead.
  checkServerIdentity: () => undefined,
};
if (certPath !== '-') {
  tls.cert = fs.readFileSync(certPath);
  tls.key = fs.readFileSync(keyPath);
}

const session = http2.connect(`https://${host}:${port}`, tls);
// Errors are recorded; the report is written once the session has closed (after the stream, or after a
// TLS alert: with TLS 1.3 the client's handshake completes before the server refuses its certificate).
session.on('error', (err) => { result.error = result.error || err.code || err.message; });
session.on('close', () => finish());
// The server's SETTINGS arrive only if it accepted the TLS connection and started HTTP/2.
session.on('remoteSettings', () => { result.serverSettingsReceived = true; });

session.on('connect', (s, socket) => {
  socket.on('error', (err) => { result.error = result.error || err.code || err.message; });
  socket.on('close', (hadError) => { result.socketClosedWithError = hadError; });
  result.alpn = socket.alpnProtocol;
  result.tls = socket.getProtocol();
  result.serverSan = (socket.getPeerCertificate() || {}).subjectaltname || null;
  const req = session.request({
    ':method': 'CONNECT',
    ':authority': authority,
    'forwarded': 'for="127.0.0.9:4711"',
  }, { endStream: false });
  const received = [];
  req.on('response', (headers) => { result.status = headers[':status']; });
  req.on('data', (chunk) => received.push(chunk));
  req.on('error', (err) => { result.streamError = err.code || err.message; });
  req.on('close', () => {
    const body = Buffer.concat(received);
    result.rstCode = req.rstCode;
    result.receivedBytes = body.length;
    if (mode === 'echo') {
      result.receivedSha256 = crypto.createHash('sha256').update(body).digest('hex');
    } else {
      result.received = body.toString('latin1');
    }
    session.close();
  });
  req.on('end', () => { result.endStreamReceived = true; });

  if (mode === 'echo') {
    const total = parseInt(bytesArg, 10);
    const data = crypto.randomBytes(total);
    result.sentSha256 = crypto.createHash('sha256').update(data).digest('hex');
    // Write in 64 KiB pieces honouring back-pressure, then half-close.
    let offset = 0;
    const pump = () => {
      while (offset < total) {
        const piece = data.subarray(offset, Math.min(offset + 65536, total));
        offset += piece.length;
        if (!req.write(piece)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    req.once('response', pump);
  } else if (mode === 'halfclose') {
    req.once('response', () => {
      req.write('hello');
      req.end(); // END_STREAM: our half-close; the stream stays readable
    });
  }
  // mode status: nothing to send; the server answers and ends the stream.
});
