using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// One end of a scripted HTTP/2 connection over a real loopback socket, for tests that play the peer of
/// our client (<see cref="RawHttp2Peer"/>) or of our server (<see cref="Server.RawHttp2Client"/>): writes
/// exactly the frames a test wants, also broken ones, and reads frames back.
/// </summary>
internal abstract class RawHttp2Endpoint : IAsyncDisposable
{
    protected static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    protected RawHttp2Endpoint(Socket socket)
    {
        Socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: true);
        // Buffered reads: flood tests read hundreds of thousands of small frames.
        Reader = new BufferedStream(Stream, 64 * 1024);
    }

    protected Socket Socket { get; }
    protected NetworkStream Stream { get; }
    protected BufferedStream Reader { get; }

    public async Task<RawFrame> ReadFrameAsync()
    {
        byte[] header = new byte[Http2FrameHeader.Size];
        await Reader.ReadExactlyAsync(header).AsTask().WaitAsync(Guard);
        var h = Http2FrameHeader.Read(header);
        byte[] payload = new byte[h.PayloadLength];
        await Reader.ReadExactlyAsync(payload).AsTask().WaitAsync(Guard);
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

    /// <summary>Reads until GOAWAY and returns its error code; null if the other side closed without one.</summary>
    public async Task<Http2ErrorCode?> ReadUntilGoAwayAsync()
    {
        try
        {
            RawFrame frame = await ExpectAsync(Http2FrameType.GoAway);
            return (Http2ErrorCode)frame.ReadUInt32(4);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return null;
        }
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
            await Stream.WriteAsync(bytes).AsTask().WaitAsync(Guard);
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

    public Task WriteDataAsync(int streamId, ReadOnlySpan<byte> data, bool endStream = false) =>
        WriteFrameAsync(Http2FrameType.Data, endStream ? Http2Flags.EndStream : Http2Flags.None, streamId, data);

    public Task WriteRstStreamAsync(int streamId, Http2ErrorCode code)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        return WriteFrameAsync(Http2FrameType.RstStream, 0, streamId, payload);
    }

    /// <summary>A PING round trip: once its ACK is back, the other side has processed every frame sent before it.</summary>
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

    /// <summary>
    /// An "HPACK bomb" header block after <paramref name="prefix"/>: one 4000-byte header inserted into the
    /// dynamic table (literal with incremental indexing, new name), then referenced 1000 times: 4 MB
    /// decoded from a ~5 KB block.
    /// </summary>
    public static byte[] HpackBombBlock(params byte[] prefix)
    {
        var block = new List<byte>(prefix) { 0x40, 1, (byte)'x', 0x7F };
        int length = 4000 - 127;
        while (length >= 128)
        {
            block.Add((byte)(length % 128 | 128));
            length /= 128;
        }
        block.Add((byte)length);
        block.AddRange(Enumerable.Repeat((byte)'a', 4000));
        block.AddRange(Enumerable.Repeat((byte)0xBE, 1000)); // indexed: dynamic entry 62
        return [.. block];
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Reader.DisposeAsync();
        _writeLock.Dispose();
        GC.SuppressFinalize(this);
    }
}
