"""An independent HBONE peer for interop tests: python-h2 (strict RFC 9113 state machine) answering
CONNECT over mTLS with asyncio. Same :authority modes and stdout JSON events as h2-connect-server.js:
echo, sha256, reset, status-NNN."""
import asyncio
import hashlib
import json
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

ARGS = dict(a[2:].split('=', 1) for a in sys.argv[1:])


def log(**event):
    sys.stdout.write(json.dumps(event) + '\n')
    sys.stdout.flush()


class Stream:
    def __init__(self, mode, authority):
        self.mode = mode
        self.authority = authority
        self.pending = bytearray()   # echo data waiting for flow-control window
        self.ended = False           # client sent END_STREAM
        self.closed = False
        self.hash = hashlib.sha256()
        self.bytes = 0


class Http2Server(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        # python-h2 4.1 insists on :path and :scheme in every request, also in a plain CONNECT where
        # RFC 9113 §8.5 forbids them; so its inbound header validation is off and handle() checks the
        # CONNECT shape itself. Frame-level and flow-control checks stay on.
        config = h2.config.H2Configuration(client_side=False, header_encoding='utf-8', validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        # update_settings sends them (assigning local_settings before initiate_connection would not).
        self.conn.update_settings({
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 4 * 1024 * 1024,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: 1024 * 1024,
        })
        self.conn.increment_flow_control_window(16 * 1024 * 1024 - 65535)
        self.streams = {}
        self.transport.write(self.conn.data_to_send())

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except Exception as e:  # a protocol error or a bug: report it, answer what h2 queued (GOAWAY), close
            log(event='protocol-error', error=repr(e))
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        try:
            for ev in events:
                self.handle(ev)
            self.flush()
        except Exception as e:
            log(event='protocol-error', error=repr(e))
        self.transport.write(self.conn.data_to_send())

    def handle(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            headers = dict(ev.headers)
            authority = headers.get(':authority', '')
            if headers.get(':method') != 'CONNECT' or ':path' in headers or ':scheme' in headers:
                self.conn.send_headers(ev.stream_id, [(':status', '400')], end_stream=True)
                return
            mode = authority.split(':')[0].split('.')[0]
            if mode.startswith('status-'):
                self.conn.send_headers(ev.stream_id, [(':status', mode[7:])], end_stream=True)
                return
            self.streams[ev.stream_id] = Stream(mode, authority)
            self.conn.send_headers(ev.stream_id, [(':status', '200')])
            log(event='open', authority=authority, forwarded=headers.get('forwarded'))
        elif isinstance(ev, h2.events.DataReceived):
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            s = self.streams.get(ev.stream_id)
            if s is None:
                return
            if s.mode == 'echo':
                s.pending += ev.data
            elif s.mode == 'sha256':
                s.hash.update(ev.data)
                s.bytes += len(ev.data)
            elif s.mode == 'reset' and not s.closed:
                s.closed = True
                self.conn.reset_stream(ev.stream_id, error_code=8)
        elif isinstance(ev, h2.events.StreamEnded):
            s = self.streams.get(ev.stream_id)
            if s is None:
                return
            s.ended = True
            if s.mode == 'sha256':
                s.pending += f'{s.bytes} {s.hash.hexdigest()}'.encode()
        elif isinstance(ev, h2.events.StreamReset):
            s = self.streams.pop(ev.stream_id, None)
            if s is not None:
                log(event='aborted', authority=s.authority)

    def flush(self):
        for sid, s in list(self.streams.items()):
            if s.closed:
                continue
            while s.pending:
                n = min(len(s.pending), self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
                if n <= 0:
                    break
                self.conn.send_data(sid, bytes(s.pending[:n]))
                del s.pending[:n]
            if s.ended and not s.pending:
                self.conn.end_stream(sid)
                s.closed = True


async def main():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(ARGS['cert'], ARGS['key'])
    context.load_verify_locations(ARGS['ca'])
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(['h2'])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http2Server, '127.0.0.1', 0, ssl=context)
    log(event='listening', port=server.sockets[0].getsockname()[1])
    # The test closes our stdin when it is done.
    await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
