using System.Buffers;
using Ztunnel.Capture;
using Ztunnel.Hbone;
using Ztunnel.Proxy;
using Ztunnel.Tests.Hbone;

namespace Ztunnel.Tests.Proxy;

/// <summary>
/// The app side's gathered write: bytes that lie in several buffers (a received chunk spanning blocks) reach the
/// app whole and in order, also when there are more pieces than one sendmsg takes and when the app's socket is full.
/// </summary>
public sealed class SocketTunnelStreamTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteSequence_PiecesOfEveryLength_ArriveWholeAndInOrder()
    {
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var stream = new SocketTunnelStream(relayEnd);
        // More pieces than one sendmsg gathers, an empty one among them, from 1 byte to a whole block.
        int[] lengths = [9, 65_536, 0, 1, 36, 4_000, 65_500, 7, 300, 12, 65_536, 2];
        lengths.Length.ShouldBeGreaterThan(LinuxNative.MaxGatheredSegments);
        byte[] sent = Http2FlowControlTests.Pattern(lengths.Sum());

        await stream.WriteAsync(Chain(sent, lengths), CancellationToken.None).AsTask().WaitAsync(Guard);

        (await Http2StreamMoveChunkTests.ReadExactlyAsync(app, sent.Length)).ShouldBe(sent);
    }

    [Fact]
    public async Task WriteSequence_AppNotReading_CompletesOnceItReads_NothingLost()
    {
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var stream = new SocketTunnelStream(relayEnd);
        relayEnd.SendBufferSize = 4096;
        app.ReceiveBufferSize = 4096;
        // Far more than both socket buffers hold: the non-waiting sendmsg takes part, the rest must wait for the app.
        int[] lengths = [65_536, 65_536, 65_536, 65_536, 1];
        byte[] sent = Http2FlowControlTests.Pattern(lengths.Sum());

        Task write = stream.WriteAsync(Chain(sent, lengths), CancellationToken.None).AsTask();
        byte[] received = await Http2StreamMoveChunkTests.ReadExactlyAsync(app, sent.Length);

        await write.WaitAsync(Guard);
        received.ShouldBe(sent);
    }

    [Fact]
    public async Task TrySendNow_AfterTheAppResetOrTheStreamClosed_TakesNothing_AndDoesNotThrow()
    {
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        var stream = new SocketTunnelStream(relayEnd);
        var data = new ReadOnlySequence<byte>("hello"u8.ToArray());
        stream.TrySendNow(data).ShouldBe(5);
        appEnd.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        appEnd.Dispose(); // RST

        // The first send after the RST may still be taken (if the reset had not been processed yet); the second finds
        // the socket broken. The read loop calls this: it must report "nothing taken", never throw.
        stream.TrySendNow(data);
        stream.TrySendNow(data).ShouldBe(0);
        stream.Dispose();
        stream.TrySendNow(data).ShouldBe(0);
    }

    private static ReadOnlySequence<byte> Chain(byte[] bytes, int[] lengths)
    {
        var first = new Piece(bytes.AsMemory(0, lengths[0]), 0);
        Piece last = first;
        int offset = lengths[0];
        foreach (int length in lengths.Skip(1))
        {
            last = last.Append(bytes.AsMemory(offset, length));
            offset += length;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Piece : ReadOnlySequenceSegment<byte>
    {
        public Piece(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Piece Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Piece(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
