namespace WarpDrive.Backends;

/// <summary>
/// A stream that can be rewound for a retried upload: the caller's stream when it can seek, otherwise a
/// temporary file (deleted on dispose) holding a copy, so a large upload never has to fit in memory.
/// </summary>
internal sealed class Seekable : IAsyncDisposable
{
    private readonly bool _owned;

    private Seekable(Stream stream, bool owned)
    {
        Stream = stream;
        _owned = owned;
    }

    public Stream Stream { get; }

    public static async ValueTask<Seekable> From(Stream content, CancellationToken cancellationToken)
    {
        if (content.CanSeek)
        {
            return new Seekable(content, owned: false);
        }
        var temporary = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await content.CopyToAsync(temporary, cancellationToken).ConfigureAwait(false);
            temporary.Position = 0;
            return new Seekable(temporary, owned: true);
        }
        catch
        {
            await temporary.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _owned ? Stream.DisposeAsync() : ValueTask.CompletedTask;
}
