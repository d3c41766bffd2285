using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>One column of a listing: the JSON property it shows and how a table cell renders it.</summary>
internal sealed record Column(string Header, string Property, Func<JsonElement, string>? Cell = null, bool RightAligned = false);

/// <summary>
/// Prints a list of JSON objects as a table (human cells), JSON (the items exactly as the server sent them) or CSV
/// (raw values, RFC 4180 quoting) on standard output.
/// </summary>
internal static class ResultWriter
{
    public static void Write(Terminal terminal, OutputFormat format, IReadOnlyList<JsonElement> items, IReadOnlyList<Column> columns)
    {
        switch (format)
        {
            case OutputFormat.Json:
                Console.Out.WriteLine(JsonSerializer.Serialize(items, JsonOptions.Indented));
                break;
            case OutputFormat.Csv:
                Console.Out.Write(Csv(items, columns));
                break;
            default:
                var table = new Table().Border(TableBorder.Simple);
                foreach (var column in columns)
                {
                    var tableColumn = new TableColumn(column.Header);
                    table.AddColumn(column.RightAligned ? tableColumn.RightAligned() : tableColumn);
                }

                foreach (var item in items)
                {
                    table.AddRow(columns.Select(c => new Text(CellText(item, c))).ToArray<Spectre.Console.Rendering.IRenderable>());
                }

                terminal.Out.Write(table);
                break;
        }
    }

    public static string Raw(JsonElement item, string property)
    {
        if (!item.TryGetProperty(property, out var value))
        {
            return "";
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null or JsonValueKind.Undefined => "",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
    }

    public static Func<JsonElement, string> SizeCell(string property) => item =>
        item.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? Sizes.Format(v.GetInt64()) : Raw(item, property);

    public static Func<JsonElement, string> PercentCell(string property) => item =>
        item.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? (v.GetDouble() * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : Raw(item, property);

    public static Func<JsonElement, string> OrNever(string property) => item => Raw(item, property) is { Length: > 0 } s ? s : "never";

    private static string CellText(JsonElement item, Column column) => column.Cell?.Invoke(item) ?? Raw(item, column.Property);

    private static string Csv(IReadOnlyList<JsonElement> items, IReadOnlyList<Column> columns)
    {
        var text = new StringBuilder();
        text.AppendJoin(',', columns.Select(c => Quote(c.Property))).Append('\n');
        foreach (var item in items)
        {
            text.AppendJoin(',', columns.Select(c => Quote(Raw(item, c.Property)))).Append('\n');
        }

        return text.ToString();
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}

internal static class JsonOptions
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
}
