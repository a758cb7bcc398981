namespace Ztunnel.Admin.Http;

/// <summary>A request the server answers itself, and closes the connection after: status and what was wrong.</summary>
internal readonly record struct HttpError(int Status, string Reason);
