using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Ztunnel.Sockets;

namespace Ztunnel.Hbone.Server;

public sealed partial class HboneListenerSet
{
    /// <summary>One listening socket and its accept loop; disposing it removes the listener.</summary>
    internal sealed class HboneListenerRegistration : IAsyncDisposable
    {
        // After an accept error that is not about one connection (EMFILE, ENOBUFS) wait before retrying,
        // so a full file table does not turn the loop into a busy spin.
        private static readonly TimeSpan AcceptErrorBackoff = TimeSpan.FromMilliseconds(100);

        private readonly HboneListenerSet _set;
        private readonly PolledSocket _listener;
        private readonly CancellationTokenSource _stopping = new();
        private Task _loop = Task.CompletedTask;
        private int _disposed;

        public HboneListenerRegistration(HboneListenerSet set, Socket socket, HboneListenerInfo info)
        {
            _set = set;
            // The daemon's poller accepts from now on; disposing this closes the socket.
            _listener = PolledSocket.Listening(socket);
            Info = info;
        }

        public HboneListenerInfo Info { get; }

        public void Start() => _loop = Task.Run(AcceptLoopAsync);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                await _loop;
                return;
            }
            _set.Remove(this);
            await _stopping.CancelAsync();
            // Closing the socket fails the pending accept; the kernel refuses new connections from now on.
            _listener.Dispose();
            await _loop;
            _stopping.Dispose();
        }

        private async Task AcceptLoopAsync()
        {
            var token = _stopping.Token;
            Action<Socket, HboneListenerInfo> onAccepted;
            try
            {
                onAccepted = await _set._acceptor.Task.WaitAsync(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            while (!token.IsCancellationRequested)
            {
                Socket accepted;
                try
                {
                    accepted = await _listener.AcceptAsync(token);
                }
                catch (Exception e) when (token.IsCancellationRequested || e is ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
                {
                    // The client gave up between SYN and accept: that connection only.
                    continue;
                }
                catch (SocketException e)
                {
                    Log.AcceptFailed(_set._logger, Info.Name, e.SocketErrorCode, e);
                    try
                    {
                        await Task.Delay(AcceptErrorBackoff, _set._timeProvider, token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    continue;
                }
                onAccepted(accepted, Info);
            }
        }
    }
}
