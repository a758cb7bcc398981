using System.IO.Pipes;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Daemon;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Daemon.Logging;

public sealed class DaemonLoggerProviderTests
{
#pragma warning disable CA1848 // the extension methods keep these tests short; the daemon uses [LoggerMessage]

    [Fact]
    public void LevelSwitch_Change_TakesEffectOnLoggersAlreadyCreated()
    {
        using var capture = new LogCapture(AccessLogFormat.Text, LogLevel.Information);
        ILogger logger = capture.Logger();

        logger.LogDebug("hidden");
        capture.Logging.Level.MinimumLevel = LogLevel.Debug;
        logger.LogDebug("shown");
        logger.IsEnabled(LogLevel.Trace).ShouldBeFalse();
        capture.Logging.Level.MinimumLevel = LogLevel.Error;
        logger.LogWarning("hidden again");

        capture.Lines.ShouldBe(["2026-11-21T16:23:17.228Z DBUG Ztunnel.Test: shown"]);
    }

    [Fact]
    public void MicrosoftCategories_LogFromWarning_WhateverTheSwitchSays()
    {
        using var capture = new LogCapture(AccessLogFormat.Text, LogLevel.Trace);

        capture.Logger("Microsoft.AspNetCore.Server.Kestrel").LogInformation("framework chatter");
        capture.Logger("Microsoft").LogDebug("framework chatter");
        capture.Logger("MicrosoftX").LogInformation("not the framework");
        capture.Logging.Level.MinimumLevel = LogLevel.Critical;
        capture.Logger("Microsoft.Extensions.Hosting").LogWarning("framework warning");

        capture.Lines.ShouldBe([
            "2026-11-21T16:23:17.228Z INFO MicrosoftX: not the framework",
            "2026-11-21T16:23:17.228Z WARN Microsoft.Extensions.Hosting: framework warning",
        ]);
    }

    [Fact]
    public void AccessLog_IsWritten_WhenTheDaemonLevelIsWarning()
    {
        // accessLog: text with logLevel: warning: the operator asked for one line per connection and gets it.
        using var capture = new LogCapture(AccessLogFormat.Text, LogLevel.Warning);

        capture.Logger(Ztunnel.Telemetry.AccessLog.Category).LogInformation("connection complete");
        capture.Logger().LogInformation("daemon chatter");

        capture.Lines.ShouldBe(["2026-11-21T16:23:17.228Z INFO Ztunnel.AccessLog: connection complete"]);
    }

    [Fact]
    public void Scopes_AreAccepted_AndLeaveLinesAsTheyAre()
    {
        using var capture = new LogCapture(AccessLogFormat.Text);
        ILogger logger = capture.Logger();

        using (logger.BeginScope("pod {Pod}", "sleep"))
        {
            logger.LogInformation("inside");
        }

        capture.Lines.ShouldBe(["2026-11-21T16:23:17.228Z INFO Ztunnel.Test: inside"]);
    }

    [Fact]
    public void ClosedOutput_DoesNotThrowIntoTheCaller()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        server.DisposeLocalCopyOfClientHandle();   // the only reader is gone: writes fail with EPIPE, as to a closed stderr
        using var logging = new DaemonLogging(LogLevel.Information, AccessLogFormat.Json, server);
        ILogger logger = logging.Factory.CreateLogger("Ztunnel.Test");

        Should.NotThrow(() => logger.LogInformation("into a broken pipe {N}", 1));
        Should.NotThrow(() => logger.LogInformation("and again {N}", 2));
    }

    [Fact]
    public void ManyThreads_EachLineWhole()
    {
        using var capture = new LogCapture(AccessLogFormat.Json);
        ILogger logger = capture.Logger();
        string payload = new('x', 3000);   // longer than a pipe's atomic write, so interleaving would show

        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => logger.LogInformation("line {I} {Payload}", i, payload));

        string[] lines = capture.Lines;
        lines.Length.ShouldBe(400);
        var seen = new HashSet<int>();
        foreach (string line in lines)
        {
            JsonElement p = JsonDocument.Parse(line).RootElement.GetProperty("Properties");
            p.GetProperty("Payload").GetString().ShouldBe(payload);
            seen.Add(p.GetProperty("I").GetInt32()).ShouldBeTrue();
        }
    }
#pragma warning restore CA1848
}
