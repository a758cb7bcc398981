using System.Threading.Channels;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>One stream of <see cref="TestH2Client"/>: response headers, received DATA, END_STREAM and RST_STREAM as the test sees them.</summary>
internal sealed class TestH2Stream
{
    private readonly TestH2Client _client;
    private readonly Channel<byte[]> _data = Channel.CreateUnbounded<byte[]>();
    private readonly TaskCompletionSource<List<(string Name, string Value)>> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _reset = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _pending = [];
    private int _pendingOffset;

    public TestH2Stream(TestH2Client client, int id, int sendWindow)
    {
        _client = client;
        Id = id;
        SendWindow = sendWindow;
    }

    public int Id { get; }

    /// <summary>Guarded by the client's lock.</summary>
    internal long SendWindow { get; set; }

    public Task<List<(string Name, string Value)>> ResponseHeaders => _headers.Task;

    /// <summary>The RST_STREAM error code, when the server reset the stream (-1: the connection closed).</summary>
    public Task<int> Reset => _reset.Task;

    /// <summary>True once the server's END_STREAM arrived.</summary>
    public bool EndStreamReceived { get; private set; }

    public async Task<int> StatusAsync() =>
        int.Parse((await ResponseHeaders.WaitAsync(TimeSpan.FromSeconds(30))).First(h => h.Name == ":status").Value);

    public Task WriteAsync(ReadOnlyMemory<byte> data) => _client.SendDataAsync(this, data, endStream: false);

    /// <summary>Half-close: an empty DATA frame with END_STREAM.</summary>
    public Task EndAsync() => _client.SendDataAsync(this, ReadOnlyMemory<byte>.Empty, endStream: true);

    public Task ResetAsync(int errorCode = 0x8) => _client.ResetAsync(this, errorCode);

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; 0 at END_STREAM; throws when the stream was reset.</summary>
    public async Task<int> ReadAsync(Memory<byte> buffer)
    {
        while (_pendingOffset == _pending.Length)
        {
            if (!await _data.Reader.WaitToReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)))
            {
                if (!EndStreamReceived && _reset.Task.IsCompleted)
                {
                    throw new IOException($"stream {Id} was reset with code {_reset.Task.Result}");
                }
                return 0;
            }
            _data.Reader.TryRead(out _pending!);
            _pendingOffset = 0;
        }
        int count = Math.Min(buffer.Length, _pending.Length - _pendingOffset);
        _pending.AsMemory(_pendingOffset, count).CopyTo(buffer);
        _pendingOffset += count;
        return count;
    }

    public async Task<byte[]> ReadToEndAsync()
    {
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await ReadAsync(buffer)) > 0)
        {
            all.Write(buffer, 0, n);
        }
        return all.ToArray();
    }

    internal void OnHeaders(List<(string, string)> fields, bool endStream)
    {
        _headers.TrySetResult(fields);
        if (endStream)
        {
            EndStreamReceived = true;
            _data.Writer.TryComplete();
        }
    }

    internal void OnData(byte[] data, bool endStream)
    {
        if (data.Length > 0)
        {
            _data.Writer.TryWrite(data);
        }
        if (endStream)
        {
            EndStreamReceived = true;
            _data.Writer.TryComplete();
        }
    }

    internal void OnReset(int errorCode)
    {
        _reset.TrySetResult(errorCode);
        _headers.TrySetException(new IOException($"stream {Id} was reset with code {errorCode} before the response"));
        _data.Writer.TryComplete();
    }

    internal void OnConnectionClosed()
    {
        _reset.TrySetResult(-1);
        _headers.TrySetException(new IOException($"connection closed before stream {Id} got a response"));
        _data.Writer.TryComplete();
    }
}
