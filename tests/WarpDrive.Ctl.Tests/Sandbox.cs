namespace WarpDrive.Ctl.Tests;

/// <summary>A temp directory per test with two local backends and a cache, and a node config naming them.</summary>
internal sealed class Sandbox : IDisposable
{
    public const int BlockSize = 64 * 1024;

    public Sandbox()
    {
        Directory.CreateDirectory(SourceRoot);
        Directory.CreateDirectory(DestinationRoot);
        File.WriteAllText(ConfigPath, $"""
            mount_point: /mnt/warpdrive-test
            cache:
              path: {CachePath}
              max_size: 1GB
              block_size: 64KiB
            backends:
              - name: src
                type: local
                mount_path: /src
                config:
                  root: {SourceRoot}
                  serve_in_place: false # warmed into the block cache, like a network source
              - name: dst
                type: local
                mount_path: /dst
                config:
                  root: {DestinationRoot}
            """);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "wd-ctl-" + Guid.NewGuid().ToString("N"));

    public string SourceRoot => Path.Combine(Root, "source");

    public string DestinationRoot => Path.Combine(Root, "destination");

    public string CachePath => Path.Combine(Root, "cache");

    public string ConfigPath => Path.Combine(Root, "node.yaml");

    /// <summary>Writes a file of pseudo-random bytes (seeded by its path) below the source root and returns its content.</summary>
    public byte[] WriteSource(string relativePath, int length)
    {
        var bytes = new byte[length];
        new Random(relativePath.GetHashCode(StringComparison.Ordinal)).NextBytes(bytes);
        var path = Path.Combine(SourceRoot, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return bytes;
    }

    /// <summary>Deletes everything; retries briefly because a child process that just exited may still have files closing.</summary>
    public void Dispose()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(100);
            }
        }
    }
}
