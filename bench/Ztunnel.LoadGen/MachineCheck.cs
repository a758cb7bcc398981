using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Ztunnel.LoadGen;

/// <summary>
/// A fixed amount of the two kinds of work a proxy does, timed on the CPU it runs on (the caller pins it):
/// AES-128-GCM sealing of 16 KiB records (user-space crypto, what TLS costs per record) and 64-byte round
/// trips over a loopback TCP connection between two threads (syscalls, the TCP stack, a wake-up and a
/// context switch each way: what request/response costs). The bench runs it around every scenario's
/// measurements; when the same work takes longer at one point of a run than at another, the machine's
/// speed changed under the run (a host neighbour, frequency, cache pressure) and the other numbers
/// measured then moved with it, which the other-load counter cannot see from inside this VM.
/// Each figure is the median of several batches, so one preemption inside a batch does not move it.
/// </summary>
internal static class MachineCheck
{
    private const int Batches = 15;
    private const int RecordBytes = 16 * 1024;
    private const int MessageBytes = 64;

    public static int Run(LoadGenArgs options)
    {
        int records = options.Int("records", 400);        // per batch: ~2-4 ms on a current x86 core
        int roundTrips = options.Int("round-trips", 400);  // per batch: ~5-20 ms
        double sealUs = MedianMicrosPerOp(SealBatch(records), records);
        double rttUs;
        using (var loopback = new LoopbackEcho())
        {
            rttUs = MedianMicrosPerOp(loopback.Batch(roundTrips), roundTrips);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seal16k_us={sealUs:F3} loopback_rtt_us={rttUs:F2}"));
        return 0;
    }

    /// <summary>Runs one warm-up batch (JIT, caches), then <see cref="Batches"/> timed ones.</summary>
    private static double MedianMicrosPerOp(Action batch, int opsPerBatch)
    {
        batch();
        var perOp = new double[Batches];
        for (int i = 0; i < Batches; i++)
        {
            long start = Stopwatch.GetTimestamp();
            batch();
            perOp[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / opsPerBatch;
        }
        Array.Sort(perOp);
        return perOp[Batches / 2];
    }

    private static Action SealBatch(int records)
    {
        var aes = new AesGcm(RandomNumberGenerator.GetBytes(16), tagSizeInBytes: 16);
        byte[] plaintext = RandomNumberGenerator.GetBytes(RecordBytes);
        byte[] ciphertext = new byte[RecordBytes];
        byte[] nonce = new byte[12];
        byte[] tag = new byte[16];
        return () =>
        {
            for (int i = 0; i < records; i++)
            {
                BitConverter.TryWriteBytes(nonce, i);
                aes.Encrypt(nonce, plaintext, ciphertext, tag);
            }
        };
    }

    /// <summary>A connected loopback pair with an echo thread on the server side.</summary>
    private sealed class LoopbackEcho : IDisposable
    {
        private readonly Socket _client;
        private readonly Socket _server;
        private readonly Thread _echo;

        public LoopbackEcho()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            _client = SocketIo.Connect((IPEndPoint)listener.LocalEndPoint!);
            _server = listener.Accept();
            _server.NoDelay = true;
            _echo = new Thread(Echo) { IsBackground = true, Name = "echo" };
            _echo.Start();
        }

        /// <summary>The client's side: <paramref name="roundTrips"/> requests, each waiting for its echo.</summary>
        public Action Batch(int roundTrips)
        {
            byte[] request = new byte[MessageBytes];
            byte[] response = new byte[MessageBytes];
            return () =>
            {
                for (int i = 0; i < roundTrips; i++)
                {
                    SocketIo.RoundTrip(_client, request, response);
                }
            };
        }

        /// <summary>Closing the client ends the echo loop (it reads end of stream), then the server goes.</summary>
        public void Dispose()
        {
            _client.Dispose();
            _echo.Join();
            _server.Dispose();
        }

        private void Echo()
        {
            byte[] buffer = new byte[MessageBytes];
            try
            {
                int n;
                while ((n = _server.Receive(buffer)) > 0)
                {
                    _server.Send(buffer, 0, n, SocketFlags.None);
                }
            }
            catch (SocketException)
            {
                // The client went away: the check is over.
            }
        }
    }
}
