namespace Ztunnel.Admin.Http;

/// <summary>
/// Answers one request by filling in <paramref name="response"/>. <paramref name="stopping"/> is cancelled when the
/// server's stop deadline passes. An exception is logged and answered 500.
/// </summary>
internal delegate ValueTask HttpHandler(HttpRequest request, HttpResponse response, CancellationToken stopping);
