"""An independent HBONE client for interop tests: python-h2 over mTLS (ssl module).

usage: python_hbone_client.py <host> <port> <ca.pem> <cert.pem> <key.pem> <authority> <bytes>
Sends one CONNECT, <bytes> random bytes, END_STREAM, reads everything back.
Prints one JSON line: status, sent/received SHA-256, whether END_STREAM arrived.
"""
import hashlib
import json
import os
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events

host, port, ca, cert, key, authority, count = sys.argv[1:8]
count = int(count)

ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["h2"])
# HBONE certificates carry a SPIFFE URI SAN only; no host name to match.
ctx.check_hostname = False

raw = socket.create_connection((host, int(port)))
sock = ctx.wrap_socket(raw)
result = {"alpn": sock.selected_alpn_protocol(), "tls": sock.version(), "status": None}

# h2 4.1 insists on :scheme and :path in every request it sends, but a plain CONNECT (RFC 9113 8.5)
# must not carry them: switch off its outbound header validation.
config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False)
conn = h2.connection.H2Connection(config=config)
conn.initiate_connection()
conn.increment_flow_control_window(16 * 1024 * 1024)
sock.sendall(conn.data_to_send())

stream_id = conn.get_next_available_stream_id()
conn.send_headers(stream_id, [(":method", "CONNECT"), (":authority", authority)])
sock.sendall(conn.data_to_send())

payload = os.urandom(count)
result["sentSha256"] = hashlib.sha256(payload).hexdigest()
offset = 0
ended = False
received = bytearray()
done = False

while not done:
    # Send as much as flow control allows, then END_STREAM once everything is out.
    if result["status"] == "200" and not ended:
        while offset < count:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if window <= 0:
                break
            piece = payload[offset:offset + window]
            conn.send_data(stream_id, piece)
            offset += len(piece)
        if offset == count:
            conn.end_stream(stream_id)
            ended = True
        sock.sendall(conn.data_to_send())
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            result["status"] = dict(event.headers).get(":status")
            if result["status"] != "200":
                done = True
        elif isinstance(event, h2.events.DataReceived):
            received.extend(event.data)
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            result["endStreamReceived"] = True
            done = True
        elif isinstance(event, h2.events.StreamReset):
            result["rstCode"] = int(event.error_code)
            done = True
    sock.sendall(conn.data_to_send())

result["receivedSha256"] = hashlib.sha256(bytes(received)).hexdigest()
result["receivedBytes"] = len(received)
conn.close_connection()
try:
    sock.sendall(conn.data_to_send())
    sock.close()
except OSError:
    pass
print(json.dumps(result))
