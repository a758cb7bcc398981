using System.Buffers;
using System.Net.Sockets;

namespace Ztunnel.Admin.Http;

/// <summary>
/// One client connection: reads a request, runs the handler, sends the answer, and again while the connection is
/// kept alive (RFC 9112 §9.3). Every wait is bounded by a deadline on one timer (<see cref="_deadline"/>).
/// An idle connection holds no buffer: it waits for the next request with a zero-byte receive.
/// </summary>
internal sealed partial class HttpConnection : IThreadPoolWorkItem, IDisposable
{
    private const int Busy = 0;
    private const int Idle = 1;
    private const int Closed = 2;

    // How long, and how much, a refused client may still send before the connection closes (see RejectAsync).
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const int LingerBytes = 256 * 1024;

    private readonly HttpServer _server;
    private readonly Socket _socket;
    private readonly HttpServerOptions _options;
    private readonly CancellationTokenSource _deadline;
    private readonly HttpRequest _request = new();
    private readonly HttpResponse _response = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _state;

    public HttpConnection(HttpServer server, Socket socket)
    {
        _server = server;
        _socket = socket;
        _options = server.Options;
        _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _options.TimeProvider);
    }

    /// <summary>Completes when the connection is closed and its buffers are back in the pool.</summary>
    public Task Closing => _closed.Task;

    public void Execute() => _ = RunAsync();

    /// <summary>Closes the connection if it is waiting for a request (graceful stop); a busy one closes after its answer.</summary>
    public void CloseIfIdle()
    {
        if (Interlocked.CompareExchange(ref _state, Closed, Idle) == Idle)
        {
            Cancel();
        }
    }

    /// <summary>Closes the connection now, whatever it is doing (the stop deadline passed).</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _state, Closed);
        Cancel();
        _socket.Dispose();
    }

    private async Task RunAsync()
    {
        string? dropped = null;
        try
        {
            bool first = true;
            while (await NextRequestAsync(first))
            {
                first = false;
                if (!await ServeAsync())
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            dropped = _deadline.IsCancellationRequested && Volatile.Read(ref _state) != Closed ? "timed out" : "server stopping";
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            dropped = ex.Message;
        }
        catch (Exception ex)
        {
            HttpLog.ConnectionFailed(_server.Logger, ex, _server.Name);
        }
        finally
        {
            Interlocked.Exchange(ref _state, Closed);
            ReturnBuffer();
            _response.Reset();
            Dispose();
            _server.Remove(this);
            _closed.TrySetResult();
        }
        if (dropped is not null)
        {
            HttpLog.Dropped(_server.Logger, _server.Name, dropped);
        }
    }

    /// <summary>Reads one request, answers it; false when the connection must close.</summary>
    private async Task<bool> ServeAsync()
    {
        int headEnd = await ReadHeadAsync();
        if (headEnd < 0)
        {
            return false;
        }
        if (HttpRequestParser.Parse(_buffer!, _start, headEnd, _options, _request) is { } error)
        {
            await RejectAsync(error);
            return false;
        }
        byte[]? body = _request.ContentLength > 0 ? ArrayPool<byte>.Shared.Rent(_request.ContentLength) : null;
        try
        {
            if (body is not null && !await ReadBodyAsync(headEnd, body))
            {
                return false;
            }
            if (body is null)
            {
                _start = headEnd;
            }
            Disarm();
            if (!await HandleAsync())
            {
                return false;
            }
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
        bool keepAlive = _request.KeepAlive && !_server.Stopping;
        await SendAsync(keepAlive, _request.IsHead);
        if (!keepAlive)
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        return keepAlive;
    }

    /// <summary>Runs the handler; a failure is logged and answered 500. False when the server is past its stop deadline.</summary>
    private async Task<bool> HandleAsync()
    {
        _response.Reset();
        try
        {
            await _server.Handler(_request, _response, _server.StopDeadline);
            return true;
        }
        catch (Exception ex) when (!_server.StopDeadline.IsCancellationRequested)
        {
            HttpLog.HandlerFailed(_server.Logger, ex, _server.Name, _request.Method, _request.Path);
            _response.Reset();
            _response.Text(500, $"{_request.Method} {_request.Path} failed: {ex.Message}\n");
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>Answers a request the server refuses itself, then closes (lingering, so the answer is not lost to a reset).</summary>
    private async Task RejectAsync(HttpError error)
    {
        HttpLog.Rejected(_server.Logger, _server.Name, error.Status, error.Reason);
        _response.Reset();
        _response.Text(error.Status, error.Reason + "\n");
        await SendAsync(keepAlive: false, headOnly: false);
        // RFC 9112 §9.6: closing with unread input (a refused body) would reset the connection, and the client
        // could lose our answer. Half-close, then read and drop what the client still sends, for a short while.
        _socket.Shutdown(SocketShutdown.Send);
        Arm(LingerTime);
        RentBuffer();
        int drained = 0;
        int n;
        while (drained < LingerBytes && (n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, _deadline.Token)) > 0)
        {
            drained += n;
        }
    }

    private async Task SendAsync(bool keepAlive, bool headOnly)
    {
        ReadOnlyMemory<byte> frame = Frame(keepAlive, headOnly);
        Arm(_options.ResponseTimeout);
        while (!frame.IsEmpty)
        {
            int sent = await _socket.SendAsync(frame, SocketFlags.None, _deadline.Token);
            frame = frame[sent..];
        }
        Disarm();
        _response.Reset();
    }

    private ReadOnlyMemory<byte> Frame(bool keepAlive, bool headOnly)
    {
        Span<byte> head = stackalloc byte[ResponseBuffer.HeadRoom];
        int length = _response.FormatHead(head, _options.TimeProvider.GetUtcNow(), keepAlive, _request.IsHttp10);
        return _response.Buffer.Frame(head[..length], headOnly);
    }

    /// <summary>Closes the socket and releases the timer (the end of <see cref="RunAsync"/>; idempotent).</summary>
    public void Dispose()
    {
        _socket.Dispose();
        _deadline.Dispose();
    }

    private void Cancel()
    {
        try
        {
            _deadline.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: nothing left to cancel.
        }
    }

    private void Arm(TimeSpan timeout) => _deadline.CancelAfter(timeout);

    private void Disarm() => _deadline.CancelAfter(Timeout.InfiniteTimeSpan);

    private void RentBuffer() => _buffer ??= ArrayPool<byte>.Shared.Rent(_options.MaxHeadBytes);

    private void ReturnBuffer()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
