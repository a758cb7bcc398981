using System.CommandLine;
using Ztunnel.Identity;

namespace Ztunnel.Cli;

/// <summary>`ztunnel ca init DIR`: creates the built-in CA (root certificate and key) used in local mode.</summary>
internal static class CaCommand
{
    public static Command Create()
    {
        var ca = new Command("ca", "Manage the built-in certificate authority.");
        ca.Subcommands.Add(Init());
        return ca;
    }

    private static Command Init()
    {
        var directory = new Argument<string>("DIR") { Description = "Directory for root-cert.pem and root-key.pem (created if missing)." };
        var trustDomain = new Option<string>("--trust-domain")
        {
            Description = "SPIFFE trust domain of the mesh.",
            DefaultValueFactory = _ => "cluster.local",
        };
        var force = new Option<bool>("--force") { Description = "Replace an existing CA (certificates it issued stop being trusted)." };
        var command = new Command("init", "Create a new root CA for a trust domain.") { directory, trustDomain, force };
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(directory)!;
            string td = parse.GetValue(trustDomain)!;
            try
            {
                using var root = CaFiles.Initialize(dir, td, parse.GetValue(force));
                var output = parse.InvocationConfiguration.Output;
                output.WriteLine($"created CA for trust domain '{td}' in {Path.GetFullPath(dir)}");
                output.WriteLine($"  {CaFiles.CertificateFile}  (trust bundle; SHA-256 {root.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)})");
                output.WriteLine($"  {CaFiles.KeyFile}   (private key, mode 0600; keep it secret)");
                output.WriteLine($"  valid until {root.NotAfter.ToUniversalTime():u}");
                return 0;
            }
            catch (CertificateAuthorityException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"ztunnel ca init: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
