using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>
/// A scripted HTTP/2 client against a real <see cref="HboneServer"/> (plaintext, so the test controls every
/// byte): the mirror of <see cref="RawHttp2Peer"/>. The test writes exactly the frames it wants, also broken
/// ones, and reads what the server sends.
/// </summary>
internal sealed class RawHttp2Client : RawHttp2Endpoint
{
    private RawHttp2Client(HboneServer server, IAsyncDisposable listener, Socket socket)
        : base(socket)
    {
        Server = server;
        Listener = listener;
    }

    public HboneServer Server { get; }
    private IAsyncDisposable Listener { get; }

    /// <summary>Starts a plaintext server with <paramref name="handler"/> and connects to it; nothing is sent yet.</summary>
    public static async Task<RawHttp2Client> ConnectAsync(IHboneRequestHandler handler, TimeProvider? time = null)
    {
        var server = new HboneServer(handler, NullLoggerFactory.Instance, new HboneServerOptions { UseTls = false, TimeProvider = time ?? TimeProvider.System });
        await server.StartAsync();
        var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listening.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listening.Listen();
        var endPoint = (IPEndPoint)listening.LocalEndPoint!;
        var listener = server.Listeners.Add(listening, new HboneListenerInfo("raw", endPoint, null));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint).WaitAsync(Guard);
        return new RawHttp2Client(server, listener, socket);
    }

    /// <summary>Connects and sends the client preface and an empty SETTINGS, then reads the server's SETTINGS.</summary>
    public static async Task<RawHttp2Client> StartAsync(IHboneRequestHandler handler, TimeProvider? time = null)
    {
        var client = await ConnectAsync(handler, time);
        await client.WriteRawAsync(Http2FrameWriter.ClientPreface.ToArray());
        await client.WriteSettingsAsync();
        RawFrame settings = await client.ReadFrameAsync();
        settings.Type.ShouldBe(Http2FrameType.Settings);
        client.ServerSettings = settings;
        return client;
    }

    /// <summary>The server preface (its first SETTINGS), after <see cref="StartAsync"/>.</summary>
    public RawFrame? ServerSettings { get; private set; }

    /// <summary>Reads until the server closes the connection (every frame before it is skipped).</summary>
    public async Task ReadUntilClosedAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await Reader.ReadAsync(buffer).AsTask().WaitAsync(Guard) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset instead of FIN also counts as closed.
        }
    }

    /// <summary>The RST_STREAM code the server sends on <paramref name="streamId"/> (frames before it are skipped).</summary>
    public async Task<Http2ErrorCode> ReadResetAsync(int streamId) =>
        (Http2ErrorCode)(await ExpectAsync(Http2FrameType.RstStream, streamId)).ReadUInt32();

    /// <summary>The :status of the server's response HEADERS on <paramref name="streamId"/>.</summary>
    public async Task<int> ReadStatusAsync(int streamId)
    {
        RawFrame frame = await ExpectAsync(Http2FrameType.Headers, streamId);
        string status = new TestHpack().Decode(frame.Payload).Single(h => h.Name == ":status").Value;
        return int.Parse(status, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A request HEADERS frame (one block, END_HEADERS) with the given fields, literal-encoded.</summary>
    public Task WriteHeadersAsync(int streamId, IEnumerable<(string Name, string Value)> fields, bool endStream = false) =>
        WriteFrameAsync(Http2FrameType.Headers, (byte)(Http2Flags.EndHeaders | (endStream ? Http2Flags.EndStream : 0)), streamId, TestHpack.Encode(fields));

    public Task WriteConnectAsync(int streamId, string authority = "10.0.0.5:8080") =>
        WriteHeadersAsync(streamId, Connect(authority));

    public static (string, string)[] Connect(string authority = "10.0.0.5:8080") => [(":method", "CONNECT"), (":authority", authority)];

    public Task WritePingAsync(ulong opaque, bool ack = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WritePing(buffer, opaque, ack);
        return WriteRawAsync(buffer.WrittenMemory);
    }

    public static void WriteRstStream(IBufferWriter<byte> output, int streamId, Http2ErrorCode code) =>
        Http2FrameWriter.WriteRstStream(output, streamId, code);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Listener.DisposeAsync();
        await Server.DisposeAsync().AsTask().WaitAsync(Guard);
    }
}
