using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.Rclone;

/// <summary>
/// Anything rclone reaches (SFTP, WebDAV, S3, a local path, ...) through a private <c>rclone rcd</c> child process.
/// </summary>
/// <remarks>
/// Config keys: <c>type</c> (the rclone remote type), <c>path</c> (inside the remote), any option of that remote
/// (<c>X_env</c> names an environment variable holding option X), plus timeout, retry_base_delay, page_size
/// (ignored), rclone_binary (default "rclone" on PATH) and rclone_start_timeout (default 15s).
/// The remote is created with rc <c>config/create</c> in rcd's in-memory config (<c>--config /dev/null</c>), not as
/// a connection string ":type,key=value:path": a connection string would put every option value, secrets
/// included, into each call's fs string, which rclone echoes in error bodies, log lines and its Fs cache keys.
/// Named, the fs is just "warpdrive:path"; the secrets go over loopback once per start and rclone obscures
/// password options itself (<c>obscure: true</c>). Nothing is written to disk.
/// </remarks>
public sealed class RcloneBackend : IBackend
{
    private readonly RcloneRemote _remote;
    private readonly RcloneDaemon _daemon;
    private readonly BackendResilience _resilience;
    private volatile HashChoice? _hashChoice;

    public RcloneBackend(string name, IReadOnlyDictionary<string, string> config, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        var c = new BackendConfig(Type, config);
        _remote = new RcloneRemote(c);
        _resilience = BackendResilience.FromConfig(name, c, RcloneErrors.Classify);
        var logger = (ILogger?)loggerFactory?.CreateLogger<RcloneBackend>() ?? NullLogger.Instance;
        var binary = c.Optional("rclone_binary") ?? "rclone";
        // At creation, so a misspelt option or a missing rclone stops the agent at start, naming the key.
        if (RcloneOptions.Check(binary, _remote.RemoteType, _remote.OptionKeys) is { } skipped)
        {
            logger.LogWarning("{Backend}: {Note}", name, skipped);
        }

        _daemon = new RcloneDaemon(
            binary,
            c.Duration("rclone_start_timeout", TimeSpan.FromSeconds(15)),
            CreateRemoteAsync,
            _remote.Redactor,
            logger);
    }

    public string Name { get; }

    public string Type => "rclone";

