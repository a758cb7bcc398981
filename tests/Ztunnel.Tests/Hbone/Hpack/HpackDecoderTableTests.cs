using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>Dynamic table behaviour beyond the Appendix C examples: size updates, oversize entries, reuse.</summary>
public sealed class HpackDecoderTableTests
{
    private const string C31 = "828684410f7777772e6578616d706c652e636f6d"; // adds (:authority, www.example.com), 57 bytes

    [Fact]
    public void Decode_TableSizeUpdateToZero_EvictsEverything()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, C31);
        decoder.DynamicTable.Count.ShouldBe(1);

        RecordingSink.Decode(decoder, "20").ShouldBeEmpty();

        decoder.DynamicTable.Count.ShouldBe(0);
        decoder.DynamicTable.Size.ShouldBe(0);
        decoder.DynamicTable.Capacity.ShouldBe(0);
    }

    [Fact]
    public void Decode_TwoSizeUpdatesAtStart_AreAllowed()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, C31);

        // To 0 (flushes the table) and back to 4096 (3f e1 1f), then a field that indexes again.
        RecordingSink.Decode(decoder, "203fe11f" + C31).Count.ShouldBe(4);

        decoder.DynamicTable.Capacity.ShouldBe(4096);
        RecordingSink.TableContents(decoder).ShouldBe([(":authority", "www.example.com")]);
    }

    [Fact]
    public void Decode_SizeUpdateBelowCurrentSize_EvictsOldestFirst()
    {
        var decoder = new HpackDecoder();
        RecordingSink.Decode(decoder, C31);
        RecordingSink.Decode(decoder, "828684be58086e6f2d6361636865"); // adds (cache-control, no-cache): 110 bytes total

        RecordingSink.Decode(decoder, "3f22"); // size update to 31 + 34 = 65

        RecordingSink.TableContents(decoder).ShouldBe([("cache-control", "no-cache")]);
        decoder.DynamicTable.Size.ShouldBe(53);
    }

    [Fact]
    public void Decode_EntryLargerThanTable_EmptiesTableWithoutError()
    {
        // RFC 7541 §4.4: an entry bigger than the table is not an error; it leaves the table empty.
        var decoder = new HpackDecoder(maxTableSize: 64);
        RecordingSink.Decode(decoder, "4003616161" + "03626262"); // (aaa, bbb): 38 bytes
        decoder.DynamicTable.Count.ShouldBe(1);

        var fields = RecordingSink.Decode(decoder, "40" + "03616161" + "20" + new string('6', 64)); // (aaa, 32 x 'f'): 67 bytes

        fields.ShouldBe([("aaa", new string('f', 32))]);
        decoder.DynamicTable.Count.ShouldBe(0);
        decoder.DynamicTable.Size.ShouldBe(0);
    }

    [Fact]
    public void Decode_LiteralIndexingWithDynamicName_CopiesNameBeforeEviction()
    {
        // Table of 64: (aaa, bbb) = 38. A new entry that reuses name index 62 must evict that same entry
        // (38 + 41 > 64) while still using its name.
        var decoder = new HpackDecoder(maxTableSize: 64);
        RecordingSink.Decode(decoder, "4003616161" + "03626262");

        var fields = RecordingSink.Decode(decoder, "7e" + "06" + "636363636363"); // name index 62, value cccccc

        fields.ShouldBe([("aaa", "cccccc")]);
        RecordingSink.TableContents(decoder).ShouldBe([("aaa", "cccccc")]);
        decoder.DynamicTable.Size.ShouldBe(41);
    }

    [Fact]
    public void Decode_SteadyState_AllocatesNothing()
    {
        var decoder = new HpackDecoder();
        byte[][] blocks =
        [
            Convert.FromHexString("828684418cf1e3c2e5f23a6ba0ab90f4ff"),
            Convert.FromHexString("828684be5886a8eb10649cbf"),
            Convert.FromHexString("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"),
            Convert.FromHexString("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"),
        ];
        var sink = new LengthSink();
        for (int i = 0; i < 100; i++)
        {
            foreach (byte[] block in blocks)
            {
                decoder.Decode(block, sink);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            foreach (byte[] block in blocks)
            {
                decoder.Decode(block, sink);
            }
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
        sink.Total.ShouldBeGreaterThan(0);
    }

    private sealed class LengthSink : IHeaderSink
    {
        public long Total { get; private set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Total += name.Length + value.Length;
    }
}
