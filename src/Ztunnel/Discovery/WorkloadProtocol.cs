namespace Ztunnel.Discovery;

/// <summary>How traffic reaches a workload: through HBONE (it is in the mesh) or as plain TCP.</summary>
internal enum WorkloadProtocol
{
    /// <summary>Meshed: traffic is tunnelled over mTLS to the workload's node on port 15008.</summary>
    Hbone,

    /// <summary>Not meshed (or unable to terminate HBONE): traffic is passed through as plain TCP.</summary>
    Tcp,
}
