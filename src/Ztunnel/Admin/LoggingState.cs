namespace Ztunnel.Admin;

/// <summary>The admin <c>/logging</c> answer: the daemon's current minimum log level.</summary>
internal sealed record LoggingState(string Level);
