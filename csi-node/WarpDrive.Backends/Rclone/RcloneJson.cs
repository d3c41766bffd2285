using System.Text.Json.Serialization;

namespace WarpDrive.Backends.Rclone;

// The slices of rclone's rc API (v1.60) this backend speaks; names are rclone's own.

internal sealed record RcloneListOptions(
    [property: JsonPropertyName("recurse")] bool Recurse,
    [property: JsonPropertyName("filesOnly")] bool FilesOnly,
    [property: JsonPropertyName("noModTime")] bool NoModTime,
    [property: JsonPropertyName("noMimeType")] bool NoMimeType,
    [property: JsonPropertyName("showHash")] bool ShowHash,
    [property: JsonPropertyName("hashTypes")] string[]? HashTypes);

internal sealed record RcloneListRequest(
    [property: JsonPropertyName("fs")] string Fs,
    [property: JsonPropertyName("remote")] string Remote,
    [property: JsonPropertyName("opt")] RcloneListOptions Options);

internal sealed record RcloneFileRequest(
    [property: JsonPropertyName("fs")] string Fs,
    [property: JsonPropertyName("remote")] string Remote);

internal sealed record RcloneFsRequest([property: JsonPropertyName("fs")] string Fs);

internal sealed record RcloneCreateOptions(
    [property: JsonPropertyName("obscure")] bool Obscure,
    [property: JsonPropertyName("nonInteractive")] bool NonInteractive);

internal sealed record RcloneConfigCreateRequest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("parameters")] IReadOnlyDictionary<string, string> Parameters,
    [property: JsonPropertyName("opt")] RcloneCreateOptions Options);

internal sealed record RcloneEmptyRequest;

internal sealed record RcloneItem(
    [property: JsonPropertyName("Path")] string Path,
    [property: JsonPropertyName("Size")] long Size,
    [property: JsonPropertyName("ModTime")] string? ModTime,
    [property: JsonPropertyName("IsDir")] bool IsDir,
    [property: JsonPropertyName("Hashes")] Dictionary<string, string>? Hashes);

internal sealed record RcloneListResponse([property: JsonPropertyName("list")] List<RcloneItem>? List);

internal sealed record RcloneStatResponse([property: JsonPropertyName("item")] RcloneItem? Item);

internal sealed record RcloneConfigCreateResponse(
    [property: JsonPropertyName("Error")] string? Error,
    [property: JsonPropertyName("State")] string? State);

internal sealed record RcloneFeatures([property: JsonPropertyName("SlowHash")] bool SlowHash);

internal sealed record RcloneFsInfoResponse(
    [property: JsonPropertyName("Hashes")] List<string>? Hashes,
    [property: JsonPropertyName("Features")] RcloneFeatures? Features);

internal sealed record RcloneVersionResponse([property: JsonPropertyName("version")] string? Version);

/// <summary>The body rclone sends with every failed rc call (it also echoes the input, which we never read).</summary>
internal sealed record RcloneErrorResponse(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("status")] int Status);

[JsonSerializable(typeof(RcloneListRequest))]
[JsonSerializable(typeof(RcloneFileRequest))]
[JsonSerializable(typeof(RcloneFsRequest))]
[JsonSerializable(typeof(RcloneConfigCreateRequest))]
[JsonSerializable(typeof(RcloneEmptyRequest))]
[JsonSerializable(typeof(RcloneListResponse))]
[JsonSerializable(typeof(RcloneStatResponse))]
[JsonSerializable(typeof(RcloneConfigCreateResponse))]
[JsonSerializable(typeof(RcloneFsInfoResponse))]
[JsonSerializable(typeof(RcloneVersionResponse))]
[JsonSerializable(typeof(RcloneErrorResponse))]
internal sealed partial class RcloneJson : JsonSerializerContext;
