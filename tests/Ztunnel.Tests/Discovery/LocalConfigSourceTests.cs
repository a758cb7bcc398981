using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Discovery;

public sealed class LocalConfigSourceTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly StateStore _store = new();

    private static string Config(string ip) => $"""
        nodeName: n1
        workloads:
          - uid: a
            name: a
            namespace: ns
            ips: [{ip}]
            node: n1
        """;

    private readonly Channel<ConfigReloadResult> _results = Channel.CreateUnbounded<ConfigReloadResult>();

    private LocalConfigSource StartSource(string ip)
    {
        File.WriteAllText(_dir.File("ztunnel.yaml"), Config(ip));
        return Watch(_dir.File("ztunnel.yaml"));
    }

    private LocalConfigSource Watch(string path)
    {
        var source = new LocalConfigSource(path, _store, NullLogger<LocalConfigSource>.Instance, debounce: TimeSpan.FromMilliseconds(20));
        source.Reloaded += (_, r) => _results.Writer.TryWrite(r);
        source.Start();
        return source;
    }

    // A writer may be seen mid-write (an in-place save truncates first), so a test waits for the reload
    // that saw the content it wrote rather than for the first reload.
    private async Task<ConfigReloadResult> ReloadWhere(Func<ConfigReloadResult, bool> predicate)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (true)
        {
            var result = await _results.Reader.ReadAsync(guard.Token);
            if (predicate(result))
            {
                return result;
            }
        }
    }

    [Fact]
    public void Start_PublishesTheFileState()
    {
        using var source = StartSource("10.0.0.1");

        _store.IsSynced.ShouldBeTrue();
        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.1"))!.Uid.ShouldBe("a");
    }

    [Fact]
    public void Start_BadFile_Throws()
    {
        File.WriteAllText(_dir.File("ztunnel.yaml"), "workloads: 3\n");
        using var source = new LocalConfigSource(_dir.File("ztunnel.yaml"), _store, NullLogger<LocalConfigSource>.Instance);

        Should.Throw<ConfigException>(source.Start).Message.ShouldContain("ztunnel.yaml:1: workloads: must be a list");
        _store.IsSynced.ShouldBeFalse();
    }

    [Fact]
    public async Task Edit_InPlace_PublishesNewState()
    {
        using var source = StartSource("10.0.0.1");

        await File.WriteAllTextAsync(_dir.File("ztunnel.yaml"), Config("10.0.0.9"));
        await ReloadWhere(r => r.Succeeded);

        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.9"))!.Uid.ShouldBe("a");
        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.1")).ShouldBeNull();
    }

    [Fact]
    public async Task BadEdit_KeepsOldState_AndReportsError()
    {
        using var source = StartSource("10.0.0.1");
        var before = _store.Current;

        await File.WriteAllTextAsync(_dir.File("ztunnel.yaml"), Config("10.0.0.x"));
        var result = await ReloadWhere(r => r.Errors.Any(e => e.Line > 0));

        result.Succeeded.ShouldBeFalse();
        result.Errors.ShouldHaveSingleItem().ToString().ShouldEndWith("ztunnel.yaml:6: workloads[0].ips[0]: '10.0.0.x' is not an IP address");
        _store.Current.ShouldBeSameAs(before);
        source.Current!.State.ShouldBeSameAs(before);

        // Fixing the file recovers.
        await File.WriteAllTextAsync(_dir.File("ztunnel.yaml"), Config("10.0.0.2"));
        await ReloadWhere(r => r.Succeeded);
        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.2")).ShouldNotBeNull();
    }

    [Fact]
    public async Task EmptiedFile_IsTreatedAsHalfWritten_AndKeepsOldState()
    {
        using var source = StartSource("10.0.0.1");
        var before = _store.Current;
        var next = source.NextReloadAsync();

        await File.WriteAllTextAsync(_dir.File("ztunnel.yaml"), "");
        var result = await next.WaitAsync(HangGuard);

        result.Succeeded.ShouldBeFalse();
        result.Errors.ShouldHaveSingleItem().Message.ShouldBe("the file is empty (still being written?)");
        _store.Current.ShouldBeSameAs(before);
    }

    [Fact]
    public async Task AtomicRenameReplace_IsDetected()
    {
        using var source = StartSource("10.0.0.1");
        var next = source.NextReloadAsync();

        // What editors and `kubectl cp`-style tools do: write a temporary file, rename it over the original.
        await File.WriteAllTextAsync(_dir.File(".ztunnel.yaml.tmp"), Config("10.0.0.7"));
        File.Move(_dir.File(".ztunnel.yaml.tmp"), _dir.File("ztunnel.yaml"), overwrite: true);
        var result = await next.WaitAsync(HangGuard);

        result.Succeeded.ShouldBeTrue();
        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.7"))!.Uid.ShouldBe("a");
    }

    [Fact]
    public async Task ConfigMapStyleSymlinkSwap_IsDetected()
    {
        // Kubernetes ConfigMap volumes: ztunnel.yaml -> ..data/ztunnel.yaml, ..data -> ..v1; an update
        // creates ..v2 and renames a new ..data symlink over the old one.
        Directory.CreateDirectory(_dir.File("..v1"));
        File.WriteAllText(_dir.File("..v1/ztunnel.yaml"), Config("10.0.0.1"));
        File.CreateSymbolicLink(_dir.File("..data"), "..v1");
        File.CreateSymbolicLink(_dir.File("ztunnel.yaml"), "..data/ztunnel.yaml");
        using var source = Watch(_dir.File("ztunnel.yaml"));
        var next = source.NextReloadAsync();

        Directory.CreateDirectory(_dir.File("..v2"));
        File.WriteAllText(_dir.File("..v2/ztunnel.yaml"), Config("10.0.0.5"));
        File.CreateSymbolicLink(_dir.File("..data_tmp"), "..v2");
        // rename(2) of a symlink over a symlink, as kubelet does (File.Move refuses a link to a directory).
        using (var mv = System.Diagnostics.Process.Start("mv", ["-T", _dir.File("..data_tmp"), _dir.File("..data")]))
        {
            await mv.WaitForExitAsync().WaitAsync(HangGuard);
            mv.ExitCode.ShouldBe(0);
        }
        var result = await next.WaitAsync(HangGuard);

        result.Succeeded.ShouldBeTrue();
        _store.Current.FindWorkload(IPAddress.Parse("10.0.0.5"))!.Uid.ShouldBe("a");
    }

    [Fact]
    public async Task PolicyFileEdit_ReloadsPolicies()
    {
        Directory.CreateDirectory(_dir.File("policies"));
        const string Deny = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: NAME, namespace: ns}\nspec: {action: DENY, rules: [{}]}\n";
        File.WriteAllText(_dir.File("policies/a.yaml"), Deny.Replace("NAME", "first", StringComparison.Ordinal));
        File.WriteAllText(_dir.File("ztunnel.yaml"), Config("10.0.0.1") + "\npolicyPaths: [policies]\n");
        using var source = Watch(_dir.File("ztunnel.yaml"));
        _store.Current.Policies.AuthorizationPolicies.ShouldHaveSingleItem().Ref.Name.ShouldBe("first");

        await File.WriteAllTextAsync(_dir.File("policies/b.yaml"), Deny.Replace("NAME", "second", StringComparison.Ordinal));
        await ReloadWhere(r => r.Succeeded && r.Config!.State.Policies.AuthorizationPolicies.Count == 2);

        _store.Current.Policies.AuthorizationPolicies.Select(p => p.Ref.Name).ShouldBe(["first", "second"]);
    }

    public void Dispose() => _dir.Dispose();
}
