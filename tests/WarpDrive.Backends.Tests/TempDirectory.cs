namespace WarpDrive.Backends.Tests;

/// <summary>A fresh directory under /tmp, removed (recursively) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string purpose)
    {
        Path = Directory.CreateTempSubdirectory($"warpdrive-{purpose}-").FullName;
    }

    public string Path { get; }

    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    public string WriteFile(string relative, byte[] content)
    {
        var full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
