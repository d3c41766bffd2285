using Microsoft.AspNetCore.Http;

namespace WarpDrive.ControlPlane;

/// <summary>RFC 7807 answers. Details name the offending parameter and never carry SQL, tokens or passwords.</summary>
internal static class Problems
{
    public static IResult Result(int status, string title, string detail, string? parameter = null) =>
        TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            type: $"https://warpdrive.dev/problems/{status}",
            extensions: parameter is null ? null : new Dictionary<string, object?> { ["parameter"] = parameter });

    public static IResult BadRequest(string parameter, string message) => Result(StatusCodes.Status400BadRequest, "Bad Request", $"{parameter}: {message}", parameter);

    public static Task Write(HttpContext context, int status, string title, string detail) => Result(status, title, detail).ExecuteAsync(context);
}
