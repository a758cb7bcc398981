using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// Runs one accepted stream: turns its request into an <see cref="HboneRequest"/>, asks the handler,
/// answers (DESIGN §4) and runs the accepted session on the stream.
/// </summary>
internal sealed partial class HboneConnectHandler
{
    private readonly IHboneRequestHandler _handler;
    private readonly ILogger _logger;

    public HboneConnectHandler(IHboneRequestHandler handler, ILogger logger)
    {
        _handler = handler;
        _logger = logger;
    }

    public async Task HandleAsync(Http2ServerConnection connection, Http2Stream stream, HboneRequestHeaders headers)
    {
        try
        {
            await HandleCoreAsync(connection, stream, headers).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Nobody awaits this task (it runs per stream on the thread pool): a session's DisposeAsync that
            // threw would otherwise vanish. The stream is reset by the dispose below.
            Log.StreamFailed(_logger, stream.Id, stream.Authority, e);
        }
        finally
        {
            // Resets the stream if it is still open both ways (a session that threw, or was never run).
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task HandleCoreAsync(Http2ServerConnection connection, Http2Stream stream, HboneRequestHeaders headers)
    {
        var info = connection.Info;
        var request = TryParse(headers, info, out string? error);
        if (request is null)
        {
            Log.BadRequest(_logger, info.Listener.Name, info.RemoteEndPoint, error!);
            await AnswerAsync(connection, stream, HboneStatus.BadRequest).ConfigureAwait(false);
            return;
        }

        var aborted = stream.Aborted;
        HboneAcceptResult result;
        try
        {
            result = await _handler.AcceptAsync(request, aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return; // the client reset the stream while we decided; nobody to answer
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, request, e);
            await AnswerAsync(connection, stream, HboneStatus.ServiceUnavailable).ConfigureAwait(false);
            return;
        }
        if (!result.IsAccepted)
        {
            // default(HboneAcceptResult) has no status: a handler bug, answered like an exception.
            var status = result.Status == default ? HboneStatus.ServiceUnavailable : result.Status;
            Log.Rejected(_logger, request, (int)status, result.Reason ?? "handler returned no decision");
            await AnswerAsync(connection, stream, status).ConfigureAwait(false);
            return;
        }

        await using var session = result.Session!;
        try
        {
            // HEADERS (:status 200) without END_STREAM: the tunnel is open.
            await connection.SendResponseAsync(stream, HboneStatus.Ok).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Log.ClientGone(_logger, request);
            return;
        }
        try
        {
            await session.RunAsync(stream, aborted).ConfigureAwait(false);
            connection.FinishStream(stream);
        }
        catch (Exception e)
        {
            if (!aborted.IsCancellationRequested)
            {
                Log.SessionFailed(_logger, request, e);
            }
            stream.Reset();
        }
    }

    private static HboneRequest? TryParse(HboneRequestHeaders headers, HboneConnectionInfo info, out string? error)
    {
        if (headers.Method != "CONNECT")
        {
            error = $"method is {headers.Method}, HBONE accepts only CONNECT";
            return null;
        }
        if (!HboneAddress.TryParseAuthority(headers.Authority, out var target, out error))
        {
            return null;
        }
        return new HboneRequest
        {
            Authority = target,
            PeerIdentity = info.PeerIdentity,
            Listener = info.Listener,
            RemoteEndPoint = info.RemoteEndPoint,
            Forwarded = headers.Forwarded,
            ForwardedFor = HboneAddress.ParseForwardedFor(headers.Forwarded),
            Baggage = headers.Baggage,
            TraceParent = headers.TraceParent,
        };
    }

    private async ValueTask AnswerAsync(Http2ServerConnection connection, Http2Stream stream, HboneStatus status)
    {
        try
        {
            await connection.SendResponseAsync(stream, status).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Log.ClientGoneBeforeAnswer(_logger, (int)status);
        }
    }
}
