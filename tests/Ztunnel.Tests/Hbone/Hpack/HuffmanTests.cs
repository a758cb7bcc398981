using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

public sealed class HuffmanTests
{
    [Theory]
    [InlineData("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")] // RFC 7541 C.4.1
    [InlineData("no-cache", "a8eb10649cbf")] // C.4.2
    [InlineData("custom-key", "25a849e95ba97d7f")] // C.4.3
    [InlineData("custom-value", "25a849e95bb8e8b4bf")] // C.4.3
    [InlineData("302", "6402")] // C.6.1
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff")] // C.6.1
    [InlineData("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3")] // C.6.1
    [InlineData("", "")]
    public void EncodeAndDecode_RfcStrings_MatchAppendixC(string text, string hex)
    {
        byte[] plain = Encoding.ASCII.GetBytes(text);
        byte[] encoded = Convert.FromHexString(hex);

        Huffman.GetEncodedLength(plain).ShouldBe(encoded.Length);
        var dst = new byte[encoded.Length];
        Huffman.Encode(plain, dst).ShouldBe(encoded.Length);
        dst.ShouldBe(encoded);

        var decoded = new byte[Huffman.GetMaxDecodedLength(encoded.Length)];
        int written = Huffman.Decode(encoded, decoded);
        Encoding.ASCII.GetString(decoded, 0, written).ShouldBe(text);
    }

    [Fact]
    public void RoundTrip_All256Symbols_EachAloneAndAllTogether()
    {
        var decoded = new byte[64];
        for (int symbol = 0; symbol < 256; symbol++)
        {
            byte[] one = [(byte)symbol];
            var encoded = new byte[Huffman.GetEncodedLength(one)];
            Huffman.Encode(one, encoded);
            Huffman.Decode(encoded, decoded).ShouldBe(1, $"symbol {symbol}");
            decoded[0].ShouldBe((byte)symbol);
        }

        byte[] all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var allEncoded = new byte[Huffman.GetEncodedLength(all)];
        Huffman.Encode(all, allEncoded);
        var allDecoded = new byte[Huffman.GetMaxDecodedLength(allEncoded.Length)];
        allDecoded.AsSpan(0, Huffman.Decode(allEncoded, allDecoded)).ToArray().ShouldBe(all);
    }

    [Fact]
    public void RoundTrip_RandomBytes_ReturnsInput()
    {
        var random = new Random(7541);
        for (int i = 0; i < 500; i++)
        {
            var input = new byte[random.Next(0, 300)];
            random.NextBytes(input);
            var encoded = new byte[Huffman.GetEncodedLength(input)];
            Huffman.Encode(input, encoded).ShouldBe(encoded.Length);
            var decoded = new byte[Huffman.GetMaxDecodedLength(encoded.Length)];
            int written = Huffman.Decode(encoded, decoded);
            decoded.AsSpan(0, written).ToArray().ShouldBe(input, $"iteration {i}");
        }
    }

    [Fact]
    public void Decode_OutputLargerThanDestination_ThrowsAndTryDecodeReturnsMinusOne()
    {
        byte[] encoded = Convert.FromHexString("f1e3c2e5f23a6ba0ab90f4ff"); // www.example.com
        Huffman.TryDecode(encoded, new byte[14]).ShouldBe(-1);
        Should.Throw<HpackException>(() => Huffman.Decode(encoded, new byte[14])).Message.ShouldContain("does not fit in 14 bytes");
    }

    [Fact]
    public void Decode_SevenBitsOfOnesPadding_IsAccepted()
    {
        // 'a' (00011) + ' ' (010100) + ' ' (010100) = 17 bits, then 7 one-bits of padding: the most allowed.
        var decoded = new byte[8];
        int written = Huffman.Decode([0x1A, 0x8A, 0x7F], decoded);
        Encoding.ASCII.GetString(decoded, 0, written).ShouldBe("a  ");
    }
}
