namespace Ztunnel.LoadGen;

/// <summary>
/// <c>ztunnel-loadgen serve|rr|connrate|hold|check --option value ...</c>: the socket programs of the end-to-end
/// bench. Clients print one line of <c>key=value</c> results on stdout for scripts/bench/bench.sh.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: ztunnel-loadgen <mode> [--option value ...]
          serve    --port P                                  echo server (echoes every byte back)
          rr       --target IP:PORT [--size 64] [--duration 5] [--warmup 1]
                                                             request/response on one connection
          connrate --target IP:PORT [--size 64] [--duration 5] [--warmup 1] [--concurrency 4]
                                                             connect, one round trip, close; in a loop
          hold     --target IP:PORT [--count 2000] [--size 64] [--concurrency 16]
                                                             open and hold idle connections until stdin closes
          check    [--records 400] [--round-trips 400]       time fixed work on this CPU (AES-GCM records,
                                                             loopback round trips): the machine's speed now
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        try
        {
            var options = new LoadGenArgs(args.AsSpan(1));
            return args[0] switch
            {
                "serve" => EchoServer.Run(options),
                "rr" => RequestResponseClient.Run(options),
                "connrate" => ConnectionRateClient.Run(options),
                "hold" => ConnectionHolder.Run(options),
                "check" => MachineCheck.Run(options),
                _ => throw new ArgumentException($"unknown mode '{args[0]}' (expected serve, rr, connrate, hold or check)"),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"ztunnel-loadgen: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }
}
