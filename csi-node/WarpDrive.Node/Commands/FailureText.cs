namespace WarpDrive.Node.Commands;

/// <summary>The one line a user sees for an error nobody expected: the messages of the exception chain, no types, no stack.</summary>
internal static class FailureText
{
    public static string Of(Exception e)
    {
        var parts = new List<string>();
        for (var current = e; current is not null && parts.Count < 3; current = current.InnerException)
        {
            var message = current.Message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal)))
            {
                parts.Add(message);
            }
        }

        return parts.Count == 0 ? "an unexpected error (run with --log-level Debug for details)" : string.Join(": ", parts) + " (run with --log-level Debug for details)";
    }
}
