using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The request delegate: turns a Kestrel request into an <see cref="HboneRequest"/>, asks the handler,
/// answers (DESIGN §4) and runs the accepted session on the stream.
/// </summary>
internal sealed partial class HboneConnectHandler
{
    private readonly IHboneRequestHandler _handler;
    private readonly ILogger _logger;

    public HboneConnectHandler(IHboneRequestHandler handler, ILogger<HboneConnectHandler> logger)
    {
        _handler = handler;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var connection = context.Features.Get<HboneConnectionFeature>();
        if (connection is null)
        {
            // Only connections from the listener set reach Kestrel; this would be a wiring bug.
            throw new InvalidOperationException("HBONE request on a connection without a listener");
        }
        var request = TryParse(context, connection, out string? error);
        if (request is null)
        {
            Log.BadRequest(_logger, connection.Listener.Name, context.Connection.RemoteIpAddress, error!);
            Answer(context, HboneStatus.BadRequest);
            return;
        }

        var aborted = context.RequestAborted;
        HboneAcceptResult result;
        try
        {
            result = await _handler.AcceptAsync(request, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return; // the client reset the stream while we decided; nobody to answer
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, request, e);
            Answer(context, HboneStatus.ServiceUnavailable);
            return;
        }
        if (!result.IsAccepted)
        {
            // default(HboneAcceptResult) has no status: a handler bug, answered like an exception.
            var status = result.Status == default ? HboneStatus.ServiceUnavailable : result.Status;
            Log.Rejected(_logger, request, (int)status, result.Reason ?? "handler returned no decision");
            Answer(context, status);
            return;
        }

        await using var session = result.Session!;
        var tunnel = new KestrelTunnelStream(context);
        try
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            // HEADERS (:status 200) without END_STREAM: the tunnel is open. StartAsync only queues the
            // headers; the flush puts them on the wire before the first byte from the app.
            await context.Response.StartAsync(aborted);
            await context.Response.BodyWriter.FlushAsync(aborted);
        }
        catch (Exception e) when (aborted.IsCancellationRequested || e is IOException or OperationCanceledException)
        {
            Log.ClientGone(_logger, request);
            return;
        }
        try
        {
            await session.RunAsync(tunnel, aborted);
        }
        catch (Exception e)
        {
            if (!aborted.IsCancellationRequested)
            {
                Log.SessionFailed(_logger, request, e);
            }
            tunnel.Reset();
        }
    }

    private static HboneRequest? TryParse(HttpContext context, HboneConnectionFeature connection, out string? error)
    {
        var http = context.Request;
        if (!HttpMethods.IsConnect(http.Method))
        {
            error = $"method is {http.Method}, HBONE accepts only CONNECT";
            return null;
        }
        if (context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true)
        {
            error = $"extended CONNECT (:protocol {context.Features.Get<IHttpExtendedConnectFeature>()!.Protocol}) is not HBONE";
            return null;
        }
        // For CONNECT Kestrel puts :authority in the raw target (RFC 9113 §8.5: no :scheme or :path).
        string? authority = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (!HboneAddress.TryParseAuthority(authority, out var target, out error))
        {
            return null;
        }
        string? forwarded = Header(http, "forwarded");
        return new HboneRequest
        {
            Authority = target,
            PeerIdentity = connection.PeerIdentity,
            Listener = connection.Listener,
            RemoteEndPoint = context.Connection.RemoteIpAddress is { } ip ? new IPEndPoint(ip, context.Connection.RemotePort) : null,
            Forwarded = forwarded,
            ForwardedFor = HboneAddress.ParseForwardedFor(forwarded),
            Baggage = Header(http, "baggage"),
            TraceParent = Header(http, HeaderNames.TraceParent),
        };
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values.ToString() : null;

    // No body: HEADERS with END_STREAM when the delegate returns.
    private static void Answer(HttpContext context, HboneStatus status) => context.Response.StatusCode = (int)status;
}
