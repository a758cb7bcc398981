namespace Ztunnel.Proxy;

/// <summary>Told when each direction of a relay ended (see <see cref="Relay.Start"/>).</summary>
internal interface IRelayEnded
{
    /// <summary>One direction is over: <paramref name="cleanly"/> false when it failed and reset both ends. Called twice per relay, once per direction; must not throw.</summary>
    void DirectionEnded(bool cleanly);
}
