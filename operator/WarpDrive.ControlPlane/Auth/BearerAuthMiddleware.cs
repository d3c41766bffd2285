using Microsoft.AspNetCore.Http;

namespace WarpDrive.ControlPlane.Auth;

/// <summary>
/// Runs after routing and before the endpoint (so before any body is read): no or unknown token → 401, a role
/// the endpoint's <see cref="RequireRolesAttribute"/> does not list → 403. The token itself never reaches a log.
/// </summary>
internal sealed class BearerAuthMiddleware(RequestDelegate next, ITokenValidator validator)
{
    public const string PrincipalKey = "warpdrive.principal";

    public async Task InvokeAsync(HttpContext context)
    {
        var required = context.GetEndpoint()?.Metadata.GetMetadata<RequireRolesAttribute>();
        if (required is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        TokenPrincipal? principal = null;
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length)
        {
            principal = await validator.ValidateAsync(header[scheme.Length..].Trim(), context.RequestAborted).ConfigureAwait(false);
        }

        if (principal is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Write(context, StatusCodes.Status401Unauthorized, "Unauthorized", "a valid bearer token is required").ConfigureAwait(false);
            return;
        }

        if (!required.Roles.Contains(principal.Role))
        {
            await Problems.Write(context, StatusCodes.Status403Forbidden, "Forbidden",
                $"role '{principal.Role}' may not {context.Request.Method} {context.Request.Path}; allowed: {string.Join(", ", required.Roles)}").ConfigureAwait(false);
            return;
        }

        context.Items[PrincipalKey] = principal;
        await next(context).ConfigureAwait(false);
    }
}
