using Microsoft.Extensions.Logging;
using YamlDotNet.RepresentationModel;
using Ztunnel.Tls;

namespace Ztunnel.Discovery;

internal static partial class LocalConfigLoader
{
    private static DaemonSettings ReadSettings(ConfigReader reader, YamlMappingNode root, string baseDirectory)
    {
        var settings = new DaemonSettings();

        if (reader.String(root, "nodeName", "", required: false) is { } node)
        {
            if (node.Length == 0)
            {
                reader.Error(ConfigReader.Get(root, "nodeName")!, "nodeName", "is empty");
            }
            settings = settings with { NodeName = node };
        }

        if (reader.String(root, "trustDomain", "", required: false) is { } td)
        {
            try
            {
                _ = new SpiffeId(td, "ns", "sa");
                settings = settings with { TrustDomain = td };
            }
            catch (FormatException e)
            {
                reader.Error(ConfigReader.Get(root, "trustDomain")!, "trustDomain", e.Message);
            }
        }

        if (reader.String(root, "caDir", "", required: false) is { } caDir)
        {
            settings = settings with { CaDirectory = Path.GetFullPath(caDir, baseDirectory) };
        }

        if (reader.String(root, "certificateLifetime", "", required: false) is { } lifetimeText)
        {
            // Below a few minutes the half-life refresh would hammer the CA; Istio's floor is similar.
            if (!Duration.TryParse(lifetimeText, out var lifetime) || lifetime < TimeSpan.FromMinutes(2))
            {
                reader.Error(ConfigReader.Get(root, "certificateLifetime")!, "certificateLifetime",
                    $"'{lifetimeText}' is not a duration of at least 2m (e.g. 24h, 90m, 1h30m)");
            }
            else
            {
                settings = settings with { CertificateLifetime = lifetime };
            }
        }

        if (reader.String(root, "registrationSocket", "", required: false) is { } socket)
        {
            settings = settings with { RegistrationSocket = Path.GetFullPath(socket, baseDirectory) };
        }

        settings = settings with
        {
            AdminAddress = reader.EndPoint(root, "adminAddress", "") ?? settings.AdminAddress,
            MetricsAddress = reader.EndPoint(root, "metricsAddress", "") ?? settings.MetricsAddress,
            ReadinessAddress = reader.EndPoint(root, "readinessAddress", "") ?? settings.ReadinessAddress,
        };

        if (reader.String(root, "rootNamespace", "", required: false) is { } rootNs)
        {
            settings = settings with { RootNamespace = rootNs };
        }

        if (reader.String(root, "clusterId", "", required: false) is { } clusterId)
        {
            if (clusterId.Length == 0)
            {
                reader.Error(ConfigReader.Get(root, "clusterId")!, "clusterId", "is empty (leave it out for the default, Kubernetes)");
            }
            else
            {
                settings = settings with { ClusterId = clusterId };
            }
        }

        if (reader.String(root, "logLevel", "", required: false) is { } level)
        {
            LogLevel? parsed = level.ToLowerInvariant() switch
            {
                "trace" => LogLevel.Trace,
                "debug" => LogLevel.Debug,
                "info" or "information" => LogLevel.Information,
                "warn" or "warning" => LogLevel.Warning,
                "error" => LogLevel.Error,
                "off" or "none" => LogLevel.None,
                _ => null,
            };
            if (parsed is null)
            {
                reader.Error(ConfigReader.Get(root, "logLevel")!, "logLevel", $"'{level}' is not a log level (trace, debug, info, warn, error, off)");
            }
            settings = settings with { LogLevel = parsed ?? settings.LogLevel };
        }

        if (reader.String(root, "accessLog", "", required: false) is { } format)
        {
            AccessLogFormat? parsed = format.ToLowerInvariant() switch
            {
                "text" => AccessLogFormat.Text,
                "json" => AccessLogFormat.Json,
                "off" or "none" => AccessLogFormat.Off,
                _ => null,
            };
            if (parsed is null)
            {
                reader.Error(ConfigReader.Get(root, "accessLog")!, "accessLog", $"'{format}' is not an access log format (text, json, off)");
            }
            settings = settings with { AccessLog = parsed ?? settings.AccessLog };
        }

        return settings;
    }
}
