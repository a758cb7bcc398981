using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>Malformed header blocks: each is rejected with an HpackException that says what was wrong.</summary>
public sealed class HpackDecoderErrorTests
{
    private static HpackException Reject(string hex, HpackDecoder? decoder = null) =>
        Should.Throw<HpackException>(() => (decoder ?? new HpackDecoder()).Decode(Convert.FromHexString(hex), new RecordingSink()));

    [Fact]
    public void Decode_IndexZero_IsRejected()
    {
        Reject("80").Message.ShouldContain("index 0 is not valid");
    }

    [Fact]
    public void Decode_IndexBeyondEmptyDynamicTable_IsRejected()
    {
        Reject("be").Message.ShouldContain("index 62 is beyond the dynamic table, which holds 0 entries");
    }

    [Fact]
    public void Decode_IndexBeyondDynamicTable_NamesIndexAndTableSize()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, "828684410f7777772e6578616d706c652e636f6d");
        RecordingSink.Decode(decoder, "828684be58086e6f2d6361636865");
        RecordingSink.Decode(decoder, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565");

        Reject("c6", decoder).Message.ShouldContain("index 70 is beyond the dynamic table, which holds 3 entries (valid indices are 1..64)");
    }

    [Fact]
    public void Decode_LiteralNameIndexBeyondTable_IsRejected()
    {
        // Literal without indexing, name index 15 + 50 = 65 (4-bit prefix), empty value.
        Reject("0f3200").Message.ShouldContain("index 65 is beyond the dynamic table");
    }

    [Fact]
    public void Decode_IntegerAbove2To31_IsRejected()
    {
        // 127 + 0x7f + 0x7f<<7 + 0x7f<<14 + 0x7f<<21 + 0x0f<<28 = 2^32 + 126.
        Reject("ffffffffff0f").Message.ShouldContain("larger than 2^31-1");
    }

    [Fact]
    public void Decode_IntegerWithTooManyContinuationBytes_IsRejected()
    {
        // Value 127 padded with zero continuation bytes: harmless in value, but unbounded in length.
        Reject("ff808080808000").Message.ShouldContain("more than 5 continuation bytes");
    }

    [Fact]
    public void Decode_TruncatedInteger_IsRejected()
    {
        Reject("ff80").Message.ShouldContain("ends inside a multi-byte integer");
    }

    [Fact]
    public void Decode_HuffmanPaddingLongerThan7Bits_IsRejected()
    {
        // :authority literal, Huffman value "a" (00011) followed by 3 + 8 one-bits of padding.
        Reject("01821fff").Message.ShouldContain("11 bits of padding; at most 7 are allowed");
    }

    [Fact]
    public void Decode_HuffmanPaddingNotAllOnes_IsRejected()
    {
        // "a" (00011) then 000: the padding must be the most significant bits of EOS (ones).
        Reject("018118").Message.ShouldContain("padding that is not all ones");
    }

    [Fact]
    public void Decode_HuffmanEosSymbol_IsRejected()
    {
        // 32 one-bits: the first 30 are the EOS code.
        Reject("0184ffffffff").Message.ShouldContain("contains the EOS symbol");
    }

    [Fact]
    public void Decode_TableSizeUpdateAboveAdvertisedLimit_IsRejected()
    {
        // Size update to 4097 (5-bit prefix: 31 + 4066).
        Reject("3fe21f").Message.ShouldContain("size update to 4097 is above the limit of 4096");
    }

    [Fact]
    public void Decode_TableSizeUpdateAfterAField_IsRejected()
    {
        Reject("8220").Message.ShouldContain("only at the start of a header block");
    }

    [Fact]
    public void Decode_TruncatedStringLiteral_IsRejected()
    {
        Reject("010a6162").Message.ShouldContain("value string is truncated: length 10, but only 2 bytes remain");
    }

    [Fact]
    public void Decode_BlockEndsBeforeNameString_IsRejected()
    {
        Reject("00").Message.ShouldContain("ends where the header name string should start");
    }

    [Fact]
    public void Decode_HeaderListAboveCap_IsRejected()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 100);
        // :authority (10) + 58-byte value + 32 = 100: exactly at the cap is fine.
        RecordingSink.Decode(decoder, "013a" + new string('6', 116))[0].Value.Length.ShouldBe(58);

        // One more byte of value goes over.
        Reject("013b" + new string('6', 118), decoder).Message.ShouldContain("above the limit of 100");
    }

    [Fact]
    public void Decode_HuffmanValueAboveCap_IsRejectedWithoutDecodingItAll()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 100);
        // 200 Huffman-coded '0's (5 bits each = 125 bytes) decode to 200 bytes > 100 - 32 - 10.
        var encoded = new byte[125];
        Huffman.Encode(Enumerable.Repeat((byte)'0', 200).ToArray(), encoded).ShouldBe(125);
        byte[] block = [0x01, 0x80 | 125, .. encoded]; // :authority, Huffman value of 125 bytes

        Should.Throw<HpackException>(() => decoder.Decode(block, new RecordingSink()))
            .Message.ShouldContain("above the limit of 100");
    }

    [Fact]
    public void Decode_HpackBomb_FailsAfterAFewReferences()
    {
        // One block: insert a 3,900-byte entry, then reference it 1,000 times (3.9 MB if expanded).
        var block = new List<byte> { 0x40, 0x01, (byte)'x' };
        var length = new byte[8];
        block.AddRange(length.AsSpan(0, HpackEncoder.WriteInteger(length, 3900, 7, 0x00)).ToArray());
        block.AddRange(Enumerable.Repeat((byte)'b', 3900));
        block.AddRange(Enumerable.Repeat((byte)0xBE, 1000)); // indexed 62: the newest dynamic entry
        byte[] bytes = block.ToArray();
        var sink = new CountingSink();
        var decoder = new HpackDecoder();

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Should.Throw<HpackException>(() => decoder.Decode(bytes, sink));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        error.Message.ShouldContain("above the limit of 16384");
        sink.Count.ShouldBe(4); // the literal + 3 references; the 4th reference would pass 16 KiB
        allocated.ShouldBeLessThan(64 * 1024); // the exception and its message, not the 3.9 MB expansion
    }

    private sealed class CountingSink : IHeaderSink
    {
        public int Count { get; private set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Count++;
    }
}
