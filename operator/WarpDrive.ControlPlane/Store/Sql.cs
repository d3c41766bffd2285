using System.Data;
using System.Data.Common;

namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// Typed parameter helpers. Every value reaches the database as a parameter with an explicit type (PostgreSQL
/// cannot infer the type of a bare NULL), so no SQL text is ever built from request data.
/// </summary>
internal static class Sql
{
    public static DbCommand Command(this DbConnection connection, string text, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.Transaction = transaction;
        return command;
    }

    public static DbCommand Text(this DbCommand command, string name, string? value) => Add(command, name, DbType.String, value);

    public static DbCommand Int(this DbCommand command, string name, long value) => Add(command, name, DbType.Int64, value);

    private static DbCommand Add(DbCommand command, string name, DbType type, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>Sets an already added parameter (for commands reused row after row).</summary>
    public static void Set(this DbCommand command, string name, object? value) => command.Parameters[name].Value = value ?? DBNull.Value;

    public static async Task<long> ScalarLongAsync(this DbCommand command, CancellationToken cancellationToken)
    {
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static long Long(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : Convert.ToInt64(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    public static string? NullableText(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
