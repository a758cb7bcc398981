using System.Text.Json;
using System.Text.RegularExpressions;
using Ztunnel.Capture.Registration;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Ztunnel.Tests.Discovery;

namespace Ztunnel.Tests.Telemetry;

/// <summary>manifests/grafana/ztunnel-dashboard.json only queries metrics the daemon exports.</summary>
public sealed partial class DashboardTests
{
    private static readonly string DashboardPath = Path.Combine(TestPaths.RepositoryRoot(), "manifests", "grafana", "ztunnel-dashboard.json");

    [Fact]
    public void EveryMetricInTheDashboard_IsExportedByTheDaemon()
    {
        HashSet<string> exported = ExportedFamilies();
        List<string> queries = Queries(JsonDocument.Parse(File.ReadAllText(DashboardPath)).RootElement);
        queries.Count.ShouldBeGreaterThan(10);

        var unknown = new List<string>();
        foreach (string query in queries)
        {
            List<string> metrics = MetricNames(query);
            metrics.ShouldNotBeEmpty($"query names no metric of the daemon: {query}");
            unknown.AddRange(metrics.Where(m => !exported.Contains(m)).Select(m => $"{m} in {query}"));
        }
        unknown.ShouldBeEmpty();
    }

    [Fact]
    public void Dashboard_CoversTheNodeView()
    {
        string all = string.Join('\n', Queries(JsonDocument.Parse(File.ReadAllText(DashboardPath)).RootElement));
        foreach (string metric in new[]
        {
            "istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total", "istio_tcp_sent_bytes_total",
            "istio_tcp_received_bytes_total", "istio_tcp_connections_failed_total", "ztunnel_authorization_denied_total",
            "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "ztunnel_pods",
        })
        {
            all.ShouldContain(metric);
        }
    }

    /// <summary>Every family a fully wired daemon exposes (headers are written even before the first sample).</summary>
    private static HashSet<string> ExportedFamilies()
    {
        var registry = new MetricsRegistry();
        var telemetry = new TelemetryFixture();
        telemetry.Telemetry.Failed(TelemetryFixture.InboundHbone(), ConnectionFailure.Denied, "denied", "web/p");
        registry.Add(telemetry.Telemetry);
        registry.Add(new ProcessMetrics("test"));
        registry.Add(new PodMetrics(static () => Array.Empty<PodStatus>()));
        return [.. new Exposition(registry.Scrape()).Types.Keys];
    }

    private static List<string> Queries(JsonElement dashboard)
    {
        var queries = new List<string>();
        Collect(dashboard, queries);
        return queries;
    }

    // Every "expr" of a panel target and every "query"/"definition" string of a template variable, at any depth.
    private static void Collect(JsonElement element, List<string> queries)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in element.EnumerateObject())
            {
                // A variable's "query" may also be a data source type ("prometheus"): only PromQL has parentheses there.
                if (property.Value.ValueKind == JsonValueKind.String
                    && (property.Name == "expr" || (property.Name is "definition" or "query" && property.Value.GetString()!.Contains('(', StringComparison.Ordinal))))
                {
                    queries.Add(property.Value.GetString()!);
                }
                else
                {
                    Collect(property.Value, queries);
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in element.EnumerateArray())
            {
                Collect(item, queries);
            }
        }
    }

    // Metric names are the identifiers in the daemon's namespaces; quoted label values are removed first.
    private static List<string> MetricNames(string query)
    {
        string unquoted = QuotedString().Replace(query, "\"\"");
        return [.. MetricToken().Matches(unquoted).Select(m => m.Value).Distinct()];
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\b(?:istio|process|dotnet|ztunnel|workload_manager)_[a-zA-Z0-9_:]+")]
    private static partial Regex MetricToken();
}
