using System.CommandLine;
using System.Net;
using Ztunnel.Authorization;
using Ztunnel.Tls;

namespace Ztunnel.Cli;

/// <summary>
/// <c>ztunnel authz check</c>: evaluates Istio policies for one connection with the daemon's evaluator and explains the
/// decision. Prints ALLOW or DENY first, then the explanation; exit 0 when it evaluated, 2 on bad input.
/// </summary>
internal static class AuthzCommand
{
    private const int BadInput = 2;

    public static Command Create()
    {
        var authz = new Command("authz", "Istio AuthorizationPolicy and PeerAuthentication tools (L4, as enforced by ztunnel).");
        authz.Subcommands.Add(CheckCommand());
        return authz;
    }

    private static Command CheckCommand()
    {
        var policies = new Option<string>("--policies") { Description = "A YAML file or a directory of *.yaml/*.yml files with security.istio.io policies." };
        var rootNamespace = new Option<string>("--root-namespace") { Description = "Istio root namespace (mesh-wide policies).", DefaultValueFactory = _ => PolicySet.DefaultRootNamespace };
        var trustDomain = new Option<string>("--trust-domain") { Description = "Mesh trust domain (\"cluster.local\" in policies means this).", DefaultValueFactory = _ => PolicySet.DefaultTrustDomain };
        var destNamespace = new Option<string>("--dest-namespace") { Description = "Namespace of the destination workload." };
        var destLabels = new Option<string[]>("--dest-label") { Description = "A label of the destination workload, key=value (repeatable)." };
        var destIp = new Option<string>("--dest-ip") { Description = "Destination workload IP." };
        var destPort = new Option<string>("--dest-port") { Description = "Destination (target) port." };
        var sourceIdentity = new Option<string>("--source-identity") { Description = "Peer identity spiffe://<td>/ns/<ns>/sa/<sa>; omit for plaintext." };
        var sourceIp = new Option<string>("--source-ip") { Description = "Source IP." };

        var check = new Command("check", "Decide one connection: prints ALLOW or DENY, then which policy and rule decided and why.")
        {
            policies, rootNamespace, trustDomain, destNamespace, destLabels, destIp, destPort, sourceIdentity, sourceIp,
        };
        // Unknown arguments are reported by the action, so that every bad input exits 2 with one message.
        check.TreatUnmatchedTokensAsErrors = false;
        check.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            try
            {
                if (result.UnmatchedTokens.Count > 0)
                {
                    throw new ArgumentException($"unexpected argument '{result.UnmatchedTokens[0]}'");
                }
                string path = Required(result.GetValue(policies), "--policies");
                var request = new AuthorizationRequest(
                    Required(result.GetValue(destNamespace), "--dest-namespace"),
                    ParseLabels(result.GetValue(destLabels) ?? []),
                    ParseIp(Required(result.GetValue(destIp), "--dest-ip"), "--dest-ip"),
                    ParsePort(Required(result.GetValue(destPort), "--dest-port")),
                    result.GetValue(sourceIdentity) is { } id ? ParseIdentity(id) : null,
                    result.GetValue(sourceIp) is { } ip ? ParseIp(ip, "--source-ip") : null);
                string root = Required(result.GetValue(rootNamespace), "--root-namespace");
                string td = Required(result.GetValue(trustDomain), "--trust-domain");

                var loaded = PolicyLoader.LoadPath(path);
                var set = loaded.ToPolicySet(root, td);
                foreach (var warning in loaded.Warnings.Concat(set.Warnings))
                {
                    error.WriteLine($"warning: {warning}");
                }
                var decision = AuthorizationEvaluator.Evaluate(set, request);
                output.WriteLine(decision.Allowed ? "ALLOW" : "DENY");
                foreach (string line in decision.Explain())
                {
                    output.WriteLine(line);
                }
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or PolicyValidationException)
            {
                error.WriteLine($"ztunnel authz check: {e.Message}");
                return BadInput;
            }
        });
        return check;
    }

    private static string Required(string? value, string option) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException($"{option} is required") : value;

    private static Dictionary<string, string> ParseLabels(string[] labels)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string label in labels)
        {
            int eq = label.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--dest-label '{label}' is not of the form key=value");
            }
            result[label[..eq]] = label[(eq + 1)..];
        }
        return result;
    }

    private static IPAddress ParseIp(string text, string option) =>
        ValueParsers.TryParseAddress(text, out var ip) ? ip : throw new ArgumentException($"{option} '{text}' is not an IP address");

    private static int ParsePort(string text) =>
        ValueParsers.TryParsePort(text, out int port, out _) && port > 0 ? port : throw new ArgumentException($"--dest-port '{text}' is not a port number (1-65535)");

    private static SpiffeId ParseIdentity(string text) =>
        SpiffeId.TryParse(text, out var id, out string? problem) ? id : throw new ArgumentException($"--source-identity: {problem}");
}
