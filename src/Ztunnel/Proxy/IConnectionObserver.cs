namespace Ztunnel.Proxy;

/// <summary>Why a connection never got to relay (or was cut); Telemetry maps these to Istio's response_flags once.</summary>
internal enum ConnectionFailure
{
    /// <summary>Denied by authorization policy (inbound).</summary>
    Denied,

    /// <summary>The upstream (app, peer or HBONE tunnel) could not be connected.</summary>
    ConnectFailed,

    /// <summary>A service VIP had no healthy endpoint.</summary>
    NoHealthyUpstream,

    /// <summary>The target was one of the daemon's own ports, or not this pod.</summary>
    BadTarget,
}

/// <summary>
/// Telemetry's view of the proxy paths. Called once per connection event, never per chunk; byte counts
/// of live connections are read from <see cref="TrackedConnection.Counters"/> whenever needed.
/// </summary>
internal interface IConnectionObserver
{
    /// <summary>Both ends are connected and the relay starts.</summary>
    void Opened(TrackedConnection connection);

    /// <summary>The relay ended; counters are final and <see cref="TrackedConnection.CloseReason"/> says if the daemon cut it.</summary>
    void Closed(TrackedConnection connection, TimeSpan duration);

    /// <summary>The connection was refused before any relay. <paramref name="policy"/> names the deciding policy of a deny, if any.</summary>
    void Failed(ConnectionDescription description, ConnectionFailure failure, string reason, string? policy);
}

/// <summary>Observes nothing (tests, and until telemetry is wired).</summary>
internal sealed class NullConnectionObserver : IConnectionObserver
{
    public static readonly NullConnectionObserver Instance = new();

    public void Opened(TrackedConnection connection) { }
    public void Closed(TrackedConnection connection, TimeSpan duration) { }
    public void Failed(ConnectionDescription description, ConnectionFailure failure, string reason, string? policy) { }
}
