using System.Text;

namespace Ztunnel.Telemetry;

/// <summary>
/// A rendered, escaped label set such as <c>{reporter="source",source_workload="a"}</c>, in text and UTF-8.
/// Built once per distinct set of values (per connection at most), then only copied into scrapes.
/// </summary>
internal sealed class LabelSet
{
    public static readonly LabelSet Empty = new("");

    /// <param name="text">Already rendered and escaped (see <see cref="LabelWriter"/>), braces included; empty for no labels.</param>
    public LabelSet(string text)
    {
        Text = text;
        Utf8 = Encoding.UTF8.GetBytes(text);
    }

    public string Text { get; }
    public byte[] Utf8 { get; }

    /// <summary>Renders a small fixed label set (build info, per-state gauges); not for the data path.</summary>
    public static LabelSet Of(params ReadOnlySpan<(string Name, string Value)> labels)
    {
        var writer = new LabelWriter(128);
        try
        {
            foreach ((string name, string value) in labels)
            {
                writer.Add(name, value);
            }
            return new LabelSet(writer.Complete().ToString());
        }
        finally
        {
            writer.Dispose();
        }
    }

    public override string ToString() => Text;
}
