using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace WarpDrive.ControlPlane.Api;

/// <summary>A <c>text/csv</c> attachment written row by row as the rows are read (never buffered whole).</summary>
internal sealed class CsvStream(string fileName, Func<TextWriter, CancellationToken, Task> write) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        response.Headers.CacheControl = "no-store";
        await using var writer = new StreamWriter(response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024, leaveOpen: true);
        await write(writer, httpContext.RequestAborted).ConfigureAwait(false);
        await writer.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>RFC 4180 fields: quoted when they hold a comma, quote or line break; a leading formula character is defused.</summary>
internal static class Csv
{
    public static string Field(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        // A path starting with =, +, - or @ would be run as a formula by a spreadsheet that opens the export.
        var text = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' ? "'" + value : value;
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
