namespace Ztunnel.Authorization;

/// <summary>The effective mTLS mode for one workload port, and the PeerAuthentication that set it (null: default PERMISSIVE).</summary>
internal readonly record struct MtlsResolution(MtlsMode Mode, PeerAuthentication? Policy, bool PortLevel)
{
    public bool Strict => Mode == MtlsMode.Strict;
}
