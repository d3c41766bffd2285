using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>One name in a directory: a backend entry, or a virtual directory (<see cref="Entry"/> null) placed there by a mount.</summary>
internal readonly record struct ListedEntry(string Name, BackendEntry? Entry)
{
    public bool IsDirectory => Entry is null || Entry.IsDirectory;
}

/// <summary>An immutable listing of one directory, sorted by name, with a by-name index for lookups.</summary>
internal sealed class DirectoryListing
{
    private readonly Dictionary<string, int> _byName;

    public DirectoryListing(ListedEntry[] entries, long fetchedAt)
    {
        Entries = entries;
        FetchedAt = fetchedAt;
        _byName = new Dictionary<string, int>(entries.Length, StringComparer.Ordinal);
        for (var i = 0; i < entries.Length; i++)
        {
            _byName[entries[i].Name] = i;
        }
    }

    public ListedEntry[] Entries { get; }

    public long FetchedAt { get; }

    public bool TryFind(string name, out ListedEntry entry)
    {
        if (_byName.TryGetValue(name, out var index))
        {
            entry = Entries[index];
            return true;
        }

        entry = default;
        return false;
    }
}
