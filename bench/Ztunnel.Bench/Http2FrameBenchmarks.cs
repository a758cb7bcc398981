using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;

namespace Ztunnel.Bench;

/// <summary>
/// Receive-side cost per DATA frame: the frame codec alone, and the whole client receive path (read loop,
/// flow control, per-stream buffer, application read) over an in-memory transport. Steady state must not
/// allocate per frame.
/// </summary>
[MemoryDiagnoser]
public class Http2FrameBenchmarks
{
    private const int Frames = 64;
    private const int FramePayload = 16 * 1024;

    private ReadOnlySequence<byte> _codecInput;
    private byte[] _dataFrames = null!;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private Pipe _toClient = null!;
    private Pipe _fromClient = null!;
    private Http2ClientConnection _connection = null!;
    private TunnelStream _tunnel = null!;
    private Task _drain = Task.CompletedTask;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var frames = new ArrayBufferWriter<byte>();
        byte[] payload = new byte[FramePayload];
        byte[] padded = new byte[FramePayload];
        padded[0] = 255;
        for (int i = 0; i < Frames; i++)
        {
            if (i % 8 == 7)
            {
                Http2FrameWriter.WriteFrame(frames, Http2FrameType.Data, Http2Flags.Padded, 1, padded);
            }
            else
            {
                Http2FrameWriter.WriteData(frames, 1, payload, endStream: false);
            }
        }
        _codecInput = new ReadOnlySequence<byte>(frames.WrittenMemory);

        var plain = new ArrayBufferWriter<byte>();
        for (int i = 0; i < Frames; i++)
        {
            Http2FrameWriter.WriteData(plain, 1, payload, endStream: false);
        }
        _dataFrames = plain.WrittenSpan.ToArray();

        // One segment holds a whole operation's frames, so the benchmark's own transport does not allocate.
        _toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: 2 << 20));
        _fromClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        _drain = DrainAsync(_fromClient.Reader);
        var transport = new PipeDuplexStream(_toClient.Reader, _fromClient.Writer);
        Task<Http2ClientConnection> start = Http2ClientConnection.StartAsync(transport, new NoTimersTimeProvider(), NullLogger.Instance, CancellationToken.None);
        var server = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteSettings(server, [new(Http2SettingId.MaxFrameSize, 1 << 20)]);
        await _toClient.Writer.WriteAsync(server.WrittenMemory);
        _connection = await start;
        Task<TunnelStream> open = _connection.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        server.Clear();
        Http2FrameWriter.WriteFrame(server, Http2FrameType.Headers, Http2Flags.EndHeaders, 1, [0x88]); // :status 200
        await _toClient.Writer.WriteAsync(server.WrittenMemory);
        _tunnel = await open;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _tunnel.DisposeAsync();
        await _toClient.Writer.CompleteAsync(); // EOF to the client's read loop
        await _connection.DisposeAsync();
        await _drain;
    }

    [Benchmark(OperationsPerInvoke = Frames, Description = "codec: cut + validate + unpad one DATA frame")]
    public long ParseDataFrame()
    {
        ReadOnlySequence<byte> buffer = _codecInput;
        long total = 0;
        while (Http2FrameReader.TryReadFrame(ref buffer, 1 << 20, out var header, out var payload))
        {
            Http2FrameReader.ValidateStreamAndSize(header);
            total += Http2FrameReader.RemovePadding(header, payload).Length;
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Frames, Description = "client receive path: one 16 KiB DATA frame, transport to application")]
    public async Task ReceiveDataFrame()
    {
        await _toClient.Writer.WriteAsync(_dataFrames);
        long remaining = (long)Frames * FramePayload;
        while (remaining > 0)
        {
            remaining -= await _tunnel.ReadAsync(_readBuffer);
        }
    }

    private static async Task DrainAsync(PipeReader reader)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>The in-memory peer never answers PINGs: keepalive must not fire during a long run.</summary>
    private sealed class NoTimersTimeProvider : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverTimer();

        private sealed class NeverTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
