using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>Collects decoded fields as Latin-1 strings (byte-preserving) for assertions.</summary>
internal sealed class RecordingSink : IHeaderSink
{
    public List<(string Name, string Value)> Fields { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));

    public static List<(string Name, string Value)> Decode(HpackDecoder decoder, string hex)
    {
        var sink = new RecordingSink();
        decoder.Decode(Convert.FromHexString(hex), sink);
        return sink.Fields;
    }

    public static List<(string Name, string Value)> TableContents(HpackDecoder decoder)
    {
        var table = decoder.DynamicTable;
        var entries = new List<(string, string)>();
        for (int i = 1; i <= table.Count; i++)
        {
            entries.Add((Encoding.Latin1.GetString(table.GetName(i)), Encoding.Latin1.GetString(table.GetValue(i))));
        }

        return entries;
    }
}
