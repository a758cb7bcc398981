namespace Ztunnel.Tests.Daemon.Logging;

/// <summary>A clock stopped at the instant the Serilog reference lines were normalised to.</summary>
internal sealed class FixedTime : TimeProvider
{
    public static readonly DateTimeOffset Instant = new DateTimeOffset(2026, 11, 21, 16, 23, 17, TimeSpan.Zero).AddTicks(2281234);

    public override DateTimeOffset GetUtcNow() => Instant;
}
