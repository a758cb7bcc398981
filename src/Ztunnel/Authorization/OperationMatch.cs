namespace Ztunnel.Authorization;

/// <summary>One <c>to[].operation</c> with only its L4 fields: the workload's target port.</summary>
internal sealed class OperationMatch
{
    public static readonly OperationMatch Any = new();

    public int[] Ports { get; init; } = [];
    public int[] NotPorts { get; init; } = [];
}
