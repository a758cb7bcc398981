using System.Buffers;
using System.Text;
using System.Text.Json;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>Our codec against python-hpack, an independent implementation, in both directions.</summary>
public sealed class HpackInteropTests
{
    // Encodes seeded random header lists on one connection (Huffman where shorter, every field indexed,
    // a 512-byte table so it evicts constantly) and prints one JSON line per block: the block, the fields,
    // and the encoder's dynamic table afterwards (newest first).
    private const string EncodeScript = """
        import json, random, sys
        from hpack import Encoder
        rnd = random.Random(int(sys.stdin.read()))
        enc = Encoder()
        enc.header_table_size = 512
        names = [b':authority', b':method', b':status', b'forwarded', b'baggage', b'traceparent', b'x-' + b'n' * 40]
        values = [b'GET', b'CONNECT', b'200', b'10.0.0.1:8080', b'']
        for _ in range(300):
            fields = []
            for _ in range(rnd.randint(1, 8)):
                if rnd.random() < 0.5:
                    value = rnd.choice(values)
                else:
                    value = bytes(rnd.randint(0x20, 0x7e) for _ in range(rnd.randint(0, 200)))
                    values.append(value)
                fields.append((rnd.choice(names), value))
            block = enc.encode(fields)
            table = [[bytes(n).decode('latin-1'), bytes(v).decode('latin-1')] for n, v in enc.header_table.dynamic_entries]
            print(json.dumps({'block': block.hex(), 'fields': [[n.decode('latin-1'), v.decode('latin-1')] for n, v in fields], 'table': table}))
        """;

    // Decodes hex blocks (one per line) on one connection and prints the fields of each as JSON.
    private const string DecodeScript = """
        import json, sys
        from hpack import Decoder
        dec = Decoder()
        for line in sys.stdin.read().split():
            print(json.dumps([[n.decode('latin-1'), v.decode('latin-1')] for n, v in dec.decode(bytes.fromhex(line), raw=True)]))
        """;

    [Fact]
    public async Task Decode_PythonHpackBlocks_MatchFieldsAndTable()
    {
        string output = await PythonHpack.RunAsync(EncodeScript, "42");
        var decoder = new HpackDecoder();
        int blocks = 0;
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var sink = new RecordingSink();
            decoder.Decode(Convert.FromHexString(json.RootElement.GetProperty("block").GetString()!), sink);

            sink.Fields.ShouldBe(Pairs(json.RootElement.GetProperty("fields")), $"block {blocks}");
            RecordingSink.TableContents(decoder).ShouldBe(Pairs(json.RootElement.GetProperty("table")), $"table after block {blocks}");
            blocks++;
        }

        blocks.ShouldBe(300);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Encode_ConnectRequest_DecodesInPythonHpack(bool huffman)
    {
        (string Name, string Value)[] request =
        [
            (":method", "CONNECT"),
            (":authority", "10.244.1.7:8080"),
            ("forwarded", "for=\"10.244.2.9:53122\""),
            ("baggage", "k8s.namespace.name=default,k8s.pod.name=client-7d9f"),
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("x-" + new string('q', 200), new string('\u00e9', 300)), // long lengths and non-ASCII bytes
        ];
        var first = new ArrayBufferWriter<byte>();
        foreach (var (name, value) in request)
        {
            HpackEncoder.Encode(Encoding.Latin1.GetBytes(name), Encoding.Latin1.GetBytes(value), first, huffman);
        }

        var second = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(503, second);
        HpackEncoder.EncodeStatus(200, second);

        string output = await PythonHpack.RunAsync(
            DecodeScript,
            Convert.ToHexString(first.WrittenSpan) + "\n" + Convert.ToHexString(second.WrittenSpan));

        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var firstJson = JsonDocument.Parse(lines[0]);
        Pairs(firstJson.RootElement).ShouldBe(request.ToList());
        using var secondJson = JsonDocument.Parse(lines[1]);
        Pairs(secondJson.RootElement).ShouldBe([(":status", "503"), (":status", "200")]);
    }

    private static List<(string Name, string Value)> Pairs(JsonElement array)
    {
        var pairs = new List<(string, string)>();
        foreach (JsonElement pair in array.EnumerateArray())
        {
            pairs.Add((pair[0].GetString()!, pair[1].GetString()!));
        }

        return pairs;
    }
}
