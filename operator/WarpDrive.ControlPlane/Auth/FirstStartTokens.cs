using System.Security.Cryptography;

namespace WarpDrive.ControlPlane.Auth;

/// <summary>
/// The first start of a stand-alone control plane without a tokens file: rather than run without auth, create a
/// tokens file with one admin entry and put that admin's token in a file only the current user (root, as a
/// service) can read, as other self-hosted servers do with a generated initial password. The tokens file holds
/// only the token's SHA-256, so it carries no secret itself.
/// </summary>
public static class FirstStartTokens
{
    /// <summary>Name of the generated token file, next to the tokens file.</summary>
    public const string AdminTokenFileName = "admin.token";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates <paramref name="tokensFile"/> with an admin entry and returns the path of the file holding the token.
    /// An existing <see cref="AdminTokenFileName"/> next to it is reused (a start that failed after creating it);
    /// nothing is overwritten.
    /// </summary>
    public static string CreateAdmin(string tokensFile)
    {
        ArgumentNullException.ThrowIfNull(tokensFile);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("owner-only token files need Unix file modes");
        }

        var full = Path.GetFullPath(tokensFile);
        if (Directory.Exists(full))
        {
            throw new IOException($"{full} is a directory");
        }

        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var tokenFile = Path.Combine(directory, AdminTokenFileName);
        string token;
        if (File.Exists(tokenFile))
        {
            token = File.ReadAllText(tokenFile).Trim();
        }
        else
        {
            token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            // Created with mode 0600 from the start: there is no moment at which another user could open it.
            WriteNew(tokenFile, token + "\n");
        }

        WriteNew(full, $"""
            # Created by the control plane's first start. One entry per token: {"{"}token_sha256 | token_file, name, role{"}"},
            # role one of reader, admin, agent. The admin token itself is in {tokenFile}.
            - name: admin
              role: admin
              token_sha256: {Convert.ToHexStringLower(FileTokenValidator.Digest(token))}

            """);
        return tokenFile;
    }

    private static void WriteNew(string path, string text)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("owner-only token files need Unix file modes");
        }

        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly });
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
