using System.Text.RegularExpressions;

namespace WarpDrive.Backends.Rclone;

/// <summary>
/// Scrubs text that came from rclone (error strings, its log lines) before it reaches a log or an exception:
/// known secret values become "***", URLs lose user info and query strings (SAS tokens, signatures live there),
/// and the text is cut to a readable length. Thread-safe; secrets can be added (the rc password changes per start).
/// </summary>
internal sealed partial class SecretRedactor
{
    private const int MaxLength = 400;
    private volatile string[] _secrets;

    public SecretRedactor(IEnumerable<string> secrets)
    {
        _secrets = [.. secrets.Where(s => s.Length > 0)];
    }

    public void Add(string secret)
    {
        if (secret.Length == 0)
        {
            return;
        }
        string[] current, next;
        do
        {
            current = _secrets;
            next = [.. current, secret];
        }
        while (Interlocked.CompareExchange(ref _secrets, next, current) != current);
    }

    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        // Longest first, so a secret containing another is removed whole.
        foreach (var secret in _secrets.OrderByDescending(s => s.Length))
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        }
        text = UrlUserInfo().Replace(text, "${scheme}***@");
        text = UrlQuery().Replace(text, "${head}?***");
        return text.Length <= MaxLength ? text : text[..MaxLength] + "…";
    }

    [GeneratedRegex(@"(?<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s""@]+@")]
    private static partial Regex UrlUserInfo();

    [GeneratedRegex(@"(?<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s""?]*)\?[^\s""]*")]
    private static partial Regex UrlQuery();
}
