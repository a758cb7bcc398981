using Ztunnel.Proxy;

namespace Ztunnel.Telemetry;

/// <summary>
/// The <c>response_flags</c> label and the access log's result, written once. Istio's ztunnel uses "-" (none),
/// "DENY" (authorization policy) and "CONNECT" (upstream connect failed); for the cases it has no flag for we use
/// Envoy's: "UH" (no healthy upstream: a service VIP without a healthy endpoint) and "NR" (no route: the target
/// is one of the daemon's own ports, or not the pod).
/// </summary>
internal static class ResponseFlags
{
    public const string None = "-";
    public const string Deny = "DENY";
    public const string Connect = "CONNECT";
    public const string NoHealthyUpstream = "UH";
    public const string NoRoute = "NR";

    public static string For(ConnectionFailure failure) => failure switch
    {
        ConnectionFailure.Denied => Deny,
        ConnectionFailure.ConnectFailed => Connect,
        ConnectionFailure.NoHealthyUpstream => NoHealthyUpstream,
        ConnectionFailure.BadTarget => NoRoute,
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "unknown connection failure"),
    };
}
