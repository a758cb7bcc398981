using System.Buffers;
using BenchmarkDotNet.Attributes;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Bench;

/// <summary>
/// HPACK on the tunnel-setup path: decoding the CONNECT request and its 200 response, encoding the request.
/// Decode must allocate 0 B per op in steady state.
/// </summary>
[MemoryDiagnoser]
public class HpackBenchmarks
{
    private readonly HpackDecoder _requestDecoder = new();
    private readonly HpackDecoder _responseDecoder = new();
    private readonly CountingSink _sink = new();
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private byte[] _connectRequest = [];
    private byte[] _okResponse = [];

    [GlobalSetup]
    public void Setup()
    {
        // A CONNECT as our client sends it (DESIGN §4), Huffman-coded literals, name indices where static.
        var request = new ArrayBufferWriter<byte>();
        WriteConnect(request, huffman: true);
        _connectRequest = request.WrittenSpan.ToArray();

        // A 200 as a server with a dynamic table sends it: indexed :status, a Huffman date literal that
        // is added to the table (so the table keeps evicting in steady state), a Huffman server literal.
        var response = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(200, response);
        var date = "Sat, 21 Nov 2026 08:10:07 GMT"u8;
        Span<byte> dst = response.GetSpan(64);
        dst[0] = 0x40 | 33; // literal with incremental indexing, name index 33 (date)
        int huffmanLength = Huffman.GetEncodedLength(date);
        dst[1] = (byte)(0x80 | huffmanLength);
        Huffman.Encode(date, dst[2..]);
        response.Advance(2 + huffmanLength);
        HpackEncoder.Encode("server"u8, "istio-envoy"u8, response, huffman: true);
        _okResponse = response.WrittenSpan.ToArray();
    }

    [Benchmark]
    public void DecodeConnectRequest() => _requestDecoder.Decode(_connectRequest, _sink);

    [Benchmark]
    public void Decode200Response() => _responseDecoder.Decode(_okResponse, _sink);

    [Benchmark]
    public void EncodeConnectRequest()
    {
        _output.ResetWrittenCount();
        WriteConnect(_output, huffman: false);
    }

    [Benchmark]
    public void EncodeConnectRequestHuffman()
    {
        _output.ResetWrittenCount();
        WriteConnect(_output, huffman: true);
    }

    private static void WriteConnect(IBufferWriter<byte> output, bool huffman)
    {
        HpackEncoder.Encode(":method"u8, "CONNECT"u8, output, huffman);
        HpackEncoder.Encode(":authority"u8, "10.244.1.7:8080"u8, output, huffman);
        HpackEncoder.Encode("forwarded"u8, "for=\"10.244.2.9:53122\""u8, output, huffman);
        HpackEncoder.Encode("baggage"u8, "k8s.namespace.name=default,k8s.pod.name=client-7d9f"u8, output, huffman);
        HpackEncoder.Encode("traceparent"u8, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8, output, huffman);
    }

    private sealed class CountingSink : IHeaderSink
    {
        public int Count;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Count += name.Length + value.Length;
    }
}
