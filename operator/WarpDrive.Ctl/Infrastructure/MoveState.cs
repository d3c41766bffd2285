using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>One verified copy: the source version it came from and the checksum both sides matched.</summary>
internal sealed record MoveRecord(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("destination")] string Destination,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("etag")] string ETag,
    [property: JsonPropertyName("xxh128")] string Checksum);

/// <summary>
/// The resume journal of <c>move</c>: one JSON line per verified copy, appended and flushed as soon as the copy is
/// verified, so an interrupted run loses at most the copies in flight. A torn last line is ignored on load.
/// </summary>
internal sealed class MoveState : IDisposable
{
    private readonly ConcurrentDictionary<string, MoveRecord> _done;
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();

    private MoveState(string path, ConcurrentDictionary<string, MoveRecord> done, bool append)
    {
        Path = path;
        _done = done;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _writer = new StreamWriter(path, append);
    }

    public string Path { get; }

    public static MoveState Open(string path, bool resume)
    {
        var done = new ConcurrentDictionary<string, MoveRecord>(StringComparer.Ordinal);
        if (resume && File.Exists(path))
        {
            foreach (var line in File.ReadLines(path))
            {
                try
                {
                    if (JsonSerializer.Deserialize<MoveRecord>(line) is { } record)
                    {
                        done[record.Source] = record;
                    }
                }
                catch (JsonException)
                {
                    // the line an interrupted run was writing
                }
            }
        }

        return new MoveState(path, done, append: resume);
    }

    public MoveRecord? Find(string source) => _done.GetValueOrDefault(source);

    public void Add(MoveRecord record)
    {
        _done[record.Source] = record;
        var line = JsonSerializer.Serialize(record);
        lock (_gate)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    public void Dispose() => _writer.Dispose();
}
