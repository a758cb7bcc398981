using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone;

/// <summary>A frame as the raw peer saw it.</summary>
internal sealed record RawFrame(Http2FrameHeader Header, byte[] Payload)
{
    public Http2FrameType Type => Header.Type;
    public int StreamId => Header.StreamId;
    public uint ReadUInt32(int offset = 0) => BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(offset));
}

/// <summary>
/// A scripted HTTP/2 server over a real loopback TCP socket: the test writes exactly the frames it wants
/// (also broken ones) and reads what our client sends. Plaintext: the client takes any Stream.
/// </summary>
internal sealed class RawHttp2Peer : IAsyncDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly TcpListener _listener;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private RawHttp2Peer(TcpListener listener, Socket socket)
    {
        _listener = listener;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public Http2ClientConnection Client { get; private set; } = null!;

    /// <summary>Frames the client sent before the server SETTINGS went out (its SETTINGS and WINDOW_UPDATE).</summary>
    public List<RawFrame> ClientPrefaceFrames { get; } = [];

    public HpackDecoder Decoder { get; } = new();

    /// <summary>
    /// Starts a peer and a client connected to it. <paramref name="serverSettings"/> is the server's first
    /// SETTINGS; <paramref name="beforeSettings"/> lets a test send something else first instead.
    /// </summary>
    public static async Task<RawHttp2Peer> StartAsync(Http2Setting[]? serverSettings = null, TimeProvider? time = null, bool sendSettings = true)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        Socket serverSocket = await listener.AcceptSocketAsync();
        serverSocket.NoDelay = true;
        var peer = new RawHttp2Peer(listener, serverSocket);
        Task<Http2ClientConnection> start = Http2ClientConnection.StartAsync(
            new NetworkStream(clientSocket, ownsSocket: true), time ?? TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        byte[] preface = new byte[24];
        await peer._stream.ReadExactlyAsync(preface).AsTask().WaitAsync(Guard);
        preface.AsSpan().SequenceEqual(Http2FrameWriter.ClientPreface).ShouldBeTrue("client preface");
        peer.ClientPrefaceFrames.Add(await peer.ReadFrameAsync());
        peer.ClientPrefaceFrames.Add(await peer.ReadFrameAsync());
        if (!sendSettings)
        {
            peer._pendingStart = start;
            return peer;
        }
        await peer.WriteSettingsAsync(serverSettings ?? []);
        peer.Client = await start.WaitAsync(Guard);
        return peer;
    }

    private Task<Http2ClientConnection>? _pendingStart;

    /// <summary>For peers started without SETTINGS: the client's StartAsync.</summary>
    public Task<Http2ClientConnection> PendingStart => _pendingStart!;

    public async Task<RawFrame> ReadFrameAsync()
    {
        byte[] header = new byte[Http2FrameHeader.Size];
        await _stream.ReadExactlyAsync(header).AsTask().WaitAsync(Guard);
        var h = Http2FrameHeader.Read(header);
        byte[] payload = new byte[h.PayloadLength];
        await _stream.ReadExactlyAsync(payload).AsTask().WaitAsync(Guard);
        return new RawFrame(h, payload);
    }

    /// <summary>The next frame of <paramref name="type"/> (on <paramref name="streamId"/> if given), skipping others.</summary>
    public async Task<RawFrame> ExpectAsync(Http2FrameType type, int? streamId = null)
    {
        while (true)
        {
            RawFrame frame = await ReadFrameAsync();
            if (frame.Type == type && (streamId is null || frame.StreamId == streamId))
            {
                return frame;
            }
        }
    }

    /// <summary>Reads until GOAWAY and returns its error code; null if the client closed without one.</summary>
    public async Task<Http2ErrorCode?> ReadUntilGoAwayAsync()
    {
        try
        {
            RawFrame frame = await ExpectAsync(Http2FrameType.GoAway);
            return (Http2ErrorCode)frame.ReadUInt32(4);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads the client's next HEADERS block and decodes it.</summary>
    public async Task<(int StreamId, List<(string Name, string Value)> Headers, RawFrame Frame)> ReadRequestAsync()
    {
        RawFrame frame = await ExpectAsync(Http2FrameType.Headers);
        var block = new List<byte>(frame.Payload);
        while (!frame.Header.HasFlag(Http2Flags.EndHeaders))
        {
            frame = await ExpectAsync(Http2FrameType.Continuation);
            block.AddRange(frame.Payload);
        }
        var sink = new ListSink();
        Decoder.Decode(block.ToArray(), sink);
        return (frame.StreamId, sink.Headers, frame);
    }

    public Task WriteFrameAsync(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteFrame(buffer, type, flags, streamId, payload);
        return WriteRawAsync(buffer.WrittenMemory);
    }

    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes).AsTask().WaitAsync(Guard);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task WriteSettingsAsync(params Http2Setting[] settings)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteSettings(buffer, settings);
        return WriteRawAsync(buffer.WrittenMemory);
    }

    public Task RespondAsync(int streamId, int status, bool endStream = false)
    {
        var block = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(status, block);
        return WriteFrameAsync(Http2FrameType.Headers, (byte)(Http2Flags.EndHeaders | (endStream ? Http2Flags.EndStream : 0)), streamId, block.WrittenSpan);
    }

    public Task WriteDataAsync(int streamId, ReadOnlySpan<byte> data, bool endStream = false) =>
        WriteFrameAsync(Http2FrameType.Data, endStream ? Http2Flags.EndStream : Http2Flags.None, streamId, data);

    public Task WriteWindowUpdateAsync(int streamId, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        return WriteFrameAsync(Http2FrameType.WindowUpdate, 0, streamId, payload);
    }

    public Task WriteRstStreamAsync(int streamId, Http2ErrorCode code)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        return WriteFrameAsync(Http2FrameType.RstStream, 0, streamId, payload);
    }

    public Task WriteGoAwayAsync(int lastStreamId, Http2ErrorCode code)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteGoAway(buffer, lastStreamId, code, default);
        return WriteRawAsync(buffer.WrittenMemory);
    }

    /// <summary>A PING round trip: once its ACK is back, the client has processed every frame sent before it.</summary>
    public async Task SyncAsync(ulong opaque = 0x5E5E)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WritePing(buffer, opaque, ack: false);
        await WriteRawAsync(buffer.WrittenMemory);
        while (true)
        {
            RawFrame frame = await ExpectAsync(Http2FrameType.Ping);
            if (frame.Header.HasFlag(Http2Flags.Ack) && BinaryPrimitives.ReadUInt64BigEndian(frame.Payload) == opaque)
            {
                return;
            }
        }
    }

    /// <summary>Opens a CONNECT from the client and answers it with 200; returns the tunnel and its stream id.</summary>
    public async Task<(TunnelStream Tunnel, int StreamId)> OpenTunnelAsync(string authority = "10.0.0.1:80")
    {
        Task<TunnelStream> open = Client.OpenConnectAsync(authority, null, CancellationToken.None);
        var (id, _, _) = await ReadRequestAsync();
        await RespondAsync(id, 200);
        return (await open.WaitAsync(Guard), id);
    }

    public void Close() => _socket.Shutdown(SocketShutdown.Both);

    public async ValueTask DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        await _stream.DisposeAsync();
        _listener.Stop();
        _listener.Dispose();
        _writeLock.Dispose();
    }

    private sealed class ListSink : IHeaderSink
    {
        public List<(string, string)> Headers { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
            Headers.Add((System.Text.Encoding.ASCII.GetString(name), System.Text.Encoding.ASCII.GetString(value)));
    }
}
