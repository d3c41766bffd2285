using System.Buffers.Text;
using System.Text;

namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// Opaque keyset cursors: the sort key of the last row of a page, base64url-encoded. Keyset (not OFFSET) paging
/// keeps page N as cheap as page 1 on ten million rows.
/// </summary>
internal static class Cursor
{
    private const char Separator = '\u001f';

    public static string Encode(params string[] parts) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join(Separator, parts)));

    public static string[]? Decode(string? cursor, int parts)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split(Separator);
            if (decoded.Length == parts)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }

        throw new ValidationException("cursor", "is not a cursor returned by this API");
    }

    public static long Long(string text) =>
        long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ValidationException("cursor", "is not a cursor returned by this API");
}
