using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WarpDrive.ControlPlane.Auth;

/// <summary>
/// Tokens from a YAML file: a list of <c>{token_sha256 | token_file, name, role}</c>. Only SHA-256 digests are
/// kept in memory, and a presented token is hashed and compared in fixed time, so neither the file nor a timing
/// side channel gives a token away.
/// </summary>
public sealed class FileTokenValidator : ITokenValidator
{
    private readonly List<(byte[] Digest, TokenPrincipal Principal)> _tokens;

    private FileTokenValidator(List<(byte[], TokenPrincipal)> tokens) => _tokens = tokens;

    public int Count => _tokens.Count;

    public static FileTokenValidator Load(string path)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"tokens file {path} does not exist");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"tokens file {path} cannot be read: {e.Message}");
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"tokens file {path}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}");
        }

        var tokens = new List<(byte[], TokenPrincipal)>();
        if (stream.Documents.Count == 0)
        {
            return new FileTokenValidator(tokens);
        }

        if (stream.Documents[0].RootNode is not YamlSequenceNode list)
        {
            throw new InvalidDataException($"tokens file {path}: expected a list of {{token_sha256 | token_file, name, role}}");
        }

        var index = 0;
        foreach (var node in list)
        {
            var where = $"tokens file {path}: entry {index++}";
            if (node is not YamlMappingNode map)
            {
                throw new InvalidDataException($"{where}: expected a mapping");
            }

            string? Get(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;
            var name = Get("name") is { Length: > 0 } n ? n : throw new InvalidDataException($"{where}: name is required");
            var role = Get("role") ?? "";
            if (!Roles.All.Contains(role))
            {
                throw new InvalidDataException($"{where}: role must be one of {string.Join(", ", Roles.All)}");
            }

            byte[] digest;
            if (Get("token_sha256") is { Length: > 0 } hex)
            {
                var trimmed = hex.Trim();
                if (trimmed.Length != 64 || !trimmed.All(char.IsAsciiHexDigit))
                {
                    throw new InvalidDataException($"{where}: token_sha256 must be 64 hex digits");
                }

                digest = Convert.FromHexString(trimmed);
            }
            else if (Get("token_file") is { Length: > 0 } file)
            {
                var resolved = Path.IsPathRooted(file) ? file : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "", file);
                try
                {
                    digest = Digest(File.ReadAllText(resolved).Trim());
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidDataException($"{where}: token_file {resolved} cannot be read ({(e is FileNotFoundException ? "it does not exist" : e.Message)})");
                }
            }
            else
            {
                throw new InvalidDataException($"{where}: token_sha256 or token_file is required");
            }

            tokens.Add((digest, new TokenPrincipal(name, role)));
        }

        return new FileTokenValidator(tokens);
    }

    public ValueTask<TokenPrincipal?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var presented = Digest(token);
        TokenPrincipal? found = null;
        foreach (var (digest, principal) in _tokens)
        {
            // No early exit: every entry is compared so the time does not depend on which one matched.
            if (CryptographicOperations.FixedTimeEquals(digest, presented))
            {
                found ??= principal;
            }
        }

        return ValueTask.FromResult(found);
    }

    public static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
