using System.Diagnostics;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Xunit.Abstractions;
using Ztunnel.Tests.Admin;

namespace Ztunnel.Tests.Telemetry;

/// <summary>Prometheus' own linter (<c>promtool check metrics</c>, Debian package prometheus) on a real scrape.</summary>
public sealed class PromtoolTests(ITestOutputHelper log) : IAsyncLifetime
{
    private AdminFixture _admin = null!;

    public async Task InitializeAsync() => _admin = await AdminFixture.StartAsync();

    public async Task DisposeAsync() => await _admin.DisposeAsync();

    [Fact]
    public async Task Scrape_PassesPromtool_ExceptForIstiosOwnGaugeNames()
    {
        var telemetry = new TelemetryFixture();
        TrackedConnection open = telemetry.Tracker.Register(TelemetryFixture.OutboundHbone());
        telemetry.Telemetry.Opened(open);
        open.Counters.AddClientToServer(5);
        TrackedConnection closed = telemetry.Tracker.Register(TelemetryFixture.InboundPlaintext());
        telemetry.Telemetry.Opened(closed);
        telemetry.Telemetry.Closed(closed, TimeSpan.FromSeconds(1));
        telemetry.Telemetry.Failed(TelemetryFixture.InboundHbone(), ConnectionFailure.Denied, "denied", "web/deny \"quoted\" \\ policy");
        telemetry.Telemetry.Failed(TelemetryFixture.OutboundPassthrough(), ConnectionFailure.ConnectFailed, "refused", null);
        _admin.Metrics.Add(telemetry.Telemetry);
        _admin.Metrics.Add(new ProcessMetrics("0.1.0-test"));
        _admin.Metrics.Add(new PodMetrics(_admin.Registry.List));
        string scrape = await _admin.MetricsClient.GetStringAsync("/stats/prometheus");

        (int exitCode, string output) = await PromtoolAsync(scrape);
        log.WriteLine($"promtool exit {exitCode}: {output}\n{scrape}");

        // Exit 1 would be a parse error; 3 is lint findings only. The findings must be exactly Istio's names.
        exitCode.ShouldBeOneOf(0, 3);
        string[] findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string finding in findings)
        {
            PodMetrics.LintExceptions.ShouldContain(finding.Split(' ')[0], $"promtool: {output}");
        }
    }

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(string metrics)
    {
        var start = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("promtool is not installed: run scripts/install-deps.sh (Debian package prometheus)", ex);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            await process.StandardInput.WriteAsync(metrics);
            process.StandardInput.Close();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            return (process.ExitCode, (await stdout) + (await stderr));
        }
    }
}
