using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>
/// A small HTTP/2 client (RFC 9113) written for these tests only, so the server is tested against frames
/// we can see: plain CONNECT, DATA with END_STREAM, RST_STREAM, flow control, GOAWAY.
/// </summary>
internal sealed class TestH2Client : IAsyncDisposable
{
    private const int OurWindow = 16 * 1024 * 1024;
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Stream _transport;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TestHpack _hpack = new();
    private readonly Dictionary<int, TestH2Stream> _streams = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource<(int LastStreamId, int ErrorCode)> _goAway = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextStreamId = 1;
    private long _connectionSendWindow = 65535;
    private int _peerInitialWindow = 65535;
    private int _peerMaxFrame = 16384;
    private Task _readLoop = Task.CompletedTask;
    private bool _writeClosed; // read loop only
    private int _lastGoAwayStreamId = -1; // read loop only; the latest GOAWAY's

    private TestH2Client(Stream transport) => _transport = transport;

    /// <summary>Completes when the server closed the connection (or it broke).</summary>
    public Task Closed => _readLoop;

    public Task<(int LastStreamId, int ErrorCode)> GoAway => _goAway.Task;

    public static async Task<TestH2Client> ConnectAsync(IPEndPoint server, SslClientAuthenticationOptions? tls)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server);
        Stream transport = new NetworkStream(socket, ownsSocket: true);
        if (tls is not null)
        {
            var ssl = new SslStream(transport);
            try
            {
                await ssl.AuthenticateAsClientAsync(tls);
            }
            catch
            {
                await ssl.DisposeAsync();
                throw;
            }
            transport = ssl;
        }
        var client = new TestH2Client(transport);
        await client.StartAsync();
        return client;
    }

    private async Task StartAsync()
    {
        var settings = new byte[12];
        WriteSetting(settings.AsSpan(0), 0x2, 0);          // ENABLE_PUSH off
        WriteSetting(settings.AsSpan(6), 0x4, OurWindow);  // INITIAL_WINDOW_SIZE
        await _writeLock.WaitAsync();
        try
        {
            await _transport.WriteAsync(Preface);
            await WriteFrameUnlockedAsync(0x4, 0, 0, settings);
            await WriteFrameUnlockedAsync(0x8, 0, 0, WindowIncrement(OurWindow - 65535));
            await _transport.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>A plain CONNECT (RFC 9113 §8.5): :method and :authority only, plus <paramref name="extra"/>.</summary>
    public Task<TestH2Stream> ConnectAsync(string authority, params (string, string)[] extra) =>
        OpenAsync([(":method", "CONNECT"), (":authority", authority), .. extra], endStream: false);

    public async Task<TestH2Stream> OpenAsync(IEnumerable<(string, string)> headers, bool endStream)
    {
        byte[] block = TestHpack.Encode(headers);
        await _writeLock.WaitAsync();
        try
        {
            TestH2Stream stream;
            lock (_lock)
            {
                stream = new TestH2Stream(this, _nextStreamId, _peerInitialWindow);
                _nextStreamId += 2;
                _streams[stream.Id] = stream;
            }
            // END_HEADERS (0x4), END_STREAM (0x1)
            await WriteFrameUnlockedAsync(0x1, (byte)(0x4 | (endStream ? 0x1 : 0)), stream.Id, block);
            await _transport.FlushAsync();
            return stream;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal async Task SendDataAsync(TestH2Stream stream, ReadOnlyMemory<byte> data, bool endStream)
    {
        while (!data.IsEmpty)
        {
            int chunk = await TakeWindowAsync(stream, Math.Min(data.Length, _peerMaxFrame));
            bool last = endStream && chunk == data.Length;
            await WriteFrameAsync(0x0, (byte)(last ? 0x1 : 0), stream.Id, data[..chunk]);
            data = data[chunk..];
            if (last)
            {
                return;
            }
        }
        if (endStream)
        {
            await WriteFrameAsync(0x0, 0x1, stream.Id, ReadOnlyMemory<byte>.Empty);
        }
    }

    internal Task ResetAsync(TestH2Stream stream, int errorCode)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, errorCode);
        return WriteFrameAsync(0x3, 0, stream.Id, payload);
    }

    private async Task<int> TakeWindowAsync(TestH2Stream stream, int wanted)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                long available = Math.Min(_connectionSendWindow, stream.SendWindow);
                if (available > 0)
                {
                    int take = (int)Math.Min(available, wanted);
                    _connectionSendWindow -= take;
                    stream.SendWindow -= take;
                    return take;
                }
                changed = _windowChanged.Task;
            }
            await changed.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private void SignalWindow()
    {
        TaskCompletionSource old;
        lock (_lock)
        {
            old = _windowChanged;
            _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        old.TrySetResult();
    }

    private async Task WriteFrameAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
    {
        await _writeLock.WaitAsync();
        try
        {
            await WriteFrameUnlockedAsync(type, flags, streamId, payload);
            await _transport.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// A frame the read loop sends in answer to one it read (WINDOW_UPDATE, SETTINGS and PING ACK). After
    /// its GOAWAY the server closes the connection once its last stream ended (RFC 9113 §6.8), so the
    /// answer to the last DATA frames can meet a closed socket; the frames already received must still
    /// reach the test, so the read loop goes on.
    /// </summary>
    private async Task ReplyAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
    {
        if (_writeClosed)
        {
            return;
        }
        try
        {
            await WriteFrameAsync(type, flags, streamId, payload);
        }
        catch (IOException)
        {
            _writeClosed = true;
        }
    }

    private async Task WriteFrameUnlockedAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
    {
        var header = new byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(5), streamId);
        await _transport.WriteAsync(header);
        if (!payload.IsEmpty)
        {
            await _transport.WriteAsync(payload);
        }
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                await _transport.ReadExactlyAsync(header);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                byte type = header[3];
                byte flags = header[4];
                int streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF;
                var payload = new byte[length];
                await _transport.ReadExactlyAsync(payload);
                await OnFrameAsync(type, flags, streamId, payload);
                if (DoneAfterGoAway())
                {
                    // Like real clients: the server's final GOAWAY came and every stream ended, so nothing
                    // more can happen on this connection; close it (the server lingers until we do).
                    await _transport.DisposeAsync();
                    return;
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            TestH2Stream[] open;
            lock (_lock)
            {
                open = [.. _streams.Values];
            }
            foreach (var stream in open)
            {
                stream.OnConnectionClosed();
            }
            _goAway.TrySetResult((-1, -1));
            SignalWindow();
        }
    }

    private bool DoneAfterGoAway()
    {
        // A graceful shutdown's first GOAWAY carries 2^31-1 (RFC 9113 §6.8); only the final one names the last stream.
        if (_lastGoAwayStreamId is -1 or int.MaxValue)
        {
            return false;
        }
        lock (_lock)
        {
            foreach (var stream in _streams.Values)
            {
                if (!stream.EndStreamReceived && !stream.Reset.IsCompleted)
                {
                    return false;
                }
            }
        }
        return true;
    }

    private async Task OnFrameAsync(byte type, byte flags, int streamId, byte[] payload)
    {
        TestH2Stream? stream;
        lock (_lock)
        {
            _streams.TryGetValue(streamId, out stream);
        }
        bool endStream = (flags & 0x1) != 0;
        switch (type)
        {
            case 0x0: // DATA
                if (payload.Length > 0)
                {
                    // Give the credit straight back: the test buffers everything it receives.
                    await ReplyAsync(0x8, 0, 0, WindowIncrement(payload.Length));
                    if (!endStream)
                    {
                        await ReplyAsync(0x8, 0, streamId, WindowIncrement(payload.Length));
                    }
                }
                stream?.OnData(Unpad(flags, payload), endStream);
                break;
            case 0x1: // HEADERS
                if ((flags & 0x4) == 0)
                {
                    throw new NotSupportedException("test client does not do CONTINUATION");
                }
                var block = Unpad(flags, payload);
                if ((flags & 0x20) != 0)
                {
                    block = block[5..]; // PRIORITY
                }
                stream?.OnHeaders(_hpack.Decode(block), endStream);
                break;
            case 0x3: // RST_STREAM
                stream?.OnReset(BinaryPrimitives.ReadInt32BigEndian(payload));
                break;
            case 0x4: // SETTINGS
                if ((flags & 0x1) == 0)
                {
                    OnSettings(payload);
                    await ReplyAsync(0x4, 0x1, 0, ReadOnlyMemory<byte>.Empty);
                }
                break;
            case 0x6: // PING
                if ((flags & 0x1) == 0)
                {
                    await ReplyAsync(0x6, 0x1, 0, payload);
                }
                break;
            case 0x7: // GOAWAY
                _lastGoAwayStreamId = BinaryPrimitives.ReadInt32BigEndian(payload) & 0x7FFFFFFF;
                _goAway.TrySetResult((_lastGoAwayStreamId, BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4))));
                break;
            case 0x8: // WINDOW_UPDATE
                int increment = BinaryPrimitives.ReadInt32BigEndian(payload) & 0x7FFFFFFF;
                lock (_lock)
                {
                    if (streamId == 0)
                    {
                        _connectionSendWindow += increment;
                    }
                    else if (stream is not null)
                    {
                        stream.SendWindow += increment;
                    }
                }
                SignalWindow();
                break;
        }
    }

    private void OnSettings(byte[] payload)
    {
        for (int i = 0; i + 6 <= payload.Length; i += 6)
        {
            int id = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i));
            int value = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(i + 2));
            lock (_lock)
            {
                if (id == 0x4)
                {
                    int delta = value - _peerInitialWindow;
                    _peerInitialWindow = value;
                    foreach (var s in _streams.Values)
                    {
                        s.SendWindow += delta;
                    }
                }
                else if (id == 0x5)
                {
                    _peerMaxFrame = value;
                }
            }
        }
        SignalWindow();
    }

    private static byte[] Unpad(byte flags, byte[] payload)
    {
        if ((flags & 0x8) == 0)
        {
            return payload;
        }
        int pad = payload[0];
        return payload[1..^pad];
    }

    private static void WriteSetting(Span<byte> to, ushort id, int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(to, id);
        BinaryPrimitives.WriteInt32BigEndian(to[2..], value);
    }

    private static byte[] WindowIncrement(int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment);
        return payload;
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync();
        try
        {
            await _readLoop.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is not TimeoutException)
        {
        }
        _writeLock.Dispose();
    }
}
