using System.Text;

namespace WarpDrive.FileSystem.Tests;

/// <summary>A fresh directory tree under /tmp, removed recursively on dispose.</summary>
internal sealed class TempTree : IDisposable
{
    public TempTree(string purpose)
    {
        Root = System.IO.Directory.CreateTempSubdirectory($"warpdrive-fs-{purpose}-").FullName;
    }

    public string Root { get; }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public string Directory(string relative) => System.IO.Directory.CreateDirectory(PathOf(relative)).FullName;

    public string WriteFile(string relative, string content) => WriteFile(relative, Encoding.UTF8.GetBytes(content));

    public string WriteFile(string relative, byte[] content)
    {
        var full = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
