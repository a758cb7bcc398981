using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Daemon;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Daemon.Logging;

/// <summary>
/// Users parse the daemon's log lines: the new pipeline must write what Serilog wrote for the same events
/// (serilog-reference.*, captured from the Serilog pipeline before it was removed; see <see cref="ReferenceEvents"/>).
/// </summary>
public sealed class SerilogCompatibilityTests
{
    [Fact]
    public void TextFormat_WritesSerilogsLines_ByteForByte()
    {
        string written = Run(AccessLogFormat.Text);

        written.ShouldBe(Reference("serilog-reference.txt"));
    }

    [Fact]
    public void JsonFormat_WritesSerilogsLines_FieldForField()
    {
        string[] expected = Lines(Reference("serilog-reference.json"));
        string[] actual = Lines(Run(AccessLogFormat.Json));

        actual.Length.ShouldBe(expected.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            using var e = JsonDocument.Parse(expected[i]);
            using var a = JsonDocument.Parse(actual[i]);
            JsonElement.DeepEquals(e.RootElement, a.RootElement).ShouldBeTrue($"line {i + 1}:\n  serilog: {expected[i]}\n  ours:    {actual[i]}");
            Names(a.RootElement).ShouldBe(Names(e.RootElement), $"field order, line {i + 1}");
        }
    }

    [Fact]
    public void JsonFormat_IsByteIdentical_ExceptWhereSerilogLeftCharactersUnescaped()
    {
        string[] expected = Lines(Reference("serilog-reference.json"));
        string[] actual = Lines(Run(AccessLogFormat.Json));

        for (int i = 0; i < expected.Length; i++)
        {
            if (!expected[i].Contains("\"escapes ", StringComparison.Ordinal))
            {
                actual[i].ShouldBe(expected[i]);
            }
        }
    }

    private static string Run(AccessLogFormat format)
    {
        var output = new MemoryStream();
        using (var logging = new DaemonLogging(LogLevel.Trace, format, output, new FixedTime()))
        {
            ReferenceEvents.LogAll(logging.Factory, () => logging.Level.MinimumLevel = LogLevel.Warning);
        }
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static string Reference(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Daemon", "Logging", name), Encoding.UTF8);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static List<string> Names(JsonElement element)
    {
        var names = new List<string>();
        foreach (JsonProperty property in element.EnumerateObject())
        {
            names.Add(property.Name);
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                names.AddRange(Names(property.Value).Select(n => property.Name + "." + n));
            }
        }
        return names;
    }
}
