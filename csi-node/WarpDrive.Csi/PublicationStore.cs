using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WarpDrive.Csi;

/// <summary>
/// Publications on disk: one small JSON file per target under <c>&lt;state-dir&gt;/publications/</c>, named by a hash
/// of the target path, written to a temp file and renamed into place so a crash never leaves half a record. The
/// mount table says which targets are still mounted; these files say what each one is (volume, source, pod).
/// </summary>
public sealed class PublicationStore
{
    private readonly string _directory;

    public PublicationStore(string directory)
    {
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
    }

    public void Save(Publication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        var file = FileOf(publication.TargetPath);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(publication, PublicationJson.Default.Publication));
        File.Move(temporary, file, overwrite: true);
    }

    public void Delete(string targetPath) => File.Delete(FileOf(targetPath));

    /// <summary>Every readable record; an unreadable one is returned in <paramref name="unreadable"/> (and left for a person).</summary>
    public IReadOnlyList<Publication> LoadAll(out IReadOnlyList<string> unreadable)
    {
        var records = new List<Publication>();
        var bad = new List<string>();
        foreach (var file in Directory.EnumerateFiles(_directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), PublicationJson.Default.Publication) is { VolumeId.Length: > 0, Source.Length: > 0, TargetPath.Length: > 0 } record
                    && FileOf(record.TargetPath) == file)
                {
                    records.Add(record);
                    continue;
                }
            }
            catch (JsonException)
            {
            }

            bad.Add(file);
        }

        unreadable = bad;
        return records;
    }

    private string FileOf(string targetPath) =>
        Path.Combine(_directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(targetPath))) + ".json");
}

[JsonSerializable(typeof(Publication))]
internal sealed partial class PublicationJson : JsonSerializerContext;
