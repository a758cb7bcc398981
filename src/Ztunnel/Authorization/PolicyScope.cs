namespace Ztunnel.Authorization;

/// <summary>Which workloads a policy applies to, derived from its namespace and selector.</summary>
internal enum PolicyScope
{
    /// <summary>Root namespace, no selector: every workload in the mesh.</summary>
    Mesh,
    /// <summary>Root namespace with a selector: matching workloads in every namespace.</summary>
    MeshSelector,
    /// <summary>Any other namespace, no selector: every workload in that namespace.</summary>
    Namespace,
    /// <summary>Any other namespace with a selector: matching workloads in that namespace.</summary>
    Workload,
}
