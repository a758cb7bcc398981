using System.Buffers;
using BenchmarkDotNet.Attributes;
using Ztunnel.Hbone;

namespace Ztunnel.Bench;

/// <summary>
/// What the HTTP/2 read loop's input buffer costs per request/response message: one small frame read, parsed and
/// consumed, with the block kept across messages or given back to the pool before each wait (what an idle connection
/// needs to hold no block).
/// </summary>
[MemoryDiagnoser]
public class Http2InputBufferBenchmarks
{
    private readonly byte[] _message = new byte[Http2FrameHeader.Size + 64];
    private Http2InputBuffer _input = null!;

    [GlobalSetup]
    public void Setup()
    {
        new Http2FrameHeader(64, Http2FrameType.Data, Http2Flags.None, 1).Write(_message);
        _input = new Http2InputBuffer(Http2BufferPool.Shared);
    }

    [GlobalCleanup]
    public void Cleanup() => _input.Dispose();

    [Benchmark(Baseline = true)]
    public long KeepBlock() => ReceiveOne();

    [Benchmark]
    public long ReleaseBlockBeforeEachWait()
    {
        _input.ReleaseIfDrained();
        return ReceiveOne();
    }

    private long ReceiveOne()
    {
        _message.CopyTo(_input.GetReadMemory().Span);
        _input.Advance(_message.Length);
        ReadOnlySequence<byte> data = _input.Data;
        Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out _, out var payload);
        _input.Consume(data.Start);
        return payload.Length;
    }
}
