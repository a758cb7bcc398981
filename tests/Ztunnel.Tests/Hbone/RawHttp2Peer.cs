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
internal sealed class RawHttp2Peer : RawHttp2Endpoint
{
    private readonly TcpListener _listener;

    private RawHttp2Peer(TcpListener listener, Socket socket)
        : base(socket)
    {
        _listener = listener;
    }

    public Http2ClientConnection Client { get; private set; } = null!;

    /// <summary>Frames the client sent before the server SETTINGS went out (its SETTINGS and WINDOW_UPDATE).</summary>
    public List<RawFrame> ClientPrefaceFrames { get; } = [];

    public HpackDecoder Decoder { get; } = new();

    /// <summary>
    /// Starts a peer and a client connected to it. <paramref name="serverSettings"/> is the server's first
    /// SETTINGS; with <paramref name="sendSettings"/> false the test sends something else first instead.
    /// <paramref name="wrapTransport"/> puts a stream of the test's between the client and its socket.
    /// </summary>
    public static async Task<RawHttp2Peer> StartAsync(
        Http2Setting[]? serverSettings = null, TimeProvider? time = null, bool sendSettings = true, Func<Stream, Stream>? wrapTransport = null)
    {
        var (peer, clientStream) = await CreatePairAsync();
        if (wrapTransport is not null)
        {
            clientStream = wrapTransport(clientStream);
        }
        Task<Http2ClientConnection> start = Http2ClientConnection.StartAsync(clientStream, time ?? TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        await peer.ReadClientPrefaceAsync();
        if (!sendSettings)
        {
            peer._pendingStart = start;
            return peer;
        }
        await peer.WriteSettingsAsync(serverSettings ?? []);
        peer.Client = await start.WaitAsync(Guard);
        return peer;
    }

    /// <summary>A peer and the client end of its socket, for a dialer: the caller starts the client on it.</summary>
    public static async Task<(RawHttp2Peer Peer, Stream ClientStream)> CreatePairAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        Socket serverSocket = await listener.AcceptSocketAsync();
        serverSocket.NoDelay = true;
        return (new RawHttp2Peer(listener, serverSocket), new NetworkStream(clientSocket, ownsSocket: true));
    }

    /// <summary>The server half of the handshake: reads the client preface, SETTINGS and WINDOW_UPDATE, sends our SETTINGS.</summary>
    public async Task HandshakeAsync(params Http2Setting[] settings)
    {
        await ReadClientPrefaceAsync();
        await WriteSettingsAsync(settings);
    }

    /// <summary>For dialers: the handshake runs in the background; await <see cref="Handshake"/> before reading frames.</summary>
    public void StartHandshake(params Http2Setting[] settings) => Handshake = HandshakeAsync(settings);

    public Task Handshake { get; private set; } = Task.CompletedTask;

    private async Task ReadClientPrefaceAsync()
    {
        byte[] preface = new byte[24];
        await Reader.ReadExactlyAsync(preface).AsTask().WaitAsync(Guard);
        preface.AsSpan().SequenceEqual(Http2FrameWriter.ClientPreface).ShouldBeTrue("client preface");
        ClientPrefaceFrames.Add(await ReadFrameAsync());
        ClientPrefaceFrames.Add(await ReadFrameAsync());
    }

    private Task<Http2ClientConnection>? _pendingStart;

    /// <summary>For peers started without SETTINGS: the client's StartAsync.</summary>
    public Task<Http2ClientConnection> PendingStart => _pendingStart!;

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

    public Task RespondAsync(int streamId, int status, bool endStream = false)
    {
        var block = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(status, block);
        return WriteFrameAsync(Http2FrameType.Headers, (byte)(Http2Flags.EndHeaders | (endStream ? Http2Flags.EndStream : 0)), streamId, block.WrittenSpan);
    }

    public Task WriteWindowUpdateAsync(int streamId, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        return WriteFrameAsync(Http2FrameType.WindowUpdate, 0, streamId, payload);
    }

    public Task WriteGoAwayAsync(int lastStreamId, Http2ErrorCode code)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteGoAway(buffer, lastStreamId, code, default);
        return WriteRawAsync(buffer.WrittenMemory);
    }

    /// <summary>Opens a CONNECT from the client and answers it with 200; returns the tunnel and its stream id.</summary>
    public async Task<(TunnelStream Tunnel, int StreamId)> OpenTunnelAsync(string authority = "10.0.0.1:80")
    {
        Task<TunnelStream> open = Client.OpenConnectAsync(authority, null, CancellationToken.None);
        var (id, _, _) = await ReadRequestAsync();
        await RespondAsync(id, 200);
        return (await open.WaitAsync(Guard), id);
    }

    public void Close() => Socket.Shutdown(SocketShutdown.Both);

    public override async ValueTask DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        await base.DisposeAsync();
        _listener.Stop();
        _listener.Dispose();
    }

    private sealed class ListSink : IHeaderSink
    {
        public List<(string, string)> Headers { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
            Headers.Add((System.Text.Encoding.ASCII.GetString(name), System.Text.Encoding.ASCII.GetString(value)));
    }
}
