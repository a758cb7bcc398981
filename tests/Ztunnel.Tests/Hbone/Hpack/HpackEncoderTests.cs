using System.Buffers;
using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

public sealed class HpackEncoderTests
{
    private static string Hex(ArrayBufferWriter<byte> w) => Convert.ToHexString(w.WrittenSpan).ToLowerInvariant();

    [Fact]
    public void Encode_StaticTableName_WritesNameIndexAndRawValue()
    {
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode(":authority"u8, "10.0.0.1:80"u8, output);

        // 0000 0001: literal without indexing, name index 1; then 11 raw bytes.
        Hex(output).ShouldBe("010b" + Convert.ToHexString("10.0.0.1:80"u8).ToLowerInvariant());
    }

    [Fact]
    public void Encode_NameNotInStaticTable_WritesLiteralName()
    {
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode("forwarded"u8, "for=\"10.0.0.2:4000\""u8, output);

        Hex(output).ShouldStartWith("0009" + Convert.ToHexString("forwarded"u8).ToLowerInvariant() + "13");
        RecordingSink.Decode(new HpackDecoder(), Hex(output)).ShouldBe([("forwarded", "for=\"10.0.0.2:4000\"")]);
    }

    [Fact]
    public void Encode_WithHuffman_IsShorterAndDecodes()
    {
        var raw = new ArrayBufferWriter<byte>();
        var huffman = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode("traceparent"u8, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8, raw);
        HpackEncoder.Encode("traceparent"u8, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8, huffman, huffman: true);

        huffman.WrittenCount.ShouldBeLessThan(raw.WrittenCount);
        RecordingSink.Decode(new HpackDecoder(), Hex(huffman))
            .ShouldBe([("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]);
    }

    [Fact]
    public void Encode_LongValue_UsesMultiByteLength()
    {
        var output = new ArrayBufferWriter<byte>();
        string value = new('v', 1000);
        HpackEncoder.Encode("baggage"u8, Encoding.ASCII.GetBytes(value), output);

        RecordingSink.Decode(new HpackDecoder(), Hex(output)).ShouldBe([("baggage", value)]);
    }

    [Theory]
    [InlineData(200, "88")]
    [InlineData(400, "8c")]
    [InlineData(401, "0803343031")]
    [InlineData(503, "0803353033")]
    public void EncodeStatus_WritesIndexedOrLiteral(int status, string hex)
    {
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(status, output);

        Hex(output).ShouldBe(hex);
        RecordingSink.Decode(new HpackDecoder(), hex).ShouldBe([(":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
    }

    [Theory]
    [InlineData(10, 5, "0a")] // RFC 7541 C.1.1
    [InlineData(1337, 5, "1f9a0a")] // C.1.2
    [InlineData(42, 8, "2a")] // C.1.3
    [InlineData(int.MaxValue, 7, "7f80ffffff07")]
    public void WriteInteger_MatchesRfcExamples_AndDecodesBack(int value, int prefix, string hex)
    {
        var dst = new byte[8];
        int n = HpackEncoder.WriteInteger(dst, value, prefix, 0);
        Convert.ToHexString(dst, 0, n).ToLowerInvariant().ShouldBe(hex);
        HpackEncoder.GetIntegerLength(value, prefix).ShouldBe(n);
        if (prefix < 8)
        {
            int pos = 0;
            HpackDecoder.ReadInteger(dst.AsSpan(0, n), ref pos, prefix).ShouldBe(value);
            pos.ShouldBe(n);
        }
    }
}
