using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2FrameCodecTests
{
    [Fact]
    public void FrameHeader_RoundTrips_AndIgnoresReservedBit()
    {
        Span<byte> bytes = stackalloc byte[9];
        new Http2FrameHeader(0xABCDEF, Http2FrameType.Headers, 0x25, 0x7FFF_FFFF).Write(bytes);
        Http2FrameHeader.Read(bytes).ShouldBe(new Http2FrameHeader(0xABCDEF, Http2FrameType.Headers, 0x25, 0x7FFF_FFFF));
        bytes[5] |= 0x80; // reserved bit set by a sloppy peer
        Http2FrameHeader.Read(bytes).StreamId.ShouldBe(0x7FFF_FFFF);
    }

    [Fact]
    public void EveryFrameWriter_ProducesAFrameTheReaderParses()
    {
        var output = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteData(output, 1, "hello"u8, endStream: true);
        Http2FrameWriter.WriteSettings(output, [new(Http2SettingId.MaxFrameSize, 1 << 20), new(Http2SettingId.EnablePush, 0)]);
        Http2FrameWriter.WriteSettingsAck(output);
        Http2FrameWriter.WritePing(output, 0x0102030405060708, ack: true);
        Http2FrameWriter.WriteGoAway(output, 7, Http2ErrorCode.EnhanceYourCalm, "bye"u8);
        Http2FrameWriter.WriteRstStream(output, 3, Http2ErrorCode.Cancel);
        Http2FrameWriter.WriteWindowUpdate(output, 0, 12345);

        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        var frames = new List<(Http2FrameHeader Header, byte[] Payload)>();
        while (Http2FrameReader.TryReadFrame(ref buffer, 1 << 20, out var header, out var payload))
        {
            Http2FrameReader.ValidateStreamAndSize(header);
            frames.Add((header, payload.ToArray()));
        }
        buffer.Length.ShouldBe(0);
        frames.Select(f => f.Header.Type).ShouldBe([Http2FrameType.Data, Http2FrameType.Settings, Http2FrameType.Settings,
            Http2FrameType.Ping, Http2FrameType.GoAway, Http2FrameType.RstStream, Http2FrameType.WindowUpdate]);
        frames[0].Payload.ShouldBe("hello"u8.ToArray());
        frames[0].Header.HasFlag(Http2Flags.EndStream).ShouldBeTrue();
        var settings = new ReadOnlySequence<byte>(frames[1].Payload);
        Http2FrameReader.ReadSetting(settings, 0).ShouldBe(new Http2Setting(Http2SettingId.MaxFrameSize, 1 << 20));
        Http2FrameReader.ReadSetting(settings, 1).ShouldBe(new Http2Setting(Http2SettingId.EnablePush, 0));
        frames[2].Header.HasFlag(Http2Flags.Ack).ShouldBeTrue();
        Http2FrameReader.ReadUInt64(new ReadOnlySequence<byte>(frames[3].Payload)).ShouldBe(0x0102030405060708UL);
        Http2FrameReader.ReadUInt32(new ReadOnlySequence<byte>(frames[4].Payload)).ShouldBe(7u);
        Http2FrameReader.ReadUInt32(new ReadOnlySequence<byte>(frames[4].Payload).Slice(4)).ShouldBe((uint)Http2ErrorCode.EnhanceYourCalm);
        frames[4].Payload[8..].ShouldBe("bye"u8.ToArray());
        Http2FrameReader.ReadUInt32(new ReadOnlySequence<byte>(frames[5].Payload)).ShouldBe((uint)Http2ErrorCode.Cancel);
        Http2FrameReader.ReadWindowIncrement(new ReadOnlySequence<byte>(frames[6].Payload)).ShouldBe(12345);
    }

    [Fact]
    public void WriteHeaders_LargerThanMaxFrame_SplitsIntoContinuation()
    {
        var output = new ArrayBufferWriter<byte>();
        byte[] block = Enumerable.Range(0, 40000).Select(i => (byte)i).ToArray();
        Http2FrameWriter.WriteHeaders(output, 5, block, endStream: false, maxFrameSize: 16384);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        var frames = new List<(Http2FrameHeader Header, byte[] Payload)>();
        while (Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out var payload))
        {
            frames.Add((header, payload.ToArray()));
        }
        frames.Select(f => f.Header.Type).ShouldBe([Http2FrameType.Headers, Http2FrameType.Continuation, Http2FrameType.Continuation]);
        frames.Select(f => f.Header.HasFlag(Http2Flags.EndHeaders)).ShouldBe([false, false, true]);
        frames.SelectMany(f => f.Payload).ToArray().ShouldBe(block);
    }

    [Fact]
    public void TryReadFrame_SplitAcrossSegments_WaitsForTheWholeFrame()
    {
        var output = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteData(output, 1, new byte[100], endStream: false);
        byte[] bytes = output.WrittenSpan.ToArray();
        var partial = new ReadOnlySequence<byte>(bytes, 0, 50);
        Http2FrameReader.TryReadFrame(ref partial, 16384, out _, out _).ShouldBeFalse();
        partial.Length.ShouldBe(50);

        var full = Segments(bytes[..5], bytes[5..60], bytes[60..]);
        Http2FrameReader.TryReadFrame(ref full, 16384, out var header, out var payload).ShouldBeTrue();
        header.PayloadLength.ShouldBe(100);
        payload.Length.ShouldBe(100);
    }

    [Fact]
    public void TryReadFrame_LargerThanOurMaxFrameSize_IsFrameSizeError_FromTheHeaderAlone()
    {
        Span<byte> header = stackalloc byte[9];
        new Http2FrameHeader(1 << 20 | 1, Http2FrameType.Data, 0, 1).Write(header);
        var buffer = new ReadOnlySequence<byte>(header.ToArray());
        var error = Should.Throw<Http2ConnectionException>(() => Http2FrameReader.TryReadFrame(ref buffer, 1 << 20, out _, out _));
        error.ErrorCode.ShouldBe(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public void RemovePadding_StripsPadLengthAndPadding()
    {
        byte[] payload = [3, (byte)'a', (byte)'b', 0, 0, 0];
        var header = new Http2FrameHeader(payload.Length, Http2FrameType.Data, Http2Flags.Padded, 1);
        Http2FrameReader.RemovePadding(header, new ReadOnlySequence<byte>(payload)).ToArray().ShouldBe("ab"u8.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 5, 1, 2, 3, 4 })] // padding as long as the whole payload
    [InlineData(new byte[] { 9, 1, 2 })]       // padding beyond the payload
    [InlineData(new byte[0])]                  // no pad length octet at all
    public void RemovePadding_TooMuchPadding_IsProtocolError(byte[] payload)
    {
        var header = new Http2FrameHeader(payload.Length, Http2FrameType.Data, Http2Flags.Padded, 1);
        Should.Throw<Http2ConnectionException>(() => Http2FrameReader.RemovePadding(header, new ReadOnlySequence<byte>(payload)))
            .ErrorCode.ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public void HeaderBlockFragment_PaddedWithPriority_SkipsBoth()
    {
        // pad length 2 | dependency(4) weight(1) | block "xyz" | 2 bytes padding
        byte[] payload = [2, 0, 0, 0, 9, 15, (byte)'x', (byte)'y', (byte)'z', 0, 0];
        var header = new Http2FrameHeader(payload.Length, Http2FrameType.Headers, Http2Flags.Padded | Http2Flags.Priority | Http2Flags.EndHeaders, 1);
        Http2FrameReader.GetHeaderBlockFragment(header, new ReadOnlySequence<byte>(payload), out bool selfDependent).ToArray().ShouldBe("xyz"u8.ToArray());
        selfDependent.ShouldBeFalse();
    }

    [Fact]
    public void HeaderBlockFragment_PriorityOnItself_IsReported()
    {
        byte[] payload = [0, 0, 0, 1, 15, (byte)'x'];
        var header = new Http2FrameHeader(payload.Length, Http2FrameType.Headers, Http2Flags.Priority, 1);
        Http2FrameReader.GetHeaderBlockFragment(header, new ReadOnlySequence<byte>(payload), out bool selfDependent);
        selfDependent.ShouldBeTrue();
    }

    [Theory]
    [InlineData((int)Http2FrameType.Data, 0, 1)]
    [InlineData((int)Http2FrameType.Headers, 0, 1)]
    [InlineData((int)Http2FrameType.RstStream, 0, 4)]
    [InlineData((int)Http2FrameType.Continuation, 0, 1)]
    [InlineData((int)Http2FrameType.Settings, 1, 0)]
    [InlineData((int)Http2FrameType.Ping, 3, 8)]
    [InlineData((int)Http2FrameType.GoAway, 1, 8)]
    public void FrameOnTheWrongKindOfStream_IsProtocolError(int type, int streamId, int length)
    {
        Should.Throw<Http2ConnectionException>(() => Http2FrameReader.ValidateStreamAndSize(new Http2FrameHeader(length, (Http2FrameType)type, 0, streamId)))
            .ErrorCode.ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Theory]
    [InlineData((int)Http2FrameType.Ping, 0, 7)]
    [InlineData((int)Http2FrameType.WindowUpdate, 1, 5)]
    [InlineData((int)Http2FrameType.RstStream, 1, 3)]
    [InlineData((int)Http2FrameType.GoAway, 0, 7)]
    [InlineData((int)Http2FrameType.Settings, 0, 7)]
    public void FixedSizeFrameWithWrongLength_IsFrameSizeError(int type, int streamId, int length)
    {
        Should.Throw<Http2ConnectionException>(() => Http2FrameReader.ValidateStreamAndSize(new Http2FrameHeader(length, (Http2FrameType)type, 0, streamId)))
            .ErrorCode.ShouldBe(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public void SettingsAckWithPayload_IsFrameSizeError() =>
        Should.Throw<Http2ConnectionException>(() => Http2FrameReader.ValidateStreamAndSize(new Http2FrameHeader(6, Http2FrameType.Settings, Http2Flags.Ack, 0)))
            .ErrorCode.ShouldBe(Http2ErrorCode.FrameSizeError);

    [Theory]
    [InlineData((int)Http2SettingId.EnablePush, 2u, (uint)Http2ErrorCode.ProtocolError)]
    [InlineData((int)Http2SettingId.EnablePush, 1u, (uint)Http2ErrorCode.ProtocolError)] // a server may only send 0
    [InlineData((int)Http2SettingId.InitialWindowSize, 0x8000_0000u, (uint)Http2ErrorCode.FlowControlError)]
    [InlineData((int)Http2SettingId.MaxFrameSize, 16383u, (uint)Http2ErrorCode.ProtocolError)]
    [InlineData((int)Http2SettingId.MaxFrameSize, 16777216u, (uint)Http2ErrorCode.ProtocolError)]
    public void InvalidSetting_IsConnectionError(int id, uint value, uint expected) =>
        Should.Throw<Http2ConnectionException>(() => Http2FrameReader.ValidateSetting(new Http2Setting((Http2SettingId)id, value), fromServer: true)).ErrorCode.ShouldBe((Http2ErrorCode)expected);

    [Theory]
    [InlineData((int)Http2SettingId.EnablePush, 0u)]
    [InlineData((int)Http2SettingId.InitialWindowSize, 0x7FFF_FFFFu)]
    [InlineData((int)Http2SettingId.MaxFrameSize, 16384u)]
    [InlineData((int)Http2SettingId.MaxFrameSize, 16777215u)]
    [InlineData(0xFF, 12345u)]
    public void ValidSetting_IsAccepted(int id, uint value) => Http2FrameReader.ValidateSetting(new Http2Setting((Http2SettingId)id, value), fromServer: true);

    private static ReadOnlySequence<byte> Segments(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        Segment last = first;
        foreach (byte[] part in parts.Skip(1))
        {
            last = last.Append(part);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