    /// <summary>The running rcd's process id (tests kill it to prove restarts).</summary>
    internal int? DaemonProcessId => _daemon.ProcessId;

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = prefix.Trim('/');
        var hashTypes = await HashTypesAsync(directory, cancellationToken).ConfigureAwait(false);
        var request = new RcloneListRequest(_remote.FsString, directory, Options(recursive, hashTypes));
        RcloneListResponse response;
        try
        {
            response = await _resilience.ExecuteAsync("list", directory, (Daemon: _daemon, request),
                static (s, ct) => s.Daemon.CallAsync("operations/list", s.request, RcloneJson.Default.RcloneListRequest, RcloneJson.Default.RcloneListResponse, ct),
                cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
        {
            yield break; // listing a missing directory yields nothing
        }
        foreach (var item in response.List ?? [])
        {
            if (!(recursive && item.IsDir))
            {
                yield return ToEntry(item);
            }
        }
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        path = path.Trim('/');
        var hashTypes = await HashTypesAsync(path, cancellationToken).ConfigureAwait(false);
        var request = new RcloneListRequest(_remote.FsString, path, Options(false, hashTypes));
        try
        {
            var response = await _resilience.ExecuteAsync("stat", path, (Daemon: _daemon, request),
                static (s, ct) => s.Daemon.CallAsync("operations/stat", s.request, RcloneJson.Default.RcloneListRequest, RcloneJson.Default.RcloneStatResponse, ct),
                cancellationToken).ConfigureAwait(false);
            return response.Item is { } item ? ToEntry(item) with { Path = path } : null;
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
        {
            return null;
        }
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }
        return _resilience.ExecuteAsync("read", path, (Backend: this, path, offset, buffer), static async (s, ct) =>
        {
            var range = new RangeHeaderValue(s.offset, s.offset + s.buffer.Length - 1);
            HttpResponseMessage response;
            try
            {
                response = await s.Backend._daemon.SendAsync(b => s.Backend.ServeRequest(b, s.path, range), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (RcloneCallException e) when (e.Status == (int)HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return 0;
            }
            using (response)
            {
                // At or past the end rc-serve answers 206 with an empty body; a body with no Content-Range
                // (200) would be the whole object, which a range reader must not take for the range.
                if (response.StatusCode != HttpStatusCode.PartialContent)
                {
                    return s.offset == 0 ? await ReadAllOf(response, s.buffer, ct).ConfigureAwait(false) : throw new RcloneCallException((int)response.StatusCode, "range request answered without a range");
                }
                return await ReadAllOf(response, s.buffer, ct).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>No conditional ranged read is used here: read, then compare the ETag with a fresh stat.</summary>
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        VersionCheck.ReadThenCompareAsync(this, path, expectedETag, offset, buffer, cancellationToken);

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var response = await _resilience.ExecuteAsync("open", path, (Backend: this, path),
            static (s, ct) => s.Backend._daemon.SendAsync(b => s.Backend.ServeRequest(b, s.path, null), HttpCompletionOption.ResponseHeadersRead, ct),
            cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        path = path.Trim('/');
        // operations/uploadfile streams the body straight into the remote (no temp file on our side for seekable
        // input, and rcd never has to read files of ours); a retried attempt rewinds the body.
        var seekable = await Seekable.From(content, cancellationToken).ConfigureAwait(false);
        await using (seekable.ConfigureAwait(false))
        {
            await _resilience.ExecuteAsync("write", path, (Backend: this, path, seekable.Stream), static async (s, ct) =>
            {
                s.Stream.Position = 0;
                using var response = await s.Backend._daemon.SendAsync(b => s.Backend.UploadRequest(b, s.path, s.Stream), HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken)
    {
        var request = new RcloneFileRequest(_remote.FsString, path.Trim('/'));
        try
        {
            await _resilience.ExecuteAsync("delete", path, (Daemon: _daemon, request), static async (s, ct) =>
            {
                await s.Daemon.CallAsync("operations/deletefile", s.request, RcloneJson.Default.RcloneFileRequest, RcloneJson.Default.RcloneEmptyRequest, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
        {
            // deleting a missing object is not an error
        }
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    /// <summary>Creates the remote in a freshly started rcd; an unknown remote type is named in the error.</summary>
    private async ValueTask CreateRemoteAsync(RcloneDaemon.Starting rcd, CancellationToken cancellationToken)
    {
        var request = new RcloneConfigCreateRequest(RcloneRemote.Name, _remote.RemoteType, _remote.Parameters, new RcloneCreateOptions(Obscure: true, NonInteractive: true));
        RcloneConfigCreateResponse response;
        try
        {
            response = await rcd.CallAsync("config/create", request, RcloneJson.Default.RcloneConfigCreateRequest, RcloneJson.Default.RcloneConfigCreateResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (RcloneCallException e) when (e.Error.Contains("couldn't find backend for type", StringComparison.Ordinal))
        {
            throw new RcloneDaemonException(new FailureClass(BackendErrorKind.Other, false,
                $"rclone has no remote type '{_remote.RemoteType}' (config key 'type'; `rclone help backends` lists them)"), e);
        }
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new RcloneDaemonException(new FailureClass(BackendErrorKind.Other, false,
                $"rclone could not configure a '{_remote.RemoteType}' remote: {_remote.Redactor.Redact(response.Error)}"));
        }
    }

    /// <summary>
    /// The hash to ask for as ETag: the remote's first hash when it is cheap (S3's MD5 comes with the listing);
    /// none when hashing means reading the data (rclone's SlowHash, e.g. local), so the ETag is size + ModTime.
    /// </summary>
    private async ValueTask<string[]?> HashTypesAsync(string path, CancellationToken cancellationToken)
    {
        if (_hashChoice is { } known)
        {
            return known.Types;
        }
        var request = new RcloneFsRequest(_remote.FsString);
        var info = await _resilience.ExecuteAsync("stat", path, (Daemon: _daemon, request),
            static (s, ct) => s.Daemon.CallAsync("operations/fsinfo", s.request, RcloneJson.Default.RcloneFsRequest, RcloneJson.Default.RcloneFsInfoResponse, ct),
            cancellationToken).ConfigureAwait(false);
        string[]? types = info.Features is { SlowHash: false } && info.Hashes is [var first, ..] ? [first] : null;
        _hashChoice = new HashChoice(types);
        return types;
    }

    private static RcloneListOptions Options(bool recursive, string[]? hashTypes) =>
        new(Recurse: recursive, FilesOnly: recursive, NoModTime: false, NoMimeType: true, ShowHash: hashTypes is not null, HashTypes: hashTypes);

    private static BackendEntry ToEntry(RcloneItem item)
    {
        var modified = DateTimeOffset.TryParse(item.ModTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.UnixEpoch;
        if (item.IsDir)
        {
            return new BackendEntry(item.Path, true, 0, modified, "");
        }
        var hash = item.Hashes?.Values.FirstOrDefault(h => h.Length > 0);
        // ModTime is kept as rclone's text (nanoseconds) so two writes within one tick still differ.
        var etag = hash ?? $"{item.Size}-{item.ModTime}";
        return new BackendEntry(item.Path, false, item.Size, modified, etag);
    }

    /// <summary>rc-serve URL of an object: /[fs]/escaped/path (rcd finds the fs by the first ']').</summary>
    private HttpRequestMessage ServeRequest(Uri baseUri, string path, RangeHeaderValue? range)
    {
        var escaped = string.Join('/', path.Trim('/').Split('/').Select(Uri.EscapeDataString));
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "%5B" + Uri.EscapeDataString(_remote.FsString) + "%5D/" + escaped));
        request.Headers.Range = range;
        return request;
    }

    private HttpRequestMessage UploadRequest(Uri baseUri, string path, Stream body)
    {
        var query = "operations/uploadfile?fs=" + Uri.EscapeDataString(_remote.FsString) + "&remote=" + Uri.EscapeDataString(BackendPath.Parent(path));
        var file = new StreamContent(new Gcs.NonDisposingStream(body));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        // The name goes in filename* (RFC 5987): the plain filename parameter cannot carry quotes or non-ASCII, and any
        // byte is legal in an object name. rclone (Go's mime package) decodes filename*.
        file.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"file0\"", FileNameStar = path[(path.LastIndexOf('/') + 1)..] };
        var form = new MultipartFormDataContent { file };
        return new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, query)) { Content = form };
    }

    private static async ValueTask<int> ReadAllOf(HttpResponseMessage response, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await S3.S3Backend.ReadFully(body, buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed record HashChoice(string[]? Types);
}
