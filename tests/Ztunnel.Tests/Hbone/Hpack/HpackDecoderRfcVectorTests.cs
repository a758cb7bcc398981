using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>
/// Every header block example of RFC 7541 Appendix C. Requests (C.3, C.4) are decoded in sequence by one
/// decoder, as on one connection; responses (C.5, C.6) use a 256-octet table, so later blocks evict.
/// </summary>
public sealed class HpackDecoderRfcVectorTests
{
    private const string Date21 = "Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Date22 = "Mon, 21 Oct 2013 20:13:22 GMT";
    private const string Location = "https://www.example.com";
    private const string Cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    [Fact]
    public void Decode_C2_1_LiteralWithIndexing_AddsToTable()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, "400a637573746f6d2d6b65790d637573746f6d2d686561646572")
            .ShouldBe([("custom-key", "custom-header")]);
        RecordingSink.TableContents(decoder).ShouldBe([("custom-key", "custom-header")]);
        decoder.DynamicTable.Size.ShouldBe(55);
    }

    [Fact]
    public void Decode_C2_2_LiteralWithoutIndexing_LeavesTableEmpty()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, "040c2f73616d706c652f70617468").ShouldBe([(":path", "/sample/path")]);
        decoder.DynamicTable.Count.ShouldBe(0);
        decoder.DynamicTable.Size.ShouldBe(0);
    }

    [Fact]
    public void Decode_C2_3_LiteralNeverIndexed_LeavesTableEmpty()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, "100870617373776f726406736563726574").ShouldBe([("password", "secret")]);
        decoder.DynamicTable.Count.ShouldBe(0);
    }

    [Fact]
    public void Decode_C2_4_IndexedField_ReturnsStaticEntry()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, "82").ShouldBe([(":method", "GET")]);
        decoder.DynamicTable.Count.ShouldBe(0);
    }

    [Theory]
    [InlineData("C.3", "828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865", "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")]
    [InlineData("C.4", "828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")]
    public void Decode_C3_C4_RequestSequence_TracksDynamicTable(string section, string first, string second, string third)
    {
        var decoder = new HpackDecoder();

        RecordingSink.Decode(decoder, first).ShouldBe(
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")]);
        RecordingSink.TableContents(decoder).ShouldBe([(":authority", "www.example.com")]);
        decoder.DynamicTable.Size.ShouldBe(57, section);

        RecordingSink.Decode(decoder, second).ShouldBe(
            [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")]);
        RecordingSink.TableContents(decoder).ShouldBe([("cache-control", "no-cache"), (":authority", "www.example.com")]);
        decoder.DynamicTable.Size.ShouldBe(110, section);

        RecordingSink.Decode(decoder, third).ShouldBe(
            [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")]);
        RecordingSink.TableContents(decoder).ShouldBe(
            [("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")]);
        decoder.DynamicTable.Size.ShouldBe(164, section);
    }

    [Theory]
    [InlineData(
        "C.5",
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        "4803333037c1c0bf",
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31")]
    [InlineData(
        "C.6",
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    public void Decode_C5_C6_ResponseSequence_EvictsOldestEntries(string section, string first, string second, string third)
    {
        var decoder = new HpackDecoder(maxTableSize: 256);

        RecordingSink.Decode(decoder, first).ShouldBe(
            [(":status", "302"), ("cache-control", "private"), ("date", Date21), ("location", Location)]);
        RecordingSink.TableContents(decoder).ShouldBe(
            [("location", Location), ("date", Date21), ("cache-control", "private"), (":status", "302")]);
        decoder.DynamicTable.Size.ShouldBe(222, section);

        // (:status, 307) evicts (:status, 302).
        RecordingSink.Decode(decoder, second).ShouldBe(
            [(":status", "307"), ("cache-control", "private"), ("date", Date21), ("location", Location)]);
        RecordingSink.TableContents(decoder).ShouldBe(
            [(":status", "307"), ("location", Location), ("date", Date21), ("cache-control", "private")]);
        decoder.DynamicTable.Size.ShouldBe(222, section);

        // Three inserts; the set-cookie one alone evicts three older entries.
        RecordingSink.Decode(decoder, third).ShouldBe(
            [(":status", "200"), ("cache-control", "private"), ("date", Date22), ("location", Location), ("content-encoding", "gzip"), ("set-cookie", Cookie)]);
        RecordingSink.TableContents(decoder).ShouldBe(
            [("set-cookie", Cookie), ("content-encoding", "gzip"), ("date", Date22)]);
        decoder.DynamicTable.Size.ShouldBe(215, section);
    }
}
