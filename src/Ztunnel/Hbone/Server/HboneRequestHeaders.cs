namespace Ztunnel.Hbone.Server;

/// <summary>What a well-formed request header block said, copied out of the decoder for the stream's handler.</summary>
internal sealed record HboneRequestHeaders(string Method, string? Authority, string? Forwarded, string? Baggage, string? TraceParent);
