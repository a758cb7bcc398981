using System.Globalization;
using System.Text;

namespace Ztunnel.Tests.Telemetry;

/// <summary>A scrape parsed back into samples, as a Prometheus server reads it (for assertions).</summary>
internal sealed class Exposition
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public Exposition(string text)
    {
        Text = text;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                Types[parts[2]] = parts[3];
                continue;
            }
            if (line.StartsWith('#'))
            {
                continue;
            }
            _samples.Add(ParseSample(line));
        }
    }

    public string Text { get; }
    public Dictionary<string, string> Types { get; } = [];

    public IEnumerable<(Dictionary<string, string> Labels, double Value)> Samples(string name)
    {
        foreach (var sample in _samples)
        {
            if (sample.Name == name)
            {
                yield return (sample.Labels, sample.Value);
            }
        }
    }

    /// <summary>The one sample of <paramref name="name"/> whose labels include all of <paramref name="match"/>.</summary>
    public double Value(string name, params (string Label, string Value)[] match)
    {
        var found = Samples(name).Where(s => match.All(m => s.Labels.GetValueOrDefault(m.Label) == m.Value)).ToList();
        found.Count.ShouldBe(1, $"samples of {name} matching {string.Join(",", match)} in:\n{Text}");
        return found[0].Value;
    }

    public Dictionary<string, string> Labels(string name, params (string Label, string Value)[] match)
    {
        var found = Samples(name).Where(s => match.All(m => s.Labels.GetValueOrDefault(m.Label) == m.Value)).ToList();
        found.Count.ShouldBe(1, $"samples of {name} matching {string.Join(",", match)} in:\n{Text}");
        return found[0].Labels;
    }

    private static (string, Dictionary<string, string>, double) ParseSample(string line)
    {
        var labels = new Dictionary<string, string>();
        int brace = line.IndexOf('{', StringComparison.Ordinal);
        int space;
        string name;
        if (brace >= 0 && brace < line.IndexOf(' ', StringComparison.Ordinal))
        {
            name = line[..brace];
            int i = brace + 1;
            while (line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                string label = line[i..eq];
                i = eq + 2; // skip ="
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                labels[label] = value.ToString();
                i++;
                if (line[i] == ',')
                {
                    i++;
                }
            }
            space = i + 1;
        }
        else
        {
            space = line.IndexOf(' ', StringComparison.Ordinal);
            name = line[..space];
        }
        string number = line[(space + (line[space] == ' ' ? 1 : 0))..].Trim();
        double parsed = number switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(number, CultureInfo.InvariantCulture),
        };
        return (name, labels, parsed);
    }
}
