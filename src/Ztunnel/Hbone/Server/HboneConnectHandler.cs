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

    /// <summary>
    /// Decides and answers one request; an accepted session then runs on in <see cref="RunSessionAsync"/>, so what
    /// deciding needed (the headers, the request, the handler's result) is not kept for the tunnel's whole life.
    /// Completes once the stream was answered; the stream is disposed when its session (if any) is over.
    /// </summary>
    public async Task HandleAsync(Http2ServerConnection connection, Http2Stream stream, HboneRequestHeaders headers)
    {
        bool handedOver = false;
        try
        {
            IHboneSession? session = await AcceptAsync(connection, stream, headers).ConfigureAwait(false);
            if (session is { EndsTunnelItself: true })
            {
                _ = session.RunAsync(stream, stream.Aborted);
                handedOver = true;
            }
            else if (session is not null)
            {
                _ = RunSessionAsync(connection, stream, session);
                handedOver = true;
            }
        }
        catch (Exception e)
        {
            // Nobody awaits this task (it runs per stream on the thread pool): a session's DisposeAsync that
            // threw would otherwise vanish. The stream is reset by the dispose below.
            Log.StreamFailed(_logger, stream.Id, stream.Authority, e);
        }
        finally
        {
            if (!handedOver)
            {
                // Resets the stream if it is still open both ways (answered with an error, or the client left).
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs an accepted session; ends the stream cleanly if the session did, else resets it; then disposes both.</summary>
    private async Task RunSessionAsync(Http2ServerConnection connection, Http2Stream stream, IHboneSession session)
    {
        // Taken now: a session may dispose the stream (its token source with it) before it returns.
        CancellationToken aborted = stream.Aborted;
        try
        {
            await using (session.ConfigureAwait(false))
            {
                try
                {
                    await session.RunAsync(stream, aborted).ConfigureAwait(false);
                    connection.FinishStream(stream);
                }
                catch (Exception e)
                {
                    if (!aborted.IsCancellationRequested)
                    {
                        Log.SessionFailed(_logger, stream.Id, stream.Authority, e);
                    }
                    stream.Reset();
                }
            }
        }
        catch (Exception e)
        {
            Log.StreamFailed(_logger, stream.Id, stream.Authority, e);
        }
        finally
        {
            // Resets the stream if it is still open both ways (a session that threw).
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Parses the request, asks the handler and answers. Returns the session to run once the 200 went out; null when
    /// the request was answered otherwise (or the client left), in which case nothing is left to dispose.
    /// </summary>
    private async Task<IHboneSession?> AcceptAsync(Http2ServerConnection connection, Http2Stream stream, HboneRequestHeaders headers)
    {
        var info = connection.Info;
        var request = TryParse(headers, info, out string? error);
        if (request is null)
        {
            Log.BadRequest(_logger, info.Listener.Name, info.RemoteEndPoint, error!);
            await AnswerAsync(connection, stream, HboneStatus.BadRequest).ConfigureAwait(false);
            return null;
        }

        var aborted = stream.Aborted;
        HboneAcceptResult result;
        try
        {
            result = await _handler.AcceptAsync(request, aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return null; // the client reset the stream while we decided; nobody to answer
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, request, e);
            await AnswerAsync(connection, stream, HboneStatus.ServiceUnavailable).ConfigureAwait(false);
            return null;
        }
        if (!result.IsAccepted)
        {
            // default(HboneAcceptResult) has no status: a handler bug, answered like an exception.
            var status = result.Status == default ? HboneStatus.ServiceUnavailable : result.Status;
            Log.Rejected(_logger, request, (int)status, result.Reason ?? "handler returned no decision");
            await AnswerAsync(connection, stream, status).ConfigureAwait(false);
            return null;
        }

        IHboneSession session = result.Session!;
        try
        {
            // HEADERS (:status 200) without END_STREAM: the tunnel is open.
            await connection.SendResponseAsync(stream, HboneStatus.Ok).ConfigureAwait(false);
            return session;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Log.ClientGone(_logger, request);
            await session.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
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
