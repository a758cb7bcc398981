using BenchmarkDotNet.Running;

namespace Ztunnel.Bench;

internal static class Program
{
    public static async Task Main(string[] args)
    {
        if (args is ["throughput-node", var script, ..])
        {
            await TunnelThroughputConsole.RunNodeAsync(script, args.Length > 2 ? int.Parse(args[2]) : 8);
            return;
        }
        if (args is ["throughput-alloc", ..])
        {
            using var sampler = new AllocationSampler();
            await TunnelThroughputConsole.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 2);
            Console.WriteLine("allocation samples by type (whole run, warm-up included):");
            sampler.Print(15);
            return;
        }
        if (args is ["streams", ..])
        {
            await StreamRateConsole.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 20_000);
            return;
        }
        if (args is ["held", ..])
        {
            await HeldTunnelsConsole.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 2000);
            return;
        }
        if (args is ["throughput", ..])
        {
            await TunnelThroughputConsole.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 8);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
