using System.Text.Json.Serialization;

namespace Ztunnel.Capture.Registration;

/// <summary>Where a registered pod is in its life on this node.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PodState>))]
public enum PodState
{
    /// <summary>Registered; rules and listeners are being set up.</summary>
    [JsonStringEnumMemberName("pending")] Pending,

    /// <summary>Captured: rules installed, listeners open.</summary>
    [JsonStringEnumMemberName("ready")] Ready,

    /// <summary>Setting the pod up failed; <see cref="PodStatus.Error"/> says why. Re-adding retries.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>A registered pod and its state, as the registration API lists it.</summary>
public sealed record PodStatus(
    [property: JsonPropertyName("pod")] PodRegistration Pod,
    [property: JsonPropertyName("state")] PodState State,
    [property: JsonPropertyName("error")] string? Error);
