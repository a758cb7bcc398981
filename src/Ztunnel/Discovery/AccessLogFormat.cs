namespace Ztunnel.Discovery;

/// <summary>How the access log line for a closed connection is written.</summary>
internal enum AccessLogFormat
{
    /// <summary>key=value pairs, one line per connection (the default, easy to read and grep).</summary>
    Text,

    /// <summary>One JSON object per line, for log pipelines.</summary>
    Json,

    /// <summary>No access log.</summary>
    Off,
}
