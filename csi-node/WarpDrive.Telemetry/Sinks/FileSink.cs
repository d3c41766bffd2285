using System.Text;

namespace WarpDrive.Telemetry.Sinks;

/// <summary>
/// JSON lines appended to a file (<c>sink: file</c>). Before a batch would push the file past the size limit, it is
/// rotated: <c>f</c> → <c>f.1</c> → <c>f.2</c> …, keeping <c>keep</c> rotated files. A batch is never split across
/// files, so a file may exceed the limit only by one batch larger than the limit itself.
/// </summary>
public sealed class FileSink : ITelemetrySink
{
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _keep;
    private FileStream? _file;

    public FileSink(string path, long maxBytes, int keep)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        _path = path;
        _maxBytes = maxBytes;
        _keep = keep;
    }

    public async ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (var e in batch)
        {
            text.Append(TelemetryJson.Serialize(e)).Append('\n');
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var file = Open();
        if (file.Length > 0 && file.Length + bytes.Length > _maxBytes)
        {
            Rotate();
            file = Open();
        }

        await file.WriteAsync(bytes, cancellationToken);
        await file.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
            _file = null;
        }
    }

    private FileStream Open()
    {
        if (_file is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        }

        return _file;
    }

    private void Rotate()
    {
        _file!.Dispose();
        _file = null;
        if (_keep == 0)
        {
            File.Delete(_path);
            return;
        }

        File.Delete($"{_path}.{_keep}");
        for (var i = _keep - 1; i >= 1; i--)
        {
            if (File.Exists($"{_path}.{i}"))
            {
                File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
            }
        }

        File.Move(_path, $"{_path}.1");
    }
}
