using System.Text.Json.Nodes;

namespace Ztunnel.Capture.Cni;

/// <summary>Well-known CNI error codes (CNI spec, "Error" result type).</summary>
public enum CniErrorCode
{
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    UnknownContainer = 3,
    InvalidEnvironment = 4,
    IoFailure = 5,
    DecodeFailure = 6,
    InvalidNetworkConfig = 7,
    TryAgainLater = 11,
}

/// <summary>A CNI failure, printed on stdout as the spec's error JSON.</summary>
public sealed class CniException : Exception
{
    public CniException() { }
    public CniException(string message) : base(message) { }
    public CniException(string message, Exception inner) : base(message, inner) { }

    public CniException(CniErrorCode code, string message) : base(message)
    {
        Code = code;
    }

    public CniErrorCode Code { get; } = CniErrorCode.IoFailure;

    public string ToJson(string cniVersion) => new JsonObject
    {
        ["cniVersion"] = cniVersion,
        ["code"] = (int)Code,
        ["msg"] = Message,
    }.ToJsonString();
}
