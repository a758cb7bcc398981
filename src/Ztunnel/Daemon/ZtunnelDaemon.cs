using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Ztunnel.Capture;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;
using Ztunnel.Hbone.Server;
using Ztunnel.Identity;
using Ztunnel.Proxy;

namespace Ztunnel.Daemon;

/// <summary>
/// `ztunnel run`: wires the pieces together and runs until SIGTERM/SIGINT, then drains. Decides
/// nothing about traffic itself: that is Proxy's, Authorization's and Capture's.
/// </summary>
internal sealed partial class ZtunnelDaemon
{
    /// <summary>Exit code for a configuration the daemon cannot start with.</summary>
    public const int ExitBadConfig = 2;

    private readonly DaemonOptions _options;

    public ZtunnelDaemon(DaemonOptions options)
    {
        _options = options;
    }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var store = new StateStore();
        LocalConfig config;
        using var bootLogging = new DaemonLogging(Microsoft.Extensions.Logging.LogLevel.Information, AccessLogFormat.Text);
        var configSource = new LocalConfigSource(_options.ConfigPath, store, bootLogging.Factory.CreateLogger<LocalConfigSource>());
        try
        {
            config = configSource.Start();
        }
        catch (Exception ex) when (ex is ConfigException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"ztunnel: cannot start with {_options.ConfigPath}:{Environment.NewLine}{ex.Message}");
            configSource.Dispose();
            return ExitBadConfig;
        }
        using (configSource)
        {
            DaemonSettings settings = config.Settings;
            using var logging = new DaemonLogging(settings.LogLevel, settings.AccessLog);
            ILogger logger = logging.Factory.CreateLogger<ZtunnelDaemon>();
            if (settings.CaDirectory is null)
            {
                await Console.Error.WriteLineAsync($"ztunnel: {_options.ConfigPath}: caDir is required (create one with `ztunnel ca init DIR`)");
                return ExitBadConfig;
            }
            FileCertificateAuthority authority;
            try
            {
                authority = FileCertificateAuthority.Load(settings.CaDirectory);
            }
            catch (CertificateAuthorityException ex)
            {
                await Console.Error.WriteLineAsync($"ztunnel: {ex.Message}");
                return ExitBadConfig;
            }
            using (authority)
            {
                return await RunWithAsync(settings, store, authority, logging, logger, cancellationToken);
            }
        }
    }

    private async Task<int> RunWithAsync(DaemonSettings settings, StateStore store, FileCertificateAuthority authority, DaemonLogging logging, ILogger logger, CancellationToken cancellationToken)
    {
        ILoggerFactory loggers = logging.Factory;
        using var certificates = new CertificateManager(authority, settings.CertificateLifetime, loggers.CreateLogger<CertificateManager>());
        using var netns = new NetnsRunner();
        var connections = new ConnectionTracker(TimeProvider.System);
        var authorizer = new InboundAuthorizer(loggers.CreateLogger<InboundAuthorizer>());
        await using var telemetry = new DaemonTelemetry(settings, store, connections, logging);
        using var trimmer = MemoryTrimmer.Start(loggers.CreateLogger<MemoryTrimmer>());
        var context = new ProxyContext
        {
            State = store,
            Certificates = new CertificateSource(certificates),
            Netns = netns,
            Connections = connections,
            Authorizer = authorizer,
            TrustDomain = settings.TrustDomain,
            LoggerFactory = loggers,
            Observer = telemetry.Connections,
        };
        // A policy change re-checks live connections, off the publishing thread (DESIGN §5).
        store.Changed += (_, change) => _ = Task.Run(() => authorizer.Recheck(change.Current, connections));

        await using var tunnels = new PooledOutboundTunnels(context);
        await using var hbone = new HboneServer(new InboundHboneHandler(context), loggers);
        await hbone.StartAsync(cancellationToken);
        var lifecycle = new PodLifecycle(context, new PodRules(logger: loggers.CreateLogger<PodRules>()), hbone,
            new OutboundProxy(context, tunnels), new InboundPlaintextProxy(context), tunnels, certificates);
        string statePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.RegistrationSocket))!, "pods.json");
        var registry = new PodRegistry(lifecycle, loggers.CreateLogger<PodRegistry>(), statePath);

        using var shutdown = new ShutdownSignal(cancellationToken);
        RegistrationApi api;
        try
        {
            telemetry.Start(registry, certificates, shutdown.Trigger, () => shutdown.Task.IsCompleted);
            api = RegistrationApi.Start(settings.RegistrationSocket, registry, loggers);
        }
        catch (IOException ex)
        {
            LogFatal(logger, ex.Message);
            await lifecycle.DisposeAsync();
            return 1;
        }

        int restored = await registry.RestoreAsync(cancellationToken);
        LogReady(logger, settings.NodeName, settings.RegistrationSocket, restored);

        await shutdown.Task;
        LogDraining(logger, _options.DrainTimeout);
        var deadline = DateTimeOffset.UtcNow + _options.DrainTimeout;
        await api.StopAsync(Remaining(deadline));           // no new pods; a pod being added may finish
        await api.DisposeAsync();
        await lifecycle.DisposeAsync();                     // no new connections; rules stay (fail closed)
        LogStoppedAccepting(logger, connections.Count);
        await hbone.StopAsync(Remaining(deadline), CancellationToken.None);   // GOAWAY, wait for tunnels
        int cut = await connections.DrainAsync(Remaining(deadline), CancellationToken.None);
        await registry.DisposeAsync();
        LogStopped(logger, cut);
        return 0;
    }

    private static TimeSpan Remaining(DateTimeOffset deadline)
    {
        TimeSpan left = deadline - DateTimeOffset.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "ztunnel ready: node {Node}, pod registration on {Socket}, {Restored} pods restored")]
    private static partial void LogReady(ILogger logger, string node, string socket, int restored);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Shutting down: draining connections for up to {Drain}")]
    private static partial void LogDraining(ILogger logger, TimeSpan drain);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Stopped accepting connections; draining {Open} open connections")]
    private static partial void LogStoppedAccepting(ILogger logger, int open);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Stopped; {Cut} connections were cut at the drain deadline")]
    private static partial void LogStopped(ILogger logger, int cut);

    [LoggerMessage(EventId = 103, Level = LogLevel.Critical, Message = "Cannot start: {Reason}")]
    private static partial void LogFatal(ILogger logger, string reason);

    /// <summary>Completes on SIGTERM, SIGINT, <see cref="Trigger"/> or cancellation; the default handlers (which would kill the process) are suppressed.</summary>
    private sealed class ShutdownSignal : IDisposable
    {
        private readonly TaskCompletionSource _signalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly PosixSignalRegistration _term;
        private readonly PosixSignalRegistration _interrupt;
        private readonly CancellationTokenRegistration _cancel;

        public ShutdownSignal(CancellationToken cancellationToken)
        {
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            _cancel = cancellationToken.Register(() => _signalled.TrySetResult());
        }

        public Task Task => _signalled.Task;

        /// <summary>Starts the drain as SIGTERM would (the admin endpoint's /quitquitquit).</summary>
        public void Trigger() => _signalled.TrySetResult();

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            _signalled.TrySetResult();
        }

        public void Dispose()
        {
            _term.Dispose();
            _interrupt.Dispose();
            _cancel.Dispose();
        }
    }
}
